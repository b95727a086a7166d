import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Context, log } from '@temporalio/activity';
import type { ManifestSummary } from './contract';
import type { PartRef } from '../backup/contract';
import { ObjectNotFoundError } from '../../stores';
import type { ActivityDeps } from '../../activities/deps';
import { errnoCode, permanent } from '../../activities/failures';
import { throttledHeartbeat } from '../../activities/heartbeat';
import { hashFile } from '../../hashing/hash-file';
import { bytesVerified } from '../../metrics';
import { createBeside, resolveInside } from '../../security/paths';
import { restoreRoots } from '../../security/roots';
import { hostIdOf } from '../../security/host-tags';
import { latestSnapshotId } from '../../repository/snapshots';
import { restoreSegment } from './chunked-restore';

/**
 * What a restore reads: the snapshot asked for, else the name's latest, else
 * a backup made before snapshots. Opening the repository here means a missing
 * or wrong key fails the restore before anything is written.
 */
export async function loadManifest(deps: ActivityDeps, asked: string | { name: string; snapshot?: string }): Promise<ManifestSummary> {
  const { name, snapshot: wanted } = typeof asked === 'string' ? { name: asked, snapshot: undefined } : asked;
  const repo = await deps.repository();
  const id = wanted ?? (await latestSnapshotId(repo, name, (id) => deps.snapshots.read(name, id)));
  if (id) {
    const snapshot = await deps.snapshots.read(name, id);
    if (!snapshot) {
      throw permanent('NotFound', `backup "${name}" has no snapshot ${id} in ${deps.store.description}; \`courier snapshots ${name}\` lists them`);
    }
    const partCount = snapshot.layout === 'chunks' ? snapshot.segments.length : (snapshot.object?.parts.length ?? 0);
    return { name, snapshot: id, layout: snapshot.layout, size: snapshot.size, sha256: snapshot.sha256, partCount };
  }
  deps.manifests.forget(name);
  const manifest = await deps.manifests.read(name);
  return { name, layout: 'parts', size: manifest.size, sha256: manifest.sha256, partCount: manifest.parts.length };
}

/** The temp files of one job beside its destination share this prefix; each has a random tail. */
const tempPrefix = (dest: string, jobId: string) =>
  `.${path.basename(dest)}.courier-${createHash('sha256').update(jobId).digest('hex').slice(0, 10)}`;

/** Checks the destination and creates the temp file beside it, at its final size, so parts can land in any order. */
export async function prepareRestore(
  deps: ActivityDeps,
  input: { jobId: string; dest: string; size: number },
): Promise<{ tempPath: string; host: string }> {
  const dest = await resolveInside(input.dest, restoreRoots(deps.config, 'dest'), { mustExist: false });
  try {
    const stat = await fs.stat(path.dirname(dest));
    if (!stat.isDirectory()) throw permanent('BadInput', `destination ${dest}: ${path.dirname(dest)} is not a directory`);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw permanent('BadInput', `destination ${dest}: directory ${path.dirname(dest)} does not exist`);
    throw err;
  }
  const existing = await fs.stat(dest).catch(() => undefined);
  if (existing?.isDirectory()) throw permanent('BadInput', `destination ${dest} is a directory; give a file path`);
  const prefix = tempPrefix(dest, input.jobId);
  try {
    // An earlier attempt's temp file (this job's prefix, a plain file, not a link) goes first.
    for (const name of await fs.readdir(path.dirname(dest))) {
      const earlier = path.join(path.dirname(dest), name);
      if (name.startsWith(`${prefix}-`) && (await fs.lstat(earlier)).isFile()) await fs.rm(earlier, { force: true });
    }
    const { path: tempPath, handle } = await createBeside(dest, prefix.slice(path.basename(dest).length + 2));
    await handle.truncate(input.size);
    await handle.close();
    return { tempPath, host: hostIdOf(deps.config) };
  } catch (err) {
    if (errnoCode(err) === 'EACCES') throw permanent('BadInput', `destination ${dest}: cannot write in ${path.dirname(dest)}: permission denied`);
    throw err;
  }
}

