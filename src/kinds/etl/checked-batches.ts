import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { pipeline as streamPipeline } from 'node:stream/promises';
import type { Pipeline } from './pipelines';

/** The newest batches remembered; older ones are checked by reading them, as any other file. */
const REMEMBERED = 100_000;

/** A batch file's bytes, named: what T wrote and what the Load job finds are the same file exactly when these match. */
export async function batchDigest(file: string): Promise<string> {
  const hash = createHash('sha256');
  await streamPipeline(fs.createReadStream(file, { highWaterMark: 256 * 1024 }), hash);
  return hash.digest('hex');
}

/**
 * Batch files this worker's T step wrote, every record checked as it was
 * written. The Load job's check trusts a file only when its bytes are the ones
 * T wrote (hashing a batch costs a few milliseconds, parsing it for the check
 * a hundred) and the pipeline's definition has not changed since. Anything
 * else (a batch fixed by hand, one written by another worker or before a
 * restart) is parsed and checked record by record. Each is trusted once.
 */
export class CheckedBatches {
  private readonly written = new Map<string, { definition: string; records: number }>();

  remember(digest: string, pipeline: Pipeline, records: number): void {
    if (this.written.size >= REMEMBERED) this.written.delete(this.written.keys().next().value!);
    this.written.set(digest, { definition: JSON.stringify(pipeline), records });
  }

  /** The record count T checked, if these are the bytes it wrote under this pipeline's current definition. */
  take(digest: string, pipeline: Pipeline): number | undefined {
    const written = this.written.get(digest);
    if (!written) return undefined;
    this.written.delete(digest);
    return written.definition === JSON.stringify(pipeline) ? written.records : undefined;
  }

  get size(): number {
    return this.written.size;
  }
}
