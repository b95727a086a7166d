import { Context, log } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import type { ActivityDeps } from '../../activities/deps';
import { bindAll } from '../../activities/bind';
import { heartbeatWhile, throttledHeartbeat } from '../../activities/heartbeat';
import { idOfKey, repoKeys } from '../../repository/layout';
import { readCondemnations, writeCondemnation, type PackTable } from '../../repository/pack-index';
import { PackWriter } from '../../repository/pack-writer';
import { references } from '../../repository/references';
import { readObject } from '../../repository/repository';
import { listOwner } from '../../repository/snapshots';
import type { PrunePlan, SweepResult } from './contract';

const pendingSchema = z.object({ jobId: z.string(), snapshotId: z.string(), startedAt: z.string() });

/** Backups under way, with the snapshot each will write: each marked itself pending before it first read the index. */
async function pending(deps: ActivityDeps): Promise<{ jobId: string; snapshotId: string }[]> {
  const repo = await deps.repository();
  const jobs: { jobId: string; snapshotId: string }[] = [];
  for (const { key } of await repo.store.list(repoKeys.pendingPrefix)) {
    const bytes = await readObject(repo.store, key);
    const parsed = bytes && pendingSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    if (parsed?.success) jobs.push(parsed.data);
  }
  return jobs;
}

const pendingJobs = async (deps: ActivityDeps) => (await pending(deps)).map((p) => p.jobId);

/**
 * Marks for removal every pack no snapshot (nor any running backup) uses,
 * and repacks packs that are mostly unused. Nothing is deleted here: the
 * sweep does that once every backup that could have read the index before
 * the mark has finished. The mark is written before the running backups are
 * listed, so a backup either sees the mark or is waited for.
 */
export async function planPrune(deps: ActivityDeps, input: { jobId: string; repackUnused: number }): Promise<PrunePlan> {
  const repo = await deps.repository();
  const heartbeat = throttledHeartbeat<string>(1000);
  const earlier = await readCondemnations(repo);
  if (earlier.length > 0) {
    // A prune that died before its sweep: its mark stands; this run waits and sweeps it again.
    return {
      condemnation: earlier[0]!.key,
      waitFor: await pendingJobs(deps),
      packsCondemned: earlier[0]!.value.packs.length,
      packsRepacked: 0,
      listsCondemned: 0,
      bytesCondemned: 0,
    };
  }
  const index = await heartbeatWhile('index', () => deps.packIndex.refresh(repo));
  const running = await pending(deps);
  // Snapshots only: a backup running across the mark either sees it or is waited for, and the sweep spares what its snapshot then needs.
  const used = await heartbeatWhile('references', () => references(repo));
  const tables = index.packs();
  const withTable = new Set(tables.map((t) => t.pack));
  const condemned: string[] = [];
  let bytesCondemned = 0;
  const writer = new PackWriter(repo, index, Context.current().cancellationSignal);
  let packsRepacked = 0;
  try {
    for (const table of tables) {
      heartbeat(table.pack);
      const size = table.chunks.reduce((n, [, , length]) => n + length, 0);
      const kept = table.chunks.filter(([id]) => used.chunks.has(id));
      const unused = size - kept.reduce((n, [, , length]) => n + length, 0);
      if (kept.length === 0) {
        condemned.push(table.pack);
        bytesCondemned += size;
      } else if (unused > size * input.repackUnused) {
        await repack(deps, writer, table, kept);
        condemned.push(table.pack);
        bytesCondemned += unused;
        packsRepacked++;
      }
    }
    await writer.finish();
  } catch (err) {
    writer.abandon();
    throw err;
  }
  // A pack with no table: a backup died between storing it and its table, or is between the two right now.
  const orphans =
    running.length > 0 ? [] : (await repo.store.list(repoKeys.packsPrefix)).map((o) => idOfKey(o.key)).filter((pack) => !withTable.has(pack));
  // A list belongs to the job that wrote it: one no snapshot names whose job is not running is garbage.
  const owners = new Set(running.map((p) => p.snapshotId));
  const lists = (await repo.store.list(repoKeys.listsPrefix))
    .map((o) => o.key.slice(repoKeys.listsPrefix.length))
    .filter((ref) => !used.lists.has(ref) && !owners.has(listOwner(ref)));
  const all = [...condemned, ...orphans];
  if (all.length === 0 && lists.length === 0) return { waitFor: [], packsCondemned: 0, packsRepacked: 0, listsCondemned: 0, bytesCondemned: 0 };
  const key = await writeCondemnation(repo, input.jobId.replace(/[^A-Za-z0-9._-]/g, '_'), {
    at: new Date().toISOString(),
    by: input.jobId,
    packs: all,
    lists,
  });
  log.info('packs marked for removal', { packs: all.length, lists: lists.length, repacked: packsRepacked });
  return {
    condemnation: key,
    waitFor: await pendingJobs(deps),
    packsCondemned: all.length,
    packsRepacked,
    listsCondemned: lists.length,
    bytesCondemned,
  };
}