/** Downloads one part into its place in the temp file and checks its sha256 against the manifest. */
export async function restorePart(
  deps: ActivityDeps,
  input: PartRef & { tempPath: string; snapshot?: string; /** A manifest's whole-file sha256 (backups made before snapshots). */ sha256?: string },
): Promise<number> {
  const signal = Context.current().cancellationSignal;
  const snapshot = input.snapshot ? await deps.snapshots.read(input.backup, input.snapshot) : undefined;
  if (input.snapshot && !snapshot) throw permanent('NotFound', `backup "${input.backup}" has no snapshot ${input.snapshot}`);
  if (snapshot?.layout === 'chunks') {
    const size = await restoreSegment(deps, snapshot, input.index, input.tempPath, signal, throttledHeartbeat<number>(1000));
    deps.trailingHashes.written(input.tempPath, snapshot.segments[input.index]!.offset, size);
    bytesVerified.inc(size);
    return size;
  }
  const manifest = snapshot?.object
    ? { layout: 'object' as const, parts: snapshot.object.parts.map((p) => ({ ...p, key: snapshot.object!.key })) }
    : await deps.manifests.read(input.backup, input.sha256);
  const part = manifest.parts[input.index];
  if (!part) throw permanent('Corrupt', `backup ${input.backup} has no part ${input.index} in its manifest`);
  let stream;
  try {
    const range = manifest.layout === 'object' ? { start: part.offset, length: part.size } : undefined;
    stream = await deps.store.get(part.key, { signal, range });
  } catch (err) {
    if (err instanceof ObjectNotFoundError) {
      throw permanent('PartLost', `part ${part.index} of backup ${input.backup} is missing from ${deps.store.description} (${part.key})`);
    }
    throw err;
  }
  const heartbeat = throttledHeartbeat<number>(1000);
  // Never through a link: the temp file is this job's own, created exclusively.
  const handle = await fs.open(input.tempPath, constants.O_RDWR | constants.O_NOFOLLOW);
  let written = 0;
  try {
    for await (const data of stream) {
      const chunk = data as Buffer;
      if (written + chunk.length > part.size) break;
      await handle.write(chunk, 0, chunk.length, part.offset + written);
      written += chunk.length;
      heartbeat(written);
    }
    // On disk before the step reports done: a crash after that cannot lose the part, and the disk writes it while later parts are still fetched.
    await handle.datasync();
  } finally {
    stream.destroy();
    await handle.close();
  }
  // Hashing what landed in the temp file, on a hash thread, checks the bytes the restore will keep and spreads the work over the cores.
  const actual =
    written === part.size
      ? (
          await hashFile(
            { file: input.tempPath, start: part.offset, length: part.size, algorithms: ['sha256'] },
            { signal, threads: deps.chunkThreads },
          )
        ).digests.sha256
      : undefined;
  if (actual !== part.sha256) {
    throw permanent(
      'Corrupt',
      `part ${part.index} of backup ${input.backup} is corrupt in ${deps.store.description} (${part.key}): ` +
        `expected ${part.size} bytes with sha256 ${part.sha256}, read ${written} bytes${written === part.size ? ` with sha256 ${actual}` : ' or more'}`,
    );
  }
  deps.trailingHashes.written(input.tempPath, part.offset, part.size);
  bytesVerified.inc(part.size);
  return part.size;
}

/** Verifies the whole file and renames it into place; if a crash hit after the rename, the target is checked instead. */
export async function finishRestore(deps: ActivityDeps, given: { tempPath: string; dest: string; size: number; sha256: string }): Promise<void> {
  const input = { ...given, dest: await resolveInside(given.dest, restoreRoots(deps.config, 'dest'), { mustExist: false }) };
  const exists = await fs.stat(input.tempPath).then(
    () => true,
    () => false,
  );
  if (!exists && !(await fs.stat(input.dest).catch(() => undefined))) {
    throw permanent('PartLost', `restore of ${input.dest}: the temp file ${input.tempPath} is gone and the target does not exist; restore again`);
  }
  const file = exists ? input.tempPath : input.dest;
  const heartbeat = throttledHeartbeat<number>(1000);
  const handle = await fs.open(file, 'r');
  // Hashed as the segments landed, when this process wrote them all; otherwise read again now.
  const wholeFile = async () => {
    // Asked even when the file was renamed already: asking lets the trail go.
    const trailed = await deps.trailingHashes.digest(input.tempPath, input.size);
    const asWritten = exists && trailed !== undefined;
    const whole = asWritten
      ? { size: (await handle.stat()).size, digests: { sha256: trailed } }
      : await hashFile(
          { file, algorithms: ['sha256'] },
          { threads: deps.chunkThreads, signal: Context.current().cancellationSignal, onProgress: heartbeat },
        );
    log.info('whole file hashed', { file, asWritten });
    return whole;
  };
  try {
    // The flush to disk and the whole-file hash run at the same time.
    const [, whole] = await Promise.all([handle.sync(), wholeFile()]);
    if (whole.size !== input.size || whole.digests.sha256 !== input.sha256) {
      if (exists) await fs.rm(input.tempPath, { force: true });
      throw permanent(
        'Corrupt',
        `restored file ${input.dest} does not match the backup: expected ${input.size} bytes with sha256 ${input.sha256}, got ${whole.size} bytes with sha256 ${whole.digests.sha256}`,
      );
    }
  } finally {
    await handle.close();
  }
  if (!exists) return;
  await fs.rename(input.tempPath, input.dest);
  const dir = await fs.open(path.dirname(input.dest), 'r');
  await dir.sync().finally(() => dir.close());
  log.info('restore complete', { dest: input.dest, bytes: input.size });
}

export async function discardRestore(deps: ActivityDeps, input: { tempPath: string }): Promise<void> {
  deps.trailingHashes.forget(input.tempPath);
  await fs.rm(input.tempPath, { force: true });
}
