import type { Client } from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { z } from 'zod';
import type { JobListing } from '../client';
import { hostName, project } from '../jobs/fields';
import { parseWith } from '../jobs/message-error';
import { STATUS_NAMES } from '../jobs/status';
import { JOB_TYPE_NAMES } from '../kinds/registry';
import { CourierHost, CourierKind, CourierProject, CourierStatus } from '../search-attributes';

export interface JobPage {
  jobs: JobListing[];
  /** Pass back as `pageToken` for the next page; absent on the last page. */
  nextPageToken?: string;
}

/**
 * Which jobs to list. Every value is checked against the lists it comes from
 * (kinds, statuses) or the rule its name follows (projects, hosts), so nothing
 * a caller types can change the visibility query's meaning.
 */
export const jobFilter = z.strictObject({
  status: z.enum(STATUS_NAMES).optional(),
  /** A message kind, or a kind of job a job starts (etl-transform, etl-load, etl-cleanup). */
  kind: z.enum(JOB_TYPE_NAMES as [string, ...string[]]).optional(),
  project: project.optional(),
  /** Jobs whose file steps run on this host. */
  host: hostName.optional(),
  /** Jobs whose id starts with this. */
  text: z
    .string()
    .max(240)
    .regex(/^[A-Za-z0-9._:@-]+$/, 'a job id or its beginning: letters, digits and . _ : @ -')
    .optional(),
  /** Only jobs on this control task queue. */
  taskQueue: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/)
    .optional(),
});
export type JobFilter = z.infer<typeof jobFilter>;

/** The filter as given on a command line or query string; throws MessageError naming each bad field. */
export function parseJobFilter(given: Record<string, unknown>): JobFilter {
  const present = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined && value !== ''));
  return parseWith(jobFilter, present, 'filter');
}

const quoted = (value: string) => `'${value.replace(/['\\]/g, '')}'`;

/** The one visibility query for a filter: `courier list` and the HTTP API both use it. */
export function visibilityQuery(given: JobFilter): string {
  const filter = parseJobFilter(given);
  const clauses = [
    filter.status && `CourierStatus = ${quoted(filter.status)}`,
    filter.kind && `CourierKind = ${quoted(filter.kind)}`,
    filter.project && `CourierProject = ${quoted(filter.project)}`,
    filter.host && `CourierHost = ${quoted(filter.host)}`,
    filter.text && `WorkflowId STARTS_WITH ${quoted(filter.text)}`,
    filter.taskQueue && `TaskQueue = ${quoted(filter.taskQueue)}`,
  ].filter(Boolean);
  return clauses.length > 0 ? clauses.join(' AND ') : 'CourierKind IS NOT NULL';
}

const millis = (time?: { seconds?: unknown; nanos?: number | null } | null): Date | undefined =>
  time?.seconds != null ? new Date(Number(time.seconds) * 1000 + Math.floor((time.nanos ?? 0) / 1e6)) : undefined;

/** One page of jobs from Temporal visibility, newest first, with an opaque token for the next. */
export async function listJobPage(client: Client, filter: JobFilter, pageSize: number, pageToken?: string): Promise<JobPage> {
  const response = await client.workflowService.listWorkflowExecutions({
    namespace: client.options.namespace,
    query: visibilityQuery(filter),
    pageSize,
    nextPageToken: pageToken ? Buffer.from(pageToken, 'base64url') : undefined,
  });
  // A job retried or continued as new lists once per run; the newest run (listed first) speaks for it.
  const seen = new Set<string>();
  const newest = response.executions.filter((execution) => {
    const id = execution.execution?.workflowId ?? '';
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  const jobs = newest.map((execution): JobListing => {
    const attributes = decodeTypedSearchAttributes(execution.searchAttributes?.indexedFields);
    return {
      jobId: execution.execution?.workflowId ?? '',
      kind: attributes.get(CourierKind),
      status: attributes.get(CourierStatus),
      project: attributes.get(CourierProject),
      host: attributes.get(CourierHost),
      startTime: millis(execution.startTime) ?? new Date(0),
      closeTime: millis(execution.closeTime),
    };
  });
  const token = response.nextPageToken?.length ? Buffer.from(response.nextPageToken).toString('base64url') : undefined;
  return { jobs, ...(token ? { nextPageToken: token } : {}) };
}
