import { withHolds } from '../../jobs/settings';
import { ApplicationFailure, continueAsNew, executeChild, isCancellation, workflowInfo } from '@temporalio/workflow';
import type { LoadResult, LocationTally, TransformInput, TransformProgress, TransformResult } from './contract';
import { batchName, STAGE_DIRS } from './layout';
import { CourierHost, CourierKind, CourierStatus } from '../../search-attributes';
import { pinHost } from '../../workflows/host-pin';
import { etlActivities } from './workflow-options';
import { etlLoad } from './load-workflow';
import { trackJob } from '../../workflows/job-tracker';

/** Loads running at once, and per run before the history is handed to a fresh one. */
const LOAD_WINDOW = 16;
const LOADS_PER_RUN = 1000;

function addUp(tallies: LocationTally[], load: LoadResult): void {
  for (const l of load.locations) {
    let tally = tallies.find((t) => t.location === l.location);
    if (!tally) tallies.push((tally = { location: l.location, records: 0, inserted: 0, failedBatches: 0 }));
    if (l.outcome === 'loaded') {
      tally.records += l.records;
      tally.inserted += l.inserted;
    } else {
      tally.failedBatches++;
    }
  }
}

/**
 * Seed 002's T: take the file into work_in_process, check it, split its
 * records into batch files in L/working, file it as resolved, and start a
 * Load job per batch, a window at a time.
 */
export async function etlTransform(input: TransformInput): Promise<TransformResult> {
  const { pipeline, name, settings } = input;
  const job = trackJob<TransformProgress>({
    kind: 'etl-transform',
    subject: `${pipeline} ${name}`,
    settings,
    carried: input.tracker,
    counts: { records: input.state?.records ?? 0, batchesDone: 0, batchesTotal: input.state?.batches ?? 0 },
  });
  const pin = pinHost(job, { settings: settings.hosts, named: input.host, pinned: input.host, mayMove: false });
  const files = etlActivities(settings, pin);
  const at = STAGE_DIRS.transformInProcess;
  const { workflowId } = workflowInfo();
  let state = input.state;
  try {
    await job.untilResumed();
    job.set('running');
    if (!state) {
      job.progress.enter('transform');
      await files.moveEtlFile({ name, from: STAGE_DIRS.transformWorking, to: at });
      const check = await files.validateEtlFile({ pipeline, dir: at, name });
      if (!check.valid) {
        await files.moveEtlFile({ name, from: at, to: STAGE_DIRS.transformFailed });
        await files.mailOperators({
          pipeline,
          subject: `ETL ${pipeline}: ${name} is invalid, moved to ${STAGE_DIRS.transformFailed}`,
          lines: [check.reason, '', `Job: ${workflowId}`],
        });
        throw ApplicationFailure.nonRetryable(check.reason, 'BadInput');
      }
      const written = await files.writeBatches({ pipeline, dir: at, name });
      await files.moveEtlFile({ name, from: at, to: STAGE_DIRS.transformResolved });
      state = { batches: written.batches, records: written.records, nextBatch: 0, failedLoads: 0, tallies: [] };
      job.note(`${written.records} records in ${written.batches} batch(es)`);
    }
    job.progress.enter('load');
    Object.assign(job.progress, { records: state.records, batchesTotal: state.batches, batchesDone: state.nextBatch });
    const firstThisRun = state.nextBatch;
    while (state.nextBatch < state.batches) {
      if (state.nextBatch - firstThisRun >= LOADS_PER_RUN || workflowInfo().continueAsNewSuggested) {
        return await continueAsNew<typeof etlTransform>({ ...input, state, tracker: job.state() });
      }
      await job.untilResumed();
      const end = Math.min(state.nextBatch + LOAD_WINDOW, state.batches);
      const window = Array.from({ length: end - state.nextBatch }, (_, i) => state!.nextBatch + i);
      const loads = await Promise.all(
        window.map((index) =>
          executeChild(etlLoad, {
            workflowId: `${workflowId}-L${index + 1}`,
            args: [
              {
                pipeline,
                name: batchName(name, index),
                settings: withHolds(settings, job.holdsKnown()),
                loadAttempts: input.loadAttempts,
                ...(input.host ? { host: input.host } : {}),
              },
            ],
            typedSearchAttributes: [
              { key: CourierKind, value: 'etl-load' },
              { key: CourierStatus, value: 'queued' },
              ...(input.host ? [{ key: CourierHost, value: input.host }] : []),
            ],
          }).catch((err) => {
            if (isCancellation(err)) throw err;
            return undefined;
          }),
        ),
      );
      for (const load of loads) {
        if (load) addUp(state.tallies, load);
        else state.failedLoads++;
      }
      state.nextBatch = end;
      job.progress.batchesDone = end;
    }
    const result: TransformResult = {
      kind: 'etl-transform',
      jobId: workflowId,
      file: name,
      records: state.records,
      loadsStarted: state.batches,
      failedLoads: state.failedLoads,
      locations: state.tallies,
    };
    await job.complete({ ...result });
    return result;
  } catch (err) {
    return job.fail(err);
  }
}
