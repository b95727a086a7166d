import type { Client } from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import type { JobFilter, JobListing } from '../client';
import { CourierKind, CourierProject, CourierStatus } from '../search-attributes';

export interface JobPage {
  jobs: JobListing[];
  /** Pass back as `pageToken` for the next page; absent on the last page. */
  nextPageToken?: string;
}

const quoted = (value: string) => `'${value.replace(/['\\]/g, '')}'`;

export function visibilityQuery(filter: JobFilter): string {
  const clauses = [
    filter.status && `CourierStatus = ${quoted(filter.status)}`,
    filter.kind && `CourierKind = ${quoted(filter.kind)}`,
    filter.project && `CourierProject = ${quoted(filter.project)}`,
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
  const jobs = response.executions.map((execution): JobListing => {
    const attributes = decodeTypedSearchAttributes(execution.searchAttributes?.indexedFields);
    return {
      jobId: execution.execution?.workflowId ?? '',
      kind: attributes.get(CourierKind),
      status: attributes.get(CourierStatus),
      project: attributes.get(CourierProject),
      startTime: millis(execution.startTime) ?? new Date(0),
      closeTime: millis(execution.closeTime),
    };
  });
  const token = response.nextPageToken?.length ? Buffer.from(response.nextPageToken).toString('base64url') : undefined;
  return { jobs, ...(token ? { nextPageToken: token } : {}) };
}
