import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { bindAll } from '../../activities/bind';
import type { ActivityDeps } from '../../activities/deps';
import { ObjectNotFoundError } from '../../stores';
import { readChunks } from '../../repository/read-chunks';
import { latestSnapshotId, readList, type Snapshot } from '../../repository/snapshots';

/** Reads every part of a stored backup and compares its size and sha256 with the manifest. */
export async function verifyStoredBackup(
  deps: ActivityDeps,
  input: { name: string },
): Promise<{ partCount: number; size: number; bad: { index: number; reason: string }[] }> {
  const context = Context.current();
  const repo = await deps.repository();
  const latest = await latestSnapshotId(repo, input.name, (id) => deps.snapshots.read(input.name, id));
  const snapshot = latest ? await deps.snapshots.read(input.name, latest) : undefined;
  if (snapshot?.layout === 'chunks') return verifyChunks(deps, snapshot, context);
  if (!snapshot) deps.manifests.forget(input.name);
  const manifest = snapshot?.object
    ? { layout: 'object' as const, size: snapshot.size, parts: snapshot.object.parts.map((p) => ({ ...p, key: snapshot.object!.key })) }
    : await deps.manifests.read(input.name);
  const bad: { index: number; reason: string }[] = [];
  for (const part of manifest.parts) {
    const range = manifest.layout === 'object' ? { start: part.offset, length: part.size } : undefined;
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of await deps.store.get(part.key, { signal: context.cancellationSignal, range })) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) throw err;
      bad.push({ index: part.index, reason: `missing from ${deps.store.description} (${part.key})` });
      continue;
    }
    const sha256 = hash.digest('hex');
    if (size !== part.size || sha256 !== part.sha256)
      bad.push({ index: part.index, reason: `${size} bytes with sha256 ${sha256}, expected ${part.size} bytes with ${part.sha256}` });
    context.heartbeat(part.index + 1);
  }
  return { partCount: manifest.parts.length, size: manifest.size, bad };
}

/** Every chunk of every segment read, opened and checked against its id, and the whole file's sha256 recomputed from them. */
async function verifyChunks(deps: ActivityDeps, snapshot: Snapshot, context: Context) {
  const repo = await deps.repository();
  const bad: { index: number; reason: string }[] = [];
  const whole = createHash('sha256');
  for (const [index, segment] of snapshot.segments.entries()) {
    const { chunks } = await readList(repo, segment.list);
    const where = await deps.packIndex.locateAll(
      repo,
      chunks.map(([id]) => id),
    );
    const missing = chunks.filter((_, i) => !where[i]);
    if (missing.length > 0) {
      bad.push({ index, reason: `${missing.length} chunk(s) in no pack, first ${missing[0]![0]}` });
      continue;
    }
    const damage: string[] = [];
    await readChunks(
      repo,
      chunks.map(([id], i) => ({ id, at: where[i]! })),
      async (_chunk, result) => {
        if ('damage' in result) damage.push(result.damage);
        else whole.update(result.plain);
      },
      context.cancellationSignal,
    );
    if (damage.length > 0) bad.push({ index, reason: damage.join('; ') });
    context.heartbeat(index + 1);
  }
  const sha256 = whole.digest('hex');
  if (bad.length === 0 && sha256 !== snapshot.sha256)
    bad.push({ index: -1, reason: `the whole file has sha256 ${sha256}, the snapshot says ${snapshot.sha256}` });
  return { partCount: snapshot.segments.length, size: snapshot.size, bad };
}

export const verifyActivities = (deps: ActivityDeps) => bindAll(deps, { verifyStoredBackup });
