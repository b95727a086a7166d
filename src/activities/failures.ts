import { ApplicationFailure } from '@temporalio/activity';

/**
 * Failures that retrying cannot fix: bad input or lost data. The type lets
 * workflows and operators tell them apart; the message names the input and what to do.
 */
export type FailureType = 'BadInput' | 'PartLost' | 'Corrupt' | 'StagingBusy' | 'SourceChanged' | 'NotFound' | 'NotConfigured';

export function permanent(type: FailureType, message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}

export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException)?.code;
}