async function repack(deps: ActivityDeps, writer: PackWriter, table: PackTable, kept: PackTable['chunks']): Promise<void> {
  const repo = await deps.repository();
  const bytes = await readObject(repo.store, repoKeys.pack(table.pack));
  if (!bytes) return;
  for (const [id, offset, length, raw] of kept) await writer.addSealed(id, bytes.subarray(offset, offset + length), raw);
}

/** Of the backups prune waits for, those still running; a mark whose job has ended (crashed, terminated) is removed. */
export async function stillRunning(deps: ActivityDeps, input: { jobIds: string[] }): Promise<string[]> {
  const client = Context.current().client;
  const running: string[] = [];
  for (const jobId of input.jobIds) {
    if (!(await deps.store.head(repoKeys.pending(jobId)))) continue;
    const status = await client.workflow
      .getHandle(jobId)
      .describe()
      .then((d) => d.status.name)
      .catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return 'GONE';
        throw err;
      });
    if (status === 'RUNNING') running.push(jobId);
    else await deps.store.delete(repoKeys.pending(jobId));
  }
  return running;
}

/**
 * Deletes what the mark names, but spares a pack holding a chunk some
 * snapshot now uses and no other pack has: a backup that ran across the mark
 * may have come to rely on it. Tables go before packs, so no reader is sent to a deleted pack.
 */
export async function sweepCondemned(deps: ActivityDeps, input: { condemnation: string }): Promise<SweepResult> {
  const repo = await deps.repository();
  const marks = await readCondemnations(repo);
  const mark = marks.find((m) => m.key === input.condemnation);
  if (!mark) return { packsDeleted: 0, packsSpared: 0, listsDeleted: 0, bytesFreed: 0 };
  const heartbeat = throttledHeartbeat<number>(1000);
  const index = await heartbeatWhile(0, () => deps.packIndex.refresh(repo));
  const condemned = new Set(mark.value.packs);
  const used = await heartbeatWhile(0, () => references(repo));
  const elsewhere = (id: string) => {
    const at = index.locate(id);
    return at !== undefined && !condemned.has(at.pack);
  };
  const tables = new Map(index.packs().map((t) => [t.pack, t]));
  let packsDeleted = 0;
  let packsSpared = 0;
  let bytesFreed = 0;
  for (const pack of mark.value.packs) {
    heartbeat(packsDeleted);
    const table = tables.get(pack);
    if (table?.chunks.some(([id]) => used.chunks.has(id) && !elsewhere(id))) {
      packsSpared++;
      continue;
    }
    const info = await repo.store.head(repoKeys.pack(pack));
    await repo.store.delete(repoKeys.index(pack));
    await repo.store.delete(repoKeys.pack(pack));
    bytesFreed += info?.size ?? 0;
    packsDeleted++;
  }
  let listsDeleted = 0;
  for (const list of mark.value.lists ?? []) {
    if (used.lists.has(list)) continue;
    await repo.store.delete(repoKeys.list(list));
    listsDeleted++;
  }
  await repo.store.delete(mark.key);
  await deps.packIndex.refresh(repo);
  log.info('prune swept', { packsDeleted, packsSpared, listsDeleted, bytesFreed });
  return { packsDeleted, packsSpared, listsDeleted, bytesFreed };
}

export const pruneActivities = (deps: ActivityDeps) => bindAll(deps, { planPrune, stillRunning, sweepCondemned });
