import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import type { ActivityDeps } from '../../activities/deps';
import { permanent } from '../../activities/failures';
import { heartbeatWhile } from '../../activities/heartbeat';
import { readChunks } from '../../repository/read-chunks';
import { DamagedObject } from '../../repository/seal';
import { readList, type Snapshot } from '../../repository/snapshots';

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
  const locate = (id: string) => deps.packIndex.locate(id);
  if (list.chunks.some(([id]) => !locate(id))) await heartbeatWhile(0, () => deps.packIndex.refresh(repo));
  const placed = list.chunks.map(([id, length]) => {
    const at = locate(id);
    if (!at) {
      throw permanent(
        'PartLost',
        `chunk ${id} of snapshot ${snapshot.id} of ${snapshot.name} is in no pack of ${repo.store.description}; that data is lost (run \`courier check\` to see what else depends on it)`,
      );
    }
    return { id, length, at };
  });
  const handle = await fs.open(tempPath, constants.O_RDWR | constants.O_NOFOLLOW);
  let position = segment.offset;
  // Checked chunks gather into one positioned write of a few MiB: one system call instead of a hundred.
  let waiting: Buffer[] = [];
  let waitingBytes = 0;
  const write = async () => {
    if (waiting.length === 0) return;
    await handle.writev(waiting, position);
    position += waitingBytes;
    waiting = [];
    waitingBytes = 0;
    progress(position - segment.offset);
  };
  try {
    await readChunks(
      repo,
      placed,
      async (chunk, result) => {
        if ('damage' in result)
          throw new DamagedObject(`chunk ${chunk.id} (pack ${chunk.at.pack}) of snapshot ${snapshot.id} of ${snapshot.name}`, result.damage);
        waiting.push(result.plain);
        waitingBytes += result.plain.length;
        if (waitingBytes >= 4 * 1024 * 1024) await write();
      },
      signal,
    );
    await write();
  } finally {
    await handle.close();
  }
  return segment.size;
}
