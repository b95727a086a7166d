import { ApplicationFailure, isCancellation, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { LoadInput, LoadProgress, LoadResult, LocationLoad } from './contract';
import { locationFailedDir, STAGE_DIRS } from './layout';
import { NON_RETRYABLE } from '../../workflows/activity-options';
import { etlActivities } from './workflow-options';
import { pinHost } from '../../workflows/host-pin';
import { rootCause, trackJob } from '../../workflows/job-tracker';
import type { TakenBatch } from './activities/batches';

/**
 * Seed 002's L: take the batch into work_in_progress, check it, insert it into
 * every storage location in one transaction each. A location that fails gets
 * a mail and a copy of the batch in L/<location>/failed; the others go on.
 */
export async function etlLoad(input: LoadInput): Promise<LoadResult> {
  const { pipeline, name, settings } = input;
  const job = trackJob<LoadProgress>({
    kind: 'etl-load',
    subject: `${pipeline} ${name}`,
    settings,
    counts: { records: 0, locationsDone: 0, locationsTotal: 0 },
  });
  const pin = pinHost(job, {
    settings: settings.hosts,
    heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
    named: input.host,
    pinned: input.host,
    mayMove: false,
  });
  const files = etlActivities(settings, pin);
  const loading: ActivityOptions = {
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: settings.heartbeatTimeoutMs,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      // The step counts its own attempts: an unreachable database is waited for, other errors get input.loadAttempts tries.
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
  };
  const at = STAGE_DIRS.loadInProgress;
  try {
    await job.untilResumed();
    job.set('running');
    job.progress.enter('load');
    const merged = input.steps === 'merged' || input.steps === 'one';
    const oneStep = input.steps === 'one';
    const takeThenCheck = async () => {
      await files.moveEtlFile({ name, from: STAGE_DIRS.loadWorking, to: at });
      return files.checkBatch({ pipeline, dir: at, name });
    };
    const check: TakenBatch = oneStep
      ? await pin.step(loading, (on) => on.takeAndLoadBatch({ pipeline, name, attempts: input.loadAttempts }))
      : merged
        ? await files.takeBatch({ pipeline, name })
        : await takeThenCheck();
    if (!check.valid) {
      await files.moveEtlFile({ name, from: at, to: STAGE_DIRS.loadFailed });
      await files.mailOperators({
        pipeline,
        subject: `ETL ${pipeline}: batch ${name} is invalid, moved to ${STAGE_DIRS.loadFailed}`,
        lines: [
          check.reason,
          '',
          `Job: ${workflowInfo().workflowId}`,
          `Fix the batch and move it back into ${STAGE_DIRS.loadWorking} to load it again.`,
        ],
      });
      throw ApplicationFailure.nonRetryable(check.reason, 'BadInput');
    }
    Object.assign(job.progress, { records: check.records, locationsTotal: check.locations.length });
    // A batch with one location is filed as resolved by the step that loads it.
    const filedByLoad = merged && check.locations.length === 1;
    const loadOne = async (location: string): Promise<LocationLoad> => {
      try {
        const loaded = await pin.step(loading, (on) =>
          on.loadBatch({
            pipeline,
            location,
            dir: at,
            name,
            attempts: input.loadAttempts,
            ...(filedByLoad ? { thenFileIn: STAGE_DIRS.loadResolved } : {}),
          }),
        );
        return { location, outcome: 'loaded', ...loaded };
      } catch (err) {
        if (isCancellation(err)) throw err;
        return { location, outcome: 'failed', records: 0, inserted: 0, error: rootCause(err).message };
      }
    };
    const locations = await Promise.all(
      check.locations.map(async (location): Promise<LocationLoad> => {
        const done = 'loaded' in check && check.loaded?.location === location ? check.loaded : await loadOne(location);
        if (done.outcome === 'loaded') {
          job.progress.locationsDone++;
          return done;
        }
        const parked = locationFailedDir(location);
        await files.moveEtlFile({ name, from: at, to: parked, copy: true });
        job.note(`location ${location} failed: ${done.error}; batch copied to ${parked}`);
        await files.mailOperators({
          pipeline,
          subject: `ETL ${pipeline}: storage location ${location} could not load ${name}`,
          lines: [
            `Storage location ${location} failed to load batch ${name} (${check.records} records); the other locations went on.`,
            '',
            `Cause: ${done.error}`,
            `A copy of the batch is in ${parked}/${name}.`,
            `Job: ${workflowInfo().workflowId}`,
          ],
        });
        return done;
      }),
    );
    if (!(filedByLoad && locations[0]!.outcome === 'loaded')) await files.moveEtlFile({ name, from: at, to: STAGE_DIRS.loadResolved });
    const result: LoadResult = { kind: 'etl-load', jobId: workflowInfo().workflowId, batch: name, records: check.records, locations };
    await job.complete({ ...result });
    return result;
  } catch (err) {
    return job.fail(err);
  }
}
