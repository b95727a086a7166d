import { workflowInfo } from '@temporalio/workflow';
import type { CleanupInput, CleanupProgress, CleanupResult } from './contract';
import { etlActivities } from './workflow-options';
import { trackJob } from '../../workflows/job-tracker';
import { pinHost } from '../../workflows/host-pin';

/**
 * Seed 002's C, run by a Temporal Schedule: archive what was resolved, then
 * tell people about files that have sat in working or failed too long.
 */
export async function etlCleanup(input: CleanupInput): Promise<CleanupResult> {
  const job = trackJob<CleanupProgress>({ kind: 'etl-cleanup', subject: 'ETL cleanup', settings: input.settings, counts: { filesArchived: 0 } });
  // Each host has its own ETL tree: a schedule that names a host cleans that host's.
  const pin = pinHost(job, {
    settings: input.settings.hosts,
    heartbeatTimeoutMs: input.settings.heartbeatTimeoutMs,
    named: input.host,
    pinned: input.host,
    mayMove: false,
  });
  const files = etlActivities(input.settings, pin);
  try {
    await job.untilResumed();
    job.set('running');
    job.progress.enter('archive');
    const archived = await files.archiveResolved({ runId: workflowInfo().runId, startedAt: new Date().toISOString() });
    const stale = await files.findStaleFiles({ olderThanMs: input.olderThanMs });
    if (stale.length > 0) {
      const days = Math.floor(input.olderThanMs / 86_400_000);
      await files.mailOperators({
        subject: `ETL: ${stale.length} file(s) waiting longer than ${days > 0 ? `${days} day(s)` : `${Math.round(input.olderThanMs / 1000)} s`}`,
        lines: [
          'These files sit in a working or failed directory of the ETL tree and have not moved:',
          '',
          ...stale.map((f) => `  ${f.path}  (${f.ageDays} day(s) old)`),
          '',
          'A file in a failed directory waits for a fix and a move back; one in a working directory may belong to a stuck job (`courier list --status running`).',
        ],
      });
    }
    job.progress.filesArchived = archived.files;
    const result: CleanupResult = {
      kind: 'etl-cleanup',
      archivesBuilt: archived.archive ? 1 : 0,
      ...(archived.archive ? { archive: archived.archive } : {}),
      filesArchived: archived.files,
      staleFiles: stale.map((f) => f.path),
      completedAt: new Date().toISOString(),
    };
    await job.complete({ ...result });
    return result;
  } catch (err) {
    return job.fail(err);
  }
}
