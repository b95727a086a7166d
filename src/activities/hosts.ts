import { Context } from '@temporalio/activity';
import { temporal } from '@temporalio/proto';
import { hostQueue } from '../jobs/keys';
import type { ActivityDeps } from './deps';
import { hostIdOf } from '../security/host-tags';

/** The host of the worker running this step: a job that names no host is pinned to it. */
export async function hostOfWorker(deps: ActivityDeps): Promise<{ host: string }> {
  return { host: hostIdOf(deps.config) };
}

/**
 * Whether some worker polled the host's queue within the time given. A busy
 * host polls again as soon as a slot frees; a killed one stays listed by the
 * server for minutes, but its last poll only grows older.
 */
export async function hostPolledWithin(_deps: ActivityDeps, input: { host: string; withinMs: number }): Promise<boolean> {
  const { client } = Context.current();
  const described = await client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name: hostQueue(input.host), kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  const now = Date.now();
  return (described.pollers ?? []).some((poller) => {
    const seconds = poller.lastAccessTime?.seconds;
    return seconds != null && now - Number(seconds) * 1000 < input.withinMs;
  });
}
