import fs from 'node:fs/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import os from 'node:os';
import path from 'node:path';
import { batchName, STAGE_DIRS, type BatchFormat, type StageDir } from '../layout';
import { RecordError } from '../records';
import { openBatchFile } from '../batch-content';
import { splitRange, type RangeJob, type RangeSplit } from '../split-range';
import { planSplit, type SplitPlan } from '../split-plan';
import { splitOnThreads } from '../split-threads';
import { connectionsFor } from '../databases';
import { batchDigest } from '../checked-batches';
import { describeLocation, isBusyError, isPermanentLoadError, isUnreachableError, loadInto, type LoadOutcome } from '../storage';
import type { LocationLoad } from '../contract';
import type { ActivityDeps } from '../../../activities/deps';
import { errnoCode, permanent } from '../../../activities/failures';
import { heartbeatWhile, throttledHeartbeat } from '../../../activities/heartbeat';
import { exists, moveEtlFile, pipelineFor, stagePath } from './files';

export type BatchSplit = { valid: true; records: number; batches: number } | { valid: false; reason: string };

/** Threads a split uses: one per core, at least two, at most four (each is an isolate with a heap of its own). */
const SPLIT_THREADS = Math.min(4, Math.max(2, os.availableParallelism()));

/**
 * T's single read of the file: checks every record against the pipeline and
 * splits the records into batch files in L/working, one per Load job. A bad
 * record makes the file invalid, and the batches written before it are
 * removed again. A retry rewrites the same names with the same records. A
 * large file whose records are lines is read in ranges on several threads at
 * once; the batches are the very ones a single read writes.
 */
export async function writeBatches(
  deps: ActivityDeps,
  input: { pipeline: string; dir: StageDir; name: string; /** Jobs recorded before batches were tab-separated leave it out. */ format?: BatchFormat },
): Promise<BatchSplit> {
  const pipeline = pipelineFor(deps, input.pipeline);
  const file = stagePath(deps, input.dir, input.name);
  const dir = path.join(deps.config.etl.root, STAGE_DIRS.loadWorking);
  await fs.mkdir(dir, { recursive: true });
  const beat = throttledHeartbeat<{ records: number; batches?: number }>();
  const job = { file, pipeline, pipelineName: input.pipeline, source: input.name, dir, firstIndex: 0, format: input.format ?? 'json' };
  let split: RangeSplit;
  try {
    const plan = await planSplit(file, pipeline, { ranges: SPLIT_THREADS, minBytes: deps.config.etl.splitRangeBytes });
    split =
      (plan && (await splitInRanges(plan, job, (records) => beat({ records })))) ??
      (await splitRange(job, (records, batches) => beat({ records, batches })));
  } catch (err) {
    if (!(err instanceof RecordError)) throw err;
    return { valid: false, reason: `${input.name}: ${err.message}` };
  }
  for (const batch of split.batches) deps.checkedBatches.remember(batch.digest, pipeline, batch.records);
  return { valid: true, records: split.records, batches: split.batches.length };
}

/**
 * T's steps before its loads in one activity, a round trip each fewer: take
 * the file into T/in_process, split it (writeBatches), and file a valid one in
 * T/resolved. A retry finds the file where the attempt before left it: one
 * only in T/resolved was filed by it, and is split again from there into the
 * same batches (a copy in T/resolved from an earlier job of the same file does
 * not stand in for the one in T/working). An invalid file stays in
 * T/in_process for the workflow to file and report.
 */
export async function takeAndSplitEtlFile(deps: ActivityDeps, input: { pipeline: string; name: string; format: BatchFormat }): Promise<BatchSplit> {
  const { name } = input;
  const at = (dir: StageDir) => exists(stagePath(deps, dir, name));
  const unfiled = (await at(STAGE_DIRS.transformWorking)) || (await at(STAGE_DIRS.transformInProcess));
  const filed = !unfiled && (await at(STAGE_DIRS.transformResolved));
  if (!filed) await moveEtlFile(deps, { name, from: STAGE_DIRS.transformWorking, to: STAGE_DIRS.transformInProcess });
  const dir = filed ? STAGE_DIRS.transformResolved : STAGE_DIRS.transformInProcess;
  const split = await writeBatches(deps, { pipeline: input.pipeline, dir, name, format: input.format });
  if (split.valid && !filed) await moveEtlFile(deps, { name, from: STAGE_DIRS.transformInProcess, to: STAGE_DIRS.transformResolved });
  return split;
}

