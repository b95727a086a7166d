import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { ApplicationFailure, proxyLocalActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { CourierKind, CourierProject, CourierStatus } from '../search-attributes';
import { rootCause } from './job-tracker';

/** What a client other than courier's own may pass: the message alone, its kind implied by the workflow type. */
export type Submitted<M extends { kind: string }> = Omit<M, 'kind'> & { kind?: M['kind'] };

interface AdmittedInput {
  message: { id: string; project?: string };
  settings: object;
}

const isAdmitted = (input: unknown): input is AdmittedInput =>
  typeof input === 'object' && input !== null && 'message' in input && 'settings' in input;

/**
 * courier's own client starts a job with its settings resolved; any other
 * client (the Temporal UI, `temporal workflow start`, another SDK) passes just
 * the message. Then the worker validates it and resolves its settings from its
 * own configuration, as courier's client would have, and the job gets the
 * search attributes courier's client sets. A message that does not validate
 * ends the job at once, naming each bad field.
 */
export async function admit<I extends AdmittedInput>(kind: string, input: I | object): Promise<I> {
  if (isAdmitted(input)) return input as I;
  const present = workflowInfo().typedSearchAttributes;
  const missing = (pairs: SearchAttributeUpdatePair[]) => pairs.filter((pair) => present.get(pair.key) === undefined);
  const { admitMessage } = proxyLocalActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['BadMessage'] },
  });
  try {
    const admitted = (await admitMessage({ kind, message: input, jobId: workflowInfo().workflowId })) as I;
    const project = admitted.message.project;
    const updates = missing([
      { key: CourierKind, value: kind },
      { key: CourierStatus, value: 'queued' },
      ...(project ? [{ key: CourierProject, value: project }] : []),
    ]);
    if (updates.length > 0) upsertSearchAttributes(updates);
    return admitted;
  } catch (err) {
    // Listed as a failed job of its kind, so `courier list --status failed` finds it.
    upsertSearchAttributes([...missing([{ key: CourierKind, value: kind }]), { key: CourierStatus, value: 'failed' }]);
    throw ApplicationFailure.create({ type: 'BadMessage', nonRetryable: true, message: rootCause(err).message });
  }
}
