import { POOL_UNIT, type BufferPool } from './buffer-pool';
import { repoKeys } from './layout';
import type { ChunkLocation } from './pack-index';
import type { Repository } from './repository';
import { DamagedObject } from './seal';
import { ObjectNotFoundError, type ObjectStore, type RangeReader } from '../stores';

export interface Placed {
  id: string;
  at: ChunkLocation;
}

/**
 * A ranged read's size at most (unless one chunk is larger): large enough that requests stay few, small enough
 * that memory stays flat, and one pool block.
 */
const RUN_BYTES = POOL_UNIT;

/** Chunks stored side by side in one pack come in one ranged read. */
function runsOf<T extends Placed>(chunks: T[]): T[][] {
  const runs: T[][] = [];
  let runBytes = 0;
  for (const chunk of chunks) {
    const run = runs.at(-1);
    const last = run?.at(-1);
    if (
      run &&
      last &&
      last.at.pack === chunk.at.pack &&
      last.at.offset + last.at.length === chunk.at.offset &&
      runBytes + chunk.at.length <= RUN_BYTES
    ) {
      run.push(chunk);
      runBytes += chunk.at.length;
    } else {
      runs.push([chunk]);
      runBytes = chunk.at.length;
    }
  }
  return runs;
}

export type FetchedRun<T> = { run: T[]; bytes: Buffer } | { run: T[]; missing: string };

/**
 * Runs of chunks side by side in a pack, each fetched with one ranged read;
 * `bytes` starts at the run's first chunk. With a pool, `bytes` is one of its
 * buffers, for the caller to give back (or hand to a chunk thread, which does).
 */
export async function* fetchRuns<T extends Placed>(
  store: ObjectStore,
  chunks: T[],
  signal?: AbortSignal,
  pool?: BufferPool,
): AsyncGenerator<FetchedRun<T>> {
  // A segment's runs come pack after pack: each pack is opened once for all its runs, not once per run.
  let open: { key: string; reader: RangeReader | undefined } | undefined;
  try {
    for (const run of runsOf(chunks)) {
      const first = run[0]!.at;
      const last = run.at(-1)!.at;
      const key = repoKeys.pack(first.pack);
      const length = last.offset + last.length - first.offset;
      if (open?.key !== key) {
        await open?.reader?.close();
        open = { key, reader: undefined };
        try {
          open.reader = await store.openRanges(key, { signal });
        } catch (err) {
          if (!(err instanceof ObjectNotFoundError)) throw err;
        }
      }
      if (!open.reader) {
        yield { run, missing: `pack ${key} is missing` };
        continue;
      }
      const bytes = pool ? pool.take(length) : Buffer.allocUnsafe(length);
      let read: number;
      try {
        read = await open.reader.read({ start: first.offset, length }, bytes);
      } catch (err) {
        pool?.give(bytes);
        throw err;
      }
      if (read < length) {
        pool?.give(bytes);
        yield { run, missing: `pack ${key} is shorter than its index says` };
      } else yield { run, bytes };
    }
  } finally {
    await open?.reader?.close();
  }
}

/**
 * Reads chunks in the order given, each opened (authenticated when
 * encrypted) and checked against its id: `each` receives its plain bytes, or
 * the reason it is damaged. A missing pack damages every chunk it held.
 */
export async function readChunks<T extends Placed>(
  repo: Repository,
  chunks: T[],
  each: (chunk: T, result: { plain: Buffer } | { damage: string }) => Promise<void>,
  signal?: AbortSignal,
): Promise<number> {
  let bytesRead = 0;
  for await (const fetched of fetchRuns(repo.store, chunks, signal)) {
    if ('missing' in fetched) {
      for (const chunk of fetched.run) await each(chunk, { damage: fetched.missing });
      continue;
    }
    const { run, bytes } = fetched;
    bytesRead += bytes.length;
    const first = run[0]!.at;
    for (const chunk of run) {
      const start = chunk.at.offset - first.offset;
      let plain: Buffer;
      try {
        plain = await repo.sealer.open(bytes.subarray(start, start + chunk.at.length), chunk.id, `chunk ${chunk.id}`);
      } catch (err) {
        if (!(err instanceof DamagedObject)) throw err;
        await each(chunk, { damage: err.reason });
        continue;
      }
      const mismatch = repo.sealer.chunkMismatch(plain, chunk.id, chunk.at.raw);
      await each(chunk, mismatch ? { damage: mismatch } : { plain });
    }
  }
  return bytesRead;
}