/**
 * The ranges split at once, then named in order. Their batches wait under
 * names of their own until every range is done; whatever does not end with
 * them named (a bad record, a crash's leftovers, a range that did not hold the
 * records the plan counted, threads that failed) is removed. In the last two
 * cases the caller reads the file in one go.
 */
async function splitInRanges(plan: SplitPlan, job: RangeJob, onProgress: (records: number) => void): Promise<RangeSplit | undefined> {
  const provisional = `.${job.source}.split-`;
  const removeProvisional = async () => {
    for (const name of await fs.readdir(job.dir)) if (name.startsWith(provisional)) await fs.rm(path.join(job.dir, name), { force: true });
  };
  await removeProvisional();
  const jobs = plan.ranges.map((range, i) => ({ ...job, provisional, range, firstIndex: plan.firstIndexes[i]! }));
  const context = Context.current();
  let splits: RangeSplit[];
  try {
    splits = await splitOnThreads(jobs, onProgress, context.cancellationSignal);
  } catch (err) {
    await removeProvisional();
    if (err instanceof RecordError || context.cancellationSignal.aborted) throw err;
    // Threads that could not do the work (one that failed to start, or ran out of memory) leave it to one read.
    context.log.warn('splitting on threads failed; reading the file in one go', { file: job.file, error: (err as Error).message });
    return undefined;
  }
  if (splits.some((s, i) => i < plan.records.length && s.records !== plan.records[i])) {
    await removeProvisional();
    return undefined;
  }
  const batches = splits.flatMap((s) => s.batches);
  for (const [index, batch] of batches.entries()) {
    const target = path.join(job.dir, batchName(job.source, index, job.format));
    await fs.rename(batch.file, target);
    batch.file = target;
  }
  return { records: splits.reduce((n, s) => n + s.records, 0), batches };
}

/** The batch file in `dir`, or where `filedIn` says an earlier attempt of the same load already put it. */
async function batchFile(deps: ActivityDeps, dir: StageDir, name: string, filedIn?: StageDir): Promise<string> {
  const file = stagePath(deps, dir, name);
  if (!filedIn) return file;
  try {
    await fs.access(file);
    return file;
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    return stagePath(deps, filedIn, name);
  }
}

const CHECKS_AT_ONCE = Math.max(1, Math.min(4, os.availableParallelism()));

export type BatchCheck = { valid: true; records: number; locations: string[] } | { valid: false; reason: string };

/** Checks a batch file's records against the pipeline, and says which locations it goes to. */
export async function checkBatch(deps: ActivityDeps, input: { pipeline: string; dir: StageDir; name: string }): Promise<BatchCheck> {
  const pipeline = pipelineFor(deps, input.pipeline);
  try {
    // Parsing a batch is CPU work: more at once than there are cores only adds to the memory held.
    return await heartbeatWhile({ name: input.name }, () =>
      deps.turns.run('check batch', CHECKS_AT_ONCE, async () => {
        const file = stagePath(deps, input.dir, input.name);
        // The very bytes T wrote in this worker were checked record by record as it wrote them.
        const trusted = deps.checkedBatches.take(await batchDigest(file), pipeline);
        if (trusted !== undefined) return { valid: true as const, records: trusted, locations: pipeline.locations };
        let records = 0;
        for await (const rows of (await openBatchFile(file, pipeline)).rows()) records += rows.length;
        return { valid: true as const, records, locations: pipeline.locations };
      }),
    );
  } catch (err) {
    if (err instanceof RecordError) return { valid: false, reason: `${input.name}: ${err.message}` };
    throw err;
  }
}

/** A Load job's first step: takes the batch from L/working into L/work_in_progress and checks it there. */
export async function takeBatch(deps: ActivityDeps, input: { pipeline: string; name: string }): Promise<BatchCheck> {
  await moveEtlFile(deps, { name: input.name, from: STAGE_DIRS.loadWorking, to: STAGE_DIRS.loadInProgress });
  return checkBatch(deps, { pipeline: input.pipeline, dir: STAGE_DIRS.loadInProgress, name: input.name });
}

