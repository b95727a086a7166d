import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  TemporalFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { Phase, Progress } from '../jobs';
import { CourierStatus } from '../search-attributes';
import { quickStep } from './activity-options';

const { reportStatus } = proxyActivities<Activities>(quickStep);

/** The innermost failure message: the activity's own words, not the "Activity task failed" wrappers. */
export function rootCause(err: unknown): { message: string; type?: string } {
  let current: unknown = err;
  while (current instanceof TemporalFailure && current.cause) current = current.cause;
  const type = current instanceof ApplicationFailure ? (current.type ?? undefined) : undefined;
  return { message: current instanceof Error ? current.message : String(current), type };
}

export function setStatus(status: 'running' | 'completed' | 'failed'): void {
  upsertSearchAttributes([{ key: CourierStatus, value: status }]);
}

/** Tracks the phase shown by the progress query and mirrors the job's status into its search attributes. */
export function createProgress(total: { parts: number; bytes: number }): Progress & { enter(phase: Phase): void } {
  const progress = {
    phase: 'queued' as Phase,
    partsDone: 0,
    partsTotal: total.parts,
    bytesDone: 0,
    bytesTotal: total.bytes,
    lastError: undefined as string | undefined,
    enter(phase: Phase) {
      progress.phase = phase;
    },
  };
  return progress;
}

/**
 * Ends a failed job: records the cause where people look (done record, log,
 * status) and fails the workflow with a message naming the job and the cause.
 */
export async function failJob(kind: string, subject: string, progress: Progress, err: unknown): Promise<never> {
  if (isCancellation(err)) throw err;
  const cause = rootCause(err);
  progress.phase = 'failed';
  progress.lastError = cause.message;
  setStatus('failed');
  const { workflowId } = workflowInfo();
  await CancellationScope.nonCancellable(() =>
    reportStatus({ jobId: workflowId, kind, status: 'failed', detail: { subject, error: cause.message, errorType: cause.type } }),
  ).catch(() => undefined);
  throw ApplicationFailure.create({
    message: `${kind} ${subject} failed: ${cause.message}`,
    type: cause.type ?? 'JobFailed',
    nonRetryable: true,
    cause: err instanceof Error ? err : undefined,
  });
}

export async function completeJob(kind: string, detail: Record<string, unknown>): Promise<void> {
  setStatus('completed');
  await reportStatus({ jobId: workflowInfo().workflowId, kind, status: 'completed', detail });
}
