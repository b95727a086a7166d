import type { WorkerOptions } from '@temporalio/worker';
import type { Config } from './config';

/**
 * How long a job's next workflow task waits for the worker that ran its last
 * one before any worker may take it. The SDK's 10 s came on top of the
 * heartbeat timeout after every killed worker; a busy worker that misses
 * this only costs a replay elsewhere.
 */
export const stickyTimeoutMs = (heartbeatTimeoutMs: number) => Math.min(5000, heartbeatTimeoutMs);

/** Pollers and slots of a worker: the COURIER_* settings where given, the SDK's defaults otherwise. */
export function workerTuning(config: Pick<Config, 'tuning' | 'heartbeatTimeoutMs'>): Partial<WorkerOptions> {
  const { workflowPollers, activityPollers, workflowSlots, activitySlots } = config.tuning;
  return {
    stickyQueueScheduleToStartTimeout: stickyTimeoutMs(config.heartbeatTimeoutMs),
    ...(workflowSlots ? { maxConcurrentWorkflowTaskExecutions: workflowSlots } : {}),
    ...(activitySlots ? { maxConcurrentActivityTaskExecutions: activitySlots } : {}),
    ...(workflowPollers ? { maxConcurrentWorkflowTaskPolls: workflowPollers } : {}),
    ...(activityPollers ? { maxConcurrentActivityTaskPolls: activityPollers } : {}),
  };
}
