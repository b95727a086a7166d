import { ActivityCancellationType, type ActivityOptions, type RetryPolicy } from '@temporalio/workflow';
import type { JobSettings } from '../jobs/settings';

export const NON_RETRYABLE = ['BadInput', 'PartLost', 'Corrupt', 'StagingBusy', 'SourceChanged', 'NotFound', 'NotConfigured'];

/**
 * Transient trouble (a store, database or network that is down) is waited
 * out, however long it lasts, at most a minute between attempts; the job
 * shows the failing step and its last error meanwhile (`courier status`, the
 * dashboard). Permanent trouble is one of the non-retryable types and fails at once.
 */
const retry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: NON_RETRYABLE,
};

/**
 * Short bookkeeping steps: checks, manifests, status records. They report no
 * progress, so the worker heartbeats for them while they run (see bindAll): a
 * worker killed inside one is noticed within the heartbeat timeout, not at the
 * end of their start-to-close.
 */
export function quickStep(settings: Pick<JobSettings, 'heartbeatTimeoutMs'>): ActivityOptions {
  return { startToCloseTimeout: '5 minutes', heartbeatTimeout: settings.heartbeatTimeoutMs, retry };
}

/**
 * Steps that move bytes: they heartbeat, so a dead worker is noticed within the
 * heartbeat timeout. On cancellation the job waits for them to stop before it
 * cleans up, so nothing reads a staged part while it is being removed.
 */
export function byteMover(settings: JobSettings): ActivityOptions {
  return {
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: settings.heartbeatTimeoutMs,
    retry,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  };
}
