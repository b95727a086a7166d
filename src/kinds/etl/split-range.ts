import fs from 'node:fs/promises';
import path from 'node:path';
import { batchFieldReader } from './batch-text';
import { BatchWriter, jsonForm, tabSeparatedForm, type BatchForm } from './batch-writer';
import { batchName, type BatchFormat } from './layout';
import type { Pipeline } from './pipelines';
import { readRecords, valueReader, type FieldReader, type FileRange } from './records';

/** One stretch of a file (or all of it) to split into batch files: plain data, so a thread can be given it. */
export interface RangeJob {
  file: string;
  pipeline: Pipeline;
  pipelineName: string;
  /** The source's name in the ETL tree: batch files are named after it. */
  source: string;
  range?: FileRange;
  /** The index of this stretch's first batch in the file: its first record is record firstIndex × batchSize. */
  firstIndex: number;
  dir: string;
  format: BatchFormat;
  /** Batches go under this prefix and their index until the whole file is split; without it, under their own names at once. */
  provisional?: string;
}

export interface SplitBatch {
  file: string;
  digest: string;
  records: number;
}

export interface RangeSplit {
  records: number;
  batches: SplitBatch[];
}

export const provisionalName = (prefix: string, index: number) => `${prefix}${index}`;

/**
 * Reads the stretch once, checking every record, and writes its records in
 * batch files of the pipeline's batch size. A bad record throws its
 * RecordError, and the batches this stretch wrote are removed first.
 */
export function splitRange(job: RangeJob, onProgress?: (records: number, batches: number) => void): Promise<RangeSplit> {
  // Tab-separated batches take each field's text as it is read; the earlier JSON form takes checked values.
  return job.format === 'tsv'
    ? splitInto(job, batchFieldReader, tabSeparatedForm(job.pipeline), onProgress)
    : splitInto(job, valueReader, jsonForm(job.pipeline), onProgress);
}

async function splitInto<F>(
  job: RangeJob,
  reader: FieldReader<F>,
  form: BatchForm<F[]>,
  onProgress?: (records: number, batches: number) => void,
): Promise<RangeSplit> {
  const { pipeline } = job;
  const batches: SplitBatch[] = [];
  const nameOf = (index: number) => (job.provisional ? provisionalName(job.provisional, index) : batchName(job.source, index, job.format));
  const open = () => {
    const index = job.firstIndex + batches.length;
    return new BatchWriter(path.join(job.dir, nameOf(index)), { pipeline: job.pipelineName, source: job.source, index }, form);
  };
  let records = 0;
  let batch: BatchWriter<F[]> | undefined;
  const close = async (writer: BatchWriter<F[]>) => batches.push({ file: writer.file, digest: await writer.finish(), records: writer.records });
  try {
    for await (const run of readRecords(job.file, pipeline, reader, job.range)) {
      for (const record of run) {
        const writing = (batch ??= open()).add(record);
        if (writing) await writing;
        if (batch.records === pipeline.batchSize) {
          await close(batch);
          batch = undefined;
        }
      }
      records += run.length;
      onProgress?.(records, batches.length);
    }
    if (batch) await close(batch);
  } catch (err) {
    await batch?.discard();
    for (const written of batches) await fs.rm(written.file, { force: true });
    throw err;
  }
  return { records, batches };
}
