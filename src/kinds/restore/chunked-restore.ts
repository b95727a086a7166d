import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import type { ActivityDeps } from '../../activities/deps';
import { permanent } from '../../activities/failures';
import { heartbeatWhile } from '../../activities/heartbeat';
import { inChunkRangeTurn } from '../../activities/turns';
import { fetchRuns } from '../../repository/read-chunks';
import { DamagedObject } from '../../repository/seal';
import { readList, type Snapshot } from '../../repository/snapshots';

/** Runs being opened and written at once per segment: enough to keep every chunk thread busy, few enough that memory stays flat. */
const WRITING = 3;

/**
 * One segment of a chunked snapshot into its place in the temp file: each
 * chunk read from its pack, opened (authenticated when encrypted), and checked
 * against its id before it is written. A damaged chunk fails the restore
 * naming it, its pack and the snapshot.
 */
export async function restoreSegment(
  deps: ActivityDeps,
  snapshot: Snapshot,
  index: number,
  tempPath: string,
  signal: AbortSignal,
  progress: (bytes: number) => void,
): Promise<number> {
  const segment = snapshot.segments[index];
  if (!segment) throw permanent('Corrupt', `snapshot ${snapshot.id} of ${snapshot.name} has no segment ${index}`);
  const repo = await deps.repository();
  const list = await heartbeatWhile(0, () => readList(repo, segment.list));
  const where = await heartbeatWhile(0, () =>
    deps.packIndex.locateAll(
      repo,
      list.chunks.map(([id]) => id),
    ),
  );
  const lost = where.indexOf(undefined);
  if (lost >= 0) {
    throw permanent(
      'PartLost',
      `chunk ${list.chunks[lost]![0]} of snapshot ${snapshot.id} of ${snapshot.name} is in no pack of ${repo.store.description}; that data is lost (run \`courier check\` to see what else depends on it)`,
    );
  }
  let position = segment.offset;
  const placed = list.chunks.map(([id, length], i) => {
    position += length;
    return { id, length, at: where[i]!, position: position - length };
  });
  const damaged = (chunk: (typeof placed)[number], reason: string) =>
    new DamagedObject(`chunk ${chunk.id} (pack ${chunk.at.pack}) of snapshot ${snapshot.id} of ${snapshot.name}`, reason);
  const handle = await fs.open(tempPath, constants.O_RDWR | constants.O_NOFOLLOW);
  // Chunk threads open, check and write each fetched run while the next is fetched.
  const writing: Promise<void>[] = [];
  let written = 0;
  try {
    await inChunkRangeTurn(deps, async () => {
      try {
        for await (const fetched of fetchRuns(repo.store, placed, signal, deps.chunkThreads.pool)) {
          if ('missing' in fetched) throw damaged(fetched.run[0]!, fetched.missing);
          const { run, bytes } = fetched;
          const base = run[0]!.at.offset;
          const items = run.map((c): [number, number, string, number, number] => [c.at.offset - base, c.at.length, c.id, c.at.raw, c.position]);
          const size = run.reduce((n, c) => n + c.length, 0);
          writing.push(
            deps.chunkThreads.open(repo.recipe, handle.fd, bytes, items).then((reply) => {
              if ('damaged' in reply) throw damaged(run[reply.damaged.item]!, reply.damaged.reason);
              written += size;
              progress(written);
            }),
          );
          writing.at(-1)!.catch(() => undefined);
          if (writing.length >= WRITING) await writing.shift();
        }
        while (writing.length > 0) await writing.shift();
      } finally {
        // Runs still being written hold their blocks, and a thread may still write through the descriptor: both wait
        // for every thread to answer, the turn and the close below.
        await Promise.allSettled(writing);
      }
    });
    // On disk before the step reports done: a crash after that cannot lose the segment, and the disk writes it while later segments are still fetched and opened.
    await handle.datasync();
  } finally {
    await handle.close();
  }
  return segment.size;
}