/** A batch checked and, when it has one storage location, loaded there: `loaded` says how that ended. */
export type TakenBatch = BatchCheck | (Extract<BatchCheck, { valid: true }> & { loaded?: LocationLoad });

/** Takes the batch; on a retry, finds it where the attempt before filed it once loaded, had that worker died before it could report. */
async function takeOrFindFiled(deps: ActivityDeps, input: { pipeline: string; name: string }): Promise<BatchCheck> {
  try {
    return await takeBatch(deps, input);
  } catch (err) {
    const gone = err instanceof ApplicationFailure && err.type === 'NotFound' && Context.current().info.attempt > 1;
    if (!gone || !(await exists(stagePath(deps, STAGE_DIRS.loadResolved, input.name)))) throw err;
    return checkBatch(deps, { pipeline: input.pipeline, dir: STAGE_DIRS.loadResolved, name: input.name });
  }
}

/**
 * A Load job's only step when its batch has one storage location: takes and
 * checks it as takeBatch does, then loads and files it as loadBatch does. A
 * failure the location will not get over comes back as the outcome, for the
 * job to park the batch and mail; a passing one (a database not reachable yet)
 * is retried, the whole step again, which finds the batch already taken.
 */
export async function takeAndLoadBatch(deps: ActivityDeps, input: { pipeline: string; name: string; attempts?: number }): Promise<TakenBatch> {
  const check = await takeOrFindFiled(deps, input);
  if (!check.valid || check.locations.length !== 1) return check;
  const [location] = check.locations as [string];
  try {
    const outcome = await loadBatch(deps, { ...input, location, dir: STAGE_DIRS.loadInProgress, thenFileIn: STAGE_DIRS.loadResolved });
    return { ...check, loaded: { location, outcome: 'loaded', ...outcome } };
  } catch (err) {
    if (!(err instanceof ApplicationFailure && err.nonRetryable)) throw err;
    return { ...check, loaded: { location, outcome: 'failed', records: 0, inserted: 0, error: err.message } };
  }
}

/**
 * Inserts the batch into one storage location in one transaction. Records are
 * keyed, so a retry after a crash (even after a commit that was never
 * reported) adds nothing twice. A database that cannot be reached, or a
 * SQLite file another process has locked, is waited for (the job shows the
 * retries and why); rows or a login it refuses fail the location at once;
 * any other error after `attempts` tries.
 */
export async function loadBatch(
  deps: ActivityDeps,
  input: {
    pipeline: string;
    location: string;
    dir: StageDir;
    name: string;
    attempts?: number;
    /** The batch's only location: once loaded it is filed here, in the same step. */
    thenFileIn?: StageDir;
  },
): Promise<LoadOutcome> {
  const pipeline = pipelineFor(deps, input.pipeline);
  const location = deps.pipelines.read().locations[input.location];
  if (!location) throw permanent('NotConfigured', `storage location "${input.location}" is not defined in ${deps.config.etl.configFile}`);
  try {
    const outcome = await heartbeatWhile({ location: input.location }, () =>
      deps.turns.run(`load ${input.location}`, connectionsFor(location), async () => {
        const batch = await openBatchFile(await batchFile(deps, input.dir, input.name, input.thenFileIn), pipeline);
        return loadInto(deps.databases, location, pipeline, batch, deps.config.etl.root);
      }),
    );
    if (input.thenFileIn) await moveEtlFile(deps, { name: input.name, from: input.dir, to: input.thenFileIn });
    return outcome;
  } catch (err) {
    const message = `loading ${input.name} into ${describeLocation(input.location, location)} failed: ${(err as Error).message}`;
    // A batch changed since its check (a bad line found as it is read) is not retried either.
    if (err instanceof RecordError || isPermanentLoadError(err)) throw permanent('BadInput', message);
    if (isUnreachableError(err)) throw ApplicationFailure.retryable(`${message}; waiting for it to be reachable again`, 'Unreachable');
    if (isBusyError(err)) throw ApplicationFailure.retryable(`${message}; waiting for the lock to be let go`, 'Busy');
    const attempts = input.attempts ?? deps.config.etl.loadAttempts;
    if (Context.current().info.attempt >= attempts) throw permanent('AttemptsExhausted', `${message} (attempt ${attempts} of ${attempts})`);
    throw new Error(message);
  }
}
