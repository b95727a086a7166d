import type { Client } from '@temporalio/client';
import { queryProgress, type JobListing, type JobView } from '../client';
import type { Config } from '../config';
import type { Hold } from '../jobs/holds';
import { CourierHost, CourierKind, CourierProject, CourierStatus } from '../search-attributes';
import { visibilityQuery } from './job-pages';
import { describeHosts, type HostView } from './task-queues';

const HOUR = 3_600_000;
/** Enough for a busy day on one page; beyond it the counts say they are partial. */
const MAX_SCANNED = 5000;
const MAX_SHOWN = 20;

export interface HourCount {
  hour: string;
  completed: number;
  failed: number;
  cancelled: number;
}

export interface Overview {
  generatedAt: string;
  windowHours: number;
  /** Running jobs and those that ended within the window, by kind and courier status. */
  byKindStatus: Record<string, Record<string, number>>;
  perHour: HourCount[];
  finished: number;
  failed: number;
  /** Failed over finished within the window; 0 when nothing finished. */
  failureRate: number;
  /** True when the window held more jobs than one overview reads. */
  partial: boolean;
  running: JobView[];
  failures: JobListing[];
  hosts: HostView[];
  holds: Hold[];
}

/** How a closed run ended, in courier's words: terminated and timed-out runs count as failed. */
const ENDED: Record<string, 'completed' | 'failed' | 'cancelled'> = { COMPLETED: 'completed', CANCELLED: 'cancelled' };

/** What an operator looks at first: jobs now and over the last day, live progress, failures, hosts and holds. */
export async function overview(client: Client, config: Config, holds: Hold[], windowHours = 24): Promise<Overview> {
  const now = Date.now();
  const since = new Date(now - windowHours * HOUR);
  const firstHour = Math.floor(now / HOUR) * HOUR - (windowHours - 1) * HOUR;
  const perHour: HourCount[] = Array.from({ length: windowHours }, (_, i) => ({
    hour: new Date(firstHour + i * HOUR).toISOString(),
    completed: 0,
    failed: 0,
    cancelled: 0,
  }));
  const byKindStatus: Overview['byKindStatus'] = {};
  const running: JobView[] = [];
  const failures: JobListing[] = [];
  const seen = new Set<string>();
  let finished = 0;
  let failed = 0;
  let scanned = 0;
  const query = `${visibilityQuery({ taskQueue: config.taskQueue })} AND CourierKind IS NOT NULL AND (ExecutionStatus = 'Running' OR CloseTime > '${since.toISOString()}')`;
  for await (const execution of client.workflow.list({ query })) {
    if (++scanned > MAX_SCANNED) break;
    // A job that continued as new lists once per run; the newest speaks for it.
    if (seen.has(execution.workflowId)) continue;
    seen.add(execution.workflowId);
    const attributes = execution.typedSearchAttributes;
    const kind = attributes.get(CourierKind) ?? execution.type;
    const isRunning = execution.status.name === 'RUNNING';
    const ended = isRunning ? undefined : (ENDED[execution.status.name] ?? 'failed');
    const status = ended ?? attributes.get(CourierStatus) ?? 'running';
    (byKindStatus[kind] ??= {})[status] = (byKindStatus[kind][status] ?? 0) + 1;
    if (isRunning) {
      // What the listing already says; only the live progress is asked of each job, below.
      const host = attributes.get(CourierHost);
      if (running.length < MAX_SHOWN)
        running.push({ jobId: execution.workflowId, kind, status: 'running', startTime: execution.startTime, ...(host ? { host } : {}) });
      continue;
    }
    finished++;
    const closed = execution.closeTime?.getTime() ?? now;
    const bucket = perHour[Math.floor((closed - firstHour) / HOUR)];
    if (bucket && ended) bucket[ended]++;
    if (ended === 'failed') {
      failed++;
      if (failures.length < MAX_SHOWN) {
        failures.push({
          jobId: execution.workflowId,
          kind,
          status,
          project: attributes.get(CourierProject),
          host: attributes.get(CourierHost),
          startTime: execution.startTime,
          closeTime: execution.closeTime,
        });
      }
    }
  }
  // One query per running job (the page asks every 2 s); one that ends meanwhile shows without progress.
  await Promise.all(
    running.map(async (view) => {
      const progress = await queryProgress(client, view.jobId, 2000);
      if (progress) view.progress = progress;
    }),
  );
  return {
    generatedAt: new Date(now).toISOString(),
    windowHours,
    byKindStatus,
    perHour,
    finished,
    failed,
    failureRate: finished > 0 ? failed / finished : 0,
    partial: scanned > MAX_SCANNED,
    running,
    failures,
    hosts: await describeHosts(client, config),
    holds,
  };
}
