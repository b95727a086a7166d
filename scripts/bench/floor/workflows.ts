import { proxyActivities } from '@temporalio/workflow';

const { floorStep } = proxyActivities<{ floorStep(): Promise<void> }>({ startToCloseTimeout: '1 minute' });

/** The Temporal floor of the small-jobs bench: one workflow, one activity that does nothing. */
export async function floorJob(): Promise<void> {
  await floorStep();
}
