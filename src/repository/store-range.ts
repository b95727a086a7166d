import type { ChunkThreads } from './chunk-threads';
import type { PackWriter } from './pack-writer';
import type { RepositoryRecipe } from './recipe';
import type { ChunkList } from './snapshots';

export interface RangeToStore {
  threads: ChunkThreads;
  recipe: RepositoryRecipe;
  /** Read by the threads: a descriptor the caller opened and checked, open until this returns. */
  fd: number;
  start: number;
  end: number;
  writer: PackWriter;
  signal?: AbortSignal;
  /** Bytes of the range cut so far. */
  onProgress?: (done: number) => void;
}

/**
 * Cuts [start, end) of a file into chunks by content on the chunk threads,
 * hands the chunks the writer does not know, sealed, to it, and returns the
 * range's chunk list. Cutting is sequential (each window starts where the
 * last chunk ended); sealing a window overlaps cutting the next.
 */
export async function storeRange(range: RangeToStore): Promise<ChunkList['chunks']> {
  const { threads, recipe, fd, end, writer, signal } = range;
  const list: ChunkList['chunks'] = [];
  let position = range.start;
  let cutting = threads.cut(recipe, fd, position, end);
  try {
    while (position < end) {
      const cut = await cutting;
      position += cut.consumed;
      if (position < end) cutting = threads.cut(recipe, fd, position, end);
      const items: [number, number, string, boolean][] = [];
      let at = 0;
      cut.ids.forEach((id, i) => {
        const length = cut.lengths[i]!;
        list.push([id, length]);
        if (!writer.knows(id)) items.push([at, length, id, writer.claim(id)]);
        at += length;
      });
      if (items.length > 0) {
        const sealed = await threads.seal(recipe, cut.bytes, items);
        await writer.addBatch(
          items.map(([, , id]) => id),
          items.map(([, length]) => length),
          sealed,
        );
      } else {
        // Most windows of a second backup hold nothing new. Dropped, each would be 2 MiB of external memory for the
        // main isolate to collect: a full collection every few windows, half of the event loop's time.
        threads.pool.give(cut.bytes);
      }
      range.onProgress?.(position - range.start);
      if (signal?.aborted) throw signal.reason;
    }
    return list;
  } finally {
    // A thread may still read through the descriptor: the caller closes it once the thread has answered.
    await cutting.catch(() => undefined);
  }
}
