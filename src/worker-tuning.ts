import type { WorkerOptions } from '@temporalio/worker';
import type { Config } from './config';

/** Pollers and slots of a worker: the COURIER_* settings where given, the SDK's defaults otherwise. */
export function workerTuning(config: Pick<Config, 'tuning'>): Partial<WorkerOptions> {
  const { workflowPollers, activityPollers, workflowSlots, activitySlots } = config.tuning;
  return {
    ...(workflowSlots ? { maxConcurrentWorkflowTaskExecutions: workflowSlots } : {}),
    ...(activitySlots ? { maxConcurrentActivityTaskExecutions: activitySlots } : {}),
    ...(workflowPollers ? { maxConcurrentWorkflowTaskPolls: workflowPollers } : {}),
    ...(activityPollers ? { maxConcurrentActivityTaskPolls: activityPollers } : {}),
  };
}
