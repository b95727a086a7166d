import { withHolds } from '../../jobs/settings';
import { ApplicationFailure, continueAsNew, executeChild, isCancellation, workflowInfo } from '@temporalio/workflow';
import type { LoadInput, LoadResult, LocationTally, TransformInput, TransformProgress, TransformResult } from './contract';
import { batchName, STAGE_DIRS } from './layout';
import { CourierHost, CourierKind, CourierStatus } from '../../search-attributes';
import { pinHost } from '../../workflows/host-pin';
import { etlActivities } from './workflow-options';
import { etlLoad } from './load-workflow';
import { trackJob } from '../../workflows/job-tracker';
import { takes } from '../../workflows/patches';

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
  const pin = pinHost(job, {
    settings: settings.hosts,
    heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
    named: input.host,
    pinned: input.host,
    mayMove: false,
  });
  const files = etlActivities(settings, pin);
  const at = STAGE_DIRS.transformInProcess;
  const { workflowId } = workflowInfo();
  let state = input.state;
  try {
    await job.untilResumed();
    job.set('running');
    // Before this change T validated the file in a read of its own, then split it in a second, and loads ran in fixed windows.
    const parseOnce = takes('etl-transform-parses-once');
    // Before these changes each load took its batch, checked it and filed it in steps of their own; then took and loaded it in two.
    const steps: LoadInput['steps'] = takes('etl-load-one-step') ? 'one' : takes('etl-load-merged-steps') ? 'merged' : undefined;
    const loadSteps = steps ? { steps } : {};
    if (!state) {
      job.progress.enter('transform');
      // Before this change batches were one JSON document each, parsed whole by every load.
      const format = takes('etl-batches-tab-separated') ? ('tsv' as const) : undefined;
      // Before this change taking the file, splitting it and filing it were three steps.
      const oneStep = format && parseOnce && takes('etl-stage-steps-merged');
      const stepByStep = async () => {
        await files.moveEtlFile({ name, from: STAGE_DIRS.transformWorking, to: at });
        const check = parseOnce ? { valid: true as const } : await files.validateEtlFile({ pipeline, dir: at, name });
        return check.valid ? await files.writeBatches({ pipeline, dir: at, name, ...(format ? { format } : {}) }) : check;
      };
      const written = oneStep ? await files.takeAndSplitEtlFile({ pipeline, name, format }) : await stepByStep();
      if (written.valid === false) {
        await files.moveEtlFile({ name, from: at, to: STAGE_DIRS.transformFailed });
        await files.mailOperators({
          pipeline,
          subject: `ETL ${pipeline}: ${name} is invalid, moved to ${STAGE_DIRS.transformFailed}`,
          lines: [
            written.reason,
            '',
            `Job: ${workflowId}`,
            `Fix the file and drop it into the watched inbox (or submit it again) to retry; no record of it was loaded.`,
          ],
        });
        throw ApplicationFailure.nonRetryable(written.reason, 'BadInput');
      }
      if (!oneStep) await files.moveEtlFile({ name, from: at, to: STAGE_DIRS.transformResolved });
      state = { batches: written.batches, records: written.records, nextBatch: 0, failedLoads: 0, tallies: [], ...(format ? { format } : {}) };
      job.note(`${written.records} records in ${written.batches} batch(es)`);
    }
    job.progress.enter('load');
    Object.assign(job.progress, { records: state.records, batchesTotal: state.batches, batchesDone: state.nextBatch });
    const load = (index: number) =>
      executeChild(etlLoad, {
        workflowId: `${workflowId}-L${index + 1}`,
        args: [
          {
            pipeline,
            name: batchName(name, index, state!.format),
            settings: withHolds(settings, job.holdsKnown()),
            loadAttempts: input.loadAttempts,
            ...loadSteps,
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
      });
    const tally = (done: LoadResult | undefined) => {
      if (done) addUp(state!.tallies, done);
      else state!.failedLoads++;
      job.progress.batchesDone++;
    };
    const firstThisRun = state.nextBatch;
    if (parseOnce) {
      // A sliding window: a new load starts as soon as any running one ends, so one slow batch does not hold up the rest.
      const running = new Set<Promise<unknown>>();
      const handOver = () => state!.nextBatch - firstThisRun >= LOADS_PER_RUN || workflowInfo().continueAsNewSuggested;
      while (state.nextBatch < state.batches || running.size > 0) {
        while (running.size < LOAD_WINDOW && state.nextBatch < state.batches && !handOver()) {
          await job.untilResumed();
          const started: Promise<unknown> = load(state.nextBatch++).then((done) => {
            tally(done);
            running.delete(started);
          });
          running.add(started);
        }
        if (running.size === 0) break;
        await Promise.race(running);
      }
      if (state.nextBatch < state.batches) return await continueAsNew<typeof etlTransform>({ ...input, state, tracker: job.state() });
    } else {
      while (state.nextBatch < state.batches) {
        if (state.nextBatch - firstThisRun >= LOADS_PER_RUN || workflowInfo().continueAsNewSuggested) {
          return await continueAsNew<typeof etlTransform>({ ...input, state, tracker: job.state() });
        }
        await job.untilResumed();
        const end = Math.min(state.nextBatch + LOAD_WINDOW, state.batches);
        const window = Array.from({ length: end - state.nextBatch }, (_, i) => state!.nextBatch + i);
        (await Promise.all(window.map(load))).forEach(tally);
        state.nextBatch = end;
      }
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
