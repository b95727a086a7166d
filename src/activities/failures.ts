import { ApplicationFailure } from '@temporalio/activity';
import { PathRefused } from '../security/paths';
import { StoreError } from '../stores';
import { RepositoryError } from '../repository/repository';
import { DamagedObject } from '../repository/seal';

/**
 * Failures that retrying cannot fix: bad input or lost data. The type lets
 * workflows and operators tell them apart; the message names the input and what to do.
 */
export type FailureType =
  'BadInput' | 'PartLost' | 'Corrupt' | 'StagingBusy' | 'SourceChanged' | 'NotFound' | 'NotConfigured' | 'BadMessage' | 'AttemptsExhausted';

export function permanent(type: FailureType, message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}

export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}

/** The activities' boundary: a store's own error becomes the Temporal failure its type names; anything else passes as it is. */
export function asFailure(err: unknown): unknown {
  if (err instanceof StoreError) return ApplicationFailure.nonRetryable(err.message, err.reason);
  // A refused path is the caller's mistake: retrying cannot change the answer.
  if (err instanceof PathRefused) return ApplicationFailure.nonRetryable(err.message, 'BadInput');
  // No repository, no key or the wrong one: an operator must act first. Damage does not heal by reading again.
  if (err instanceof RepositoryError) return ApplicationFailure.nonRetryable(err.message, err.reason === 'Damaged' ? 'Corrupt' : 'NotConfigured');
  if (err instanceof DamagedObject) return ApplicationFailure.nonRetryable(err.message, 'Corrupt');
  return err;
}
