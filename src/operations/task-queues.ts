import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Config } from '../config';
import { topicQueue } from '../jobs';

export interface QueuePoller {
  identity: string;
  lastAccessTime?: string;
  /** Polled recently. The server lists a stopped worker for minutes after its last poll; this says whether it is still there. */
  alive: boolean;
}

/** A live worker's long poll returns and starts again at least every minute, so an older last poll means it is gone. */
export const POLLER_STALE_MS = 75_000;

export interface QueueView {
  name: string;
  /** What polls it: workflow tasks and activities (control queue) or handler activities (a dispatch topic). */
  role: 'control' | 'dispatch';
  topic?: string;
  workflowPollers: QueuePoller[];
  activityPollers: QueuePoller[];
  /** Tasks waiting for a worker (an estimate from the server). */
  backlog: number;
}

const { TaskQueueType } = temporal.api.enums.v1;

/** Every task queue courier uses: the control queue and one per dispatch topic (configured formats). */
export function courierQueues(config: Config): { name: string; role: QueueView['role']; topic?: string }[] {
  const topics = new Set([...config.dispatch.formats, ...config.dispatch.handles]);
  return [
    { name: config.taskQueue, role: 'control' },
    ...[...topics].map((topic) => ({ name: topicQueue(config.taskQueue, topic), role: 'dispatch' as const, topic })),
  ];
}

const pollersOf = (pollers: temporal.api.taskqueue.v1.IPollerInfo[] | null | undefined, now = Date.now()): QueuePoller[] =>
  (pollers ?? []).map((poller) => {
    const last = poller.lastAccessTime?.seconds != null ? Number(poller.lastAccessTime.seconds) * 1000 : undefined;
    return {
      identity: poller.identity ?? '',
      lastAccessTime: last !== undefined ? new Date(last).toISOString() : undefined,
      alive: last !== undefined && now - last < POLLER_STALE_MS,
    };
  });

async function describe(client: Client, name: string, type: temporal.api.enums.v1.TaskQueueType) {
  return client.workflowService.describeTaskQueue({
    namespace: client.options.namespace,
    taskQueue: { name, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: type,
    reportStats: true,
  });
}

/** Pollers (workers alive, last poll) and backlog of every courier task queue, from DescribeTaskQueue. */
export async function describeQueues(client: Client, config: Config): Promise<QueueView[]> {
  return Promise.all(
    courierQueues(config).map(async (queue) => {
      const [workflows, activities] = await Promise.all([
        describe(client, queue.name, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
        describe(client, queue.name, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
      ]);
      const backlog = [workflows, activities].reduce((sum, d) => sum + Number(d.stats?.approximateBacklogCount ?? 0), 0);
      return { ...queue, workflowPollers: pollersOf(workflows.pollers), activityPollers: pollersOf(activities.pollers), backlog };
    }),
  );
}
