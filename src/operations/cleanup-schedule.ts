import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Config } from '../config';
import type { CleanupInput } from '../kinds/etl/contract';
import { etlCleanupType } from '../kinds/etl/kind';
import { kindNamed } from '../kinds/registry';
import { settingsFor } from '../kinds/settings';
import { hostTag } from '../security/host-tags';
import { CourierHost, CourierKind, CourierStatus } from '../search-attributes';

export interface CleanupScheduleView {
  id: string;
  /** What it runs: etl-cleanup, prune or check. */
  runs?: string;
  every?: string;
  olderThanMs?: number;
  paused: boolean;
  nextRuns: string[];
  recentRuns: { workflowId: string; at: string }[];
}

export class ScheduleMissingError extends Error {}

/**
 * Every courier schedule: one run at a time (a run still going skips the
 * next), its runs show up as jobs of `kind`, and the memo says what it runs.
 */
async function createSchedule(
  client: Client,
  config: Config,
  options: { id: string; everyMs: number; kind: string; workflow: (input: never) => Promise<unknown>; input: unknown; host?: string; memo?: object },
): Promise<void> {
  await client.schedule.create({
    scheduleId: options.id,
    spec: { intervals: [{ every: options.everyMs }] },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    action: {
      type: 'startWorkflow',
      workflowType: options.workflow as (input: unknown) => Promise<unknown>,
      workflowId: options.id,
      taskQueue: config.taskQueue,
      args: [options.input],
      typedSearchAttributes: [
        { key: CourierKind, value: options.kind },
        { key: CourierStatus, value: 'queued' },
        ...(options.host ? [{ key: CourierHost, value: options.host }] : []),
      ],
    },
    memo: { courier: options.kind, ...options.memo },
  });
}

/** A Temporal Schedule that runs the ETL cleanup every `everyMs`. */
export async function createCleanupSchedule(
  client: Client,
  config: Config,
  options: { id: string; everyMs: number; olderThanMs: number; host?: string },
): Promise<void> {
  const settings = settingsFor(config);
  // The host as its queue knows it: with the codec on, its tag.
  const host = options.host && hostTag(config.codecKeys, options.host);
  const input: CleanupInput = { olderThanMs: options.olderThanMs, settings, ...(host ? { host } : {}) };
  await createSchedule(client, config, {
    id: options.id,
    everyMs: options.everyMs,
    kind: etlCleanupType.name,
    workflow: etlCleanupType.workflow,
    input,
    ...(host ? { host } : {}),
    memo: { olderThanMs: options.olderThanMs, ...(options.host ? { host: options.host } : {}) },
  });
}

/** A prune or a check every `everyMs`, started with just its message: the worker admits it and resolves its settings, as for any client. */
export async function createRepositorySchedule(
  client: Client,
  config: Config,
  options: { id: string; everyMs: number; message: { kind: 'prune' } | { kind: 'check'; readDataSubset: string } },
): Promise<void> {
  const kind = kindNamed(options.message.kind)!;
  kind.parse(options.message);
  await createSchedule(client, config, {
    id: options.id,
    everyMs: options.everyMs,
    kind: kind.name,
    workflow: kind.workflow,
    input: options.message,
  });
}

const SCHEDULED = ['etl-cleanup', 'prune', 'check'];

async function viewOf(client: Client, id: string): Promise<CleanupScheduleView> {
  const described = await client.schedule.getHandle(id).describe();
  const every = described.spec.intervals?.[0]?.every;
  return {
    id,
    every: every === undefined ? undefined : `${Math.round(Number(every) / 1000)}s`,
    runs: String((described.memo as Record<string, unknown> | undefined)?.courier ?? ''),
    olderThanMs: Number((described.memo as Record<string, unknown> | undefined)?.olderThanMs ?? NaN) || undefined,
    paused: described.state.paused,
    nextRuns: described.info.nextActionTimes.slice(0, 3).map((d) => d.toISOString()),
    recentRuns: described.info.recentActions.map((a) => ({ workflowId: a.action.workflow.workflowId, at: a.takenAt.toISOString() })),
  };
}

/** courier's cleanup schedules (those whose memo says so). */
export async function listCleanupSchedules(client: Client): Promise<CleanupScheduleView[]> {
  const views: CleanupScheduleView[] = [];
  for await (const summary of client.schedule.list()) {
    if (!SCHEDULED.includes(String((summary.memo as Record<string, unknown> | undefined)?.courier))) continue;
    views.push(await viewOf(client, summary.scheduleId));
  }
  return views.sort((a, b) => a.id.localeCompare(b.id));
}

async function named<T>(id: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError)
      throw new ScheduleMissingError(`no schedule "${id}"; \`courier schedule list\` shows the ones there are`);
    throw err;
  }
}

export const describeCleanupSchedule = (client: Client, id: string) => named(id, () => viewOf(client, id));
export const deleteCleanupSchedule = (client: Client, id: string) => named(id, () => client.schedule.getHandle(id).delete());

/** Runs the cleanup now and returns the id of the run it started. */
export async function triggerCleanupSchedule(client: Client, id: string): Promise<string> {
  return named(id, async () => {
    const handle = client.schedule.getHandle(id);
    const latest = async () => (await handle.describe()).info.recentActions.at(-1);
    const before = (await latest())?.takenAt.getTime();
    await handle.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
    for (let i = 0; i < 100; i++) {
      const last = await latest();
      if (last && last.takenAt.getTime() !== before) return last.action.workflow.workflowId;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`schedule ${id} was triggered but no run appeared within 10 s; is the Temporal server healthy?`);
  });
}
