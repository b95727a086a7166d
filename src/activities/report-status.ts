import { Readable } from 'node:stream';
import { log } from '@temporalio/activity';
import type { StatusReport } from '../jobs/status';
import { jobRecordKey } from '../jobs/keys';
import { jobsFinished } from '../metrics';
import type { ActivityDeps } from './deps';

/**
 * The job's `done` record: its final status kept in the store beside the data,
 * plus one log line, so the outcome outlives Temporal's history retention.
 */
export async function reportStatus(deps: ActivityDeps, report: StatusReport): Promise<void> {
  const record = { ...report, reportedAt: new Date().toISOString() };
  await deps.store.put(jobRecordKey(report.jobId), Readable.from([Buffer.from(JSON.stringify(record, null, 2))]));
  jobsFinished.inc({ kind: report.kind, outcome: report.status });
  const line = { kind: report.kind, status: report.status, ...report.detail };
  if (report.status === 'failed') log.error('job failed', line);
  else log.info('job completed', line);
}
