import fs from 'node:fs/promises';
import path from 'node:path';
import { batchName, STAGE_DIRS, type StageDir } from '../layout';
import { checkRecord, readRecords, RecordError, type EtlRecord } from '../records';
import { describeLocation, isPermanentLoadError, loadInto, type LoadOutcome } from '../storage';
import type { ActivityDeps } from '../../../activities/deps';
import { permanent } from '../../../activities/failures';
import { heartbeatWhile, throttledHeartbeat } from '../../../activities/heartbeat';
import { pipelineFor, stagePath } from './files';
import { writeJsonAtomic } from '../../../activities/staging';

/** What a Load job reads: the records and where they came from. */
export interface BatchFile {
  pipeline: string;
  source: string;
  index: number;
  records: EtlRecord[];
}

/**
 * Splits a transformed file into batch files in L/working, one per Load job.
 * A retry rewrites the same names with the same records.
 */
export async function writeBatches(
  deps: ActivityDeps,
  input: { pipeline: string; dir: StageDir; name: string },
): Promise<{ records: number; batches: number }> {
  const pipeline = pipelineFor(deps, input.pipeline);
  const file = stagePath(deps, input.dir, input.name);
  await fs.mkdir(path.join(deps.config.etl.root, STAGE_DIRS.loadWorking), { recursive: true });
  const beat = throttledHeartbeat<{ records: number }>();
  let batch: EtlRecord[] = [];
  let batches = 0;
  let records = 0;
  const flush = async () => {
    const body: BatchFile = { pipeline: input.pipeline, source: input.name, index: batches, records: batch };
    await writeJsonAtomic(stagePath(deps, STAGE_DIRS.loadWorking, batchName(input.name, batches)), body);
    batches++;
    batch = [];
  };
  try {
    for await (const record of readRecords(file, pipeline)) {
      batch.push(record);
      records++;
      if (batch.length === pipeline.batchSize) await flush();
      beat({ records });
    }
  } catch (err) {
    if (err instanceof RecordError) throw permanent('BadInput', `${input.name}: ${err.message}`);
    throw err;
  }
  if (batch.length > 0) await flush();
  return { records, batches };
}

async function readBatch(deps: ActivityDeps, dir: StageDir, name: string): Promise<BatchFile> {
  const text = await fs.readFile(stagePath(deps, dir, name), 'utf8');
  let data: BatchFile;
  try {
    data = JSON.parse(text) as BatchFile;
  } catch (err) {
    throw new RecordError(`not valid JSON: ${(err as Error).message}`);
  }
  if (!data || !Array.isArray(data.records)) throw new RecordError('has no "records" array');
  return data;
}

export type BatchCheck = { valid: true; records: number; locations: string[] } | { valid: false; reason: string };

/** Checks a batch file's records against the pipeline, and says which locations it goes to. */
export async function checkBatch(deps: ActivityDeps, input: { pipeline: string; dir: StageDir; name: string }): Promise<BatchCheck> {
  const pipeline = pipelineFor(deps, input.pipeline);
  try {
    const batch = await readBatch(deps, input.dir, input.name);
    batch.records.forEach((record, i) => checkRecord(pipeline, record, `record ${i + 1}`));
    return { valid: true, records: batch.records.length, locations: pipeline.locations };
  } catch (err) {
    if (err instanceof RecordError) return { valid: false, reason: `${input.name}: ${err.message}` };
    throw err;
  }
}

/**
 * Inserts the batch into one storage location in one transaction. Records are
 * keyed, so a retry after a crash (even after a commit that was never
 * reported) adds nothing twice.
 */
export async function loadBatch(
  deps: ActivityDeps,
  input: { pipeline: string; location: string; dir: StageDir; name: string },
): Promise<LoadOutcome> {
  const pipeline = pipelineFor(deps, input.pipeline);
  const location = deps.pipelines.read().locations[input.location];
  if (!location) throw permanent('NotConfigured', `storage location "${input.location}" is not defined in ${deps.config.etl.configFile}`);
  const batch = await readBatch(deps, input.dir, input.name);
  try {
    return await heartbeatWhile({ location: input.location }, () => loadInto(location, pipeline, batch.records, deps.config.etl.root));
  } catch (err) {
    const message = `loading ${input.name} into ${describeLocation(input.location, location)} failed: ${(err as Error).message}`;
    if (isPermanentLoadError(err)) throw permanent('BadInput', message);
    throw new Error(message);
  }
}
