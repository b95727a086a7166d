import { Context, log } from '@temporalio/activity';
import { z } from 'zod';
import { bindAll } from '../../activities/bind';
import type { ActivityDeps } from '../../activities/deps';
import { heartbeatWhile, throttledHeartbeat } from '../../activities/heartbeat';
import { idOfKey, repoKeys } from '../../repository/layout';
import { readChunks } from '../../repository/read-chunks';
import { references } from '../../repository/references';
import { putBytes, readObject } from '../../repository/repository';
import type { CheckOutcome, Damage } from './contract';

const cursorSchema = z.object({ next: z.number().int().min(0), of: z.number().int().min(1) });

/** A chunk's slice: ids are uniform hashes, so slicing by id range gives each slice its share and every chunk exactly one slice. */
const sliceOf = (id: string, of: number) => Math.floor((parseInt(id.slice(0, 8), 16) * of) / 0x1_0000_0000);

async function whichSlice(deps: ActivityDeps, subset: string): Promise<{ slice: number; of: number; advance: boolean }> {
  if (subset.includes('/')) {
    const [n, t] = subset.split('/').map(Number);
    return { slice: n! - 1, of: t!, advance: false };
  }
  const of = Math.max(1, Math.round(100 / Number(subset.slice(0, -1))));
  const repo = await deps.repository();
  const bytes = await readObject(repo.store, repoKeys.checkCursor);
  const cursor = bytes ? cursorSchema.safeParse(JSON.parse(bytes.toString('utf8'))) : undefined;
  // A changed share starts its cycle again.
  const slice = cursor?.success && cursor.data.of === of ? cursor.data.next % of : 0;
  return { slice, of, advance: true };
}

/**
 * Structure first (every list of every snapshot readable, every chunk in a
 * pack that exists), then the data of one slice of the chunks read back,
 * opened and checked against their ids. What is damaged is named with the
 * snapshots that depend on it. The cursor moves on only after a full run.
 */
export async function checkRepository(deps: ActivityDeps, input: { readDataSubset: string }): Promise<CheckOutcome> {
  const repo = await deps.repository();
  const heartbeat = throttledHeartbeat<number>(1000);
  const index = await heartbeatWhile(0, () => deps.packIndex.refresh(repo));
  const { slice, of, advance } = await whichSlice(deps, input.readDataSubset);
  const damaged = new Map<string, Omit<Damage, 'snapshots'>>();
  const stored = new Set((await repo.store.list(repoKeys.packsPrefix)).map((o) => idOfKey(o.key)));
  for (const table of index.packs()) {
    if (stored.has(table.pack)) continue;
    for (const [id] of table.chunks) damaged.set(id, { chunk: id, pack: table.pack, reason: `pack ${repoKeys.pack(table.pack)} is missing` });
  }
  const chosen = index
    .chunkIds()
    .filter((id) => sliceOf(id, of) === slice && !damaged.has(id))
    .map((id) => ({ id, at: index.locate(id)! }))
    .sort((a, b) => a.at.pack.localeCompare(b.at.pack) || a.at.offset - b.at.offset);
  let checked = 0;
  const bytesRead = await readChunks(
    repo,
    chosen,
    async (chunk, result) => {
      checked++;
      heartbeat(checked);
      if ('damage' in result) damaged.set(chunk.id, { chunk: chunk.id, pack: chunk.at.pack, reason: result.damage });
    },
    Context.current().cancellationSignal,
  );
  // One pass over the lists finds both the snapshots behind damaged chunks and the chunks in no pack at all.
  const used = await heartbeatWhile(checked, () => references(repo, { track: (id) => damaged.has(id) || !index.locate(id) }));
  const found: Damage[] = [...damaged.values()].map((d) => ({ ...d, snapshots: used.users(d.chunk) }));
  for (const chunk of used.chunks) {
    if (!index.locate(chunk)) found.push({ chunk, reason: 'in no pack of the repository', snapshots: used.users(chunk) });
  }
  if (advance) await putBytes(repo.store, repoKeys.checkCursor, Buffer.from(JSON.stringify({ next: (slice + 1) % of, of })));
  log.info('repository checked', { slice: slice + 1, of, checked, damaged: found.length });
  return {
    snapshots: used.snapshots.length,
    chunksTotal: index.chunkCount,
    chunksChecked: checked,
    bytesRead,
    slice: slice + 1,
    of,
    damaged: found,
  };
}

export const checkActivities = (deps: ActivityDeps) => bindAll(deps, { checkRepository });
