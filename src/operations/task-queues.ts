import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Config } from '../config';
import { hostQueue, topicQueue } from '../jobs/keys';
import { CourierHost } from '../search-attributes';

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

export interface HostView {
  name: string;
  /** The host's task queue, where its file steps and deliveries wait. */
  queue: string;
  /** Workers of this host polling now. */
  pollers: number;
  alive: boolean;
  lastPoll?: string;
  /** Jobs running with their file steps pinned here. */
  runningJobs: number;
}

/** The host part of a worker identity (`pid@host`: courier names its workers so). */
const hostOfIdentity = (identity: string) => (identity.includes('@') ? identity.slice(identity.indexOf('@') + 1) : undefined);

/**
 * Every host courier knows of: those whose workers poll the control queue and
 * those running jobs are pinned to (a host that died with jobs on it shows up
 * here, not alive). For each: its pollers, last poll and running jobs.
 */
export async function describeHosts(client: Client, config: Config): Promise<HostView[]> {
  const running = new Map<string, number>();
  const jobs = client.workflow.list({ query: `ExecutionStatus = 'Running' AND CourierHost IS NOT NULL`, pageSize: 1000 });
  let seen = 0;
  for await (const job of jobs) {
    const host = job.typedSearchAttributes.get(CourierHost);
    if (host) running.set(host, (running.get(host) ?? 0) + 1);
    if (++seen >= 10_000) break;
  }
  const control = await describe(client, config.taskQueue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY);
  const names = new Set([
    ...running.keys(),
    ...pollersOf(control.pollers)
      .filter((p) => p.alive)
      .map((p) => hostOfIdentity(p.identity))
      .filter((h): h is string => Boolean(h)),
  ]);
  const views = await Promise.all(
    [...names].sort().map(async (name): Promise<HostView> => {
      const pollers = pollersOf((await describe(client, hostQueue(name), TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)).pollers);
      const live = pollers.filter((p) => p.alive);
      const lastPoll = pollers
        .map((p) => p.lastAccessTime)
        .filter(Boolean)
        .sort()
        .at(-1);
      return {
        name,
        queue: hostQueue(name),
        pollers: live.length,
        alive: live.length > 0,
        ...(lastPoll ? { lastPoll } : {}),
        runningJobs: running.get(name) ?? 0,
      };
    }),
  );
  return views;
}
