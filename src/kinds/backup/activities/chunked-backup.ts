import { Readable } from 'node:stream';
import { Context, log } from '@temporalio/activity';
import type { BackupInput, SegmentRef, SegmentResult, SourceInfo, WholeFile } from '../contract';
import type { ActivityDeps } from '../../../activities/deps';
import { permanent } from '../../../activities/failures';
import { heartbeatWhile, throttledHeartbeat } from '../../../activities/heartbeat';
import { inChunkRangeTurn } from '../../../activities/turns';
import { hashFile } from '../../../hashing/hash-file';
import { bytesUploaded, bytesVerified } from '../../../metrics';
import { repoKeys } from '../../../repository/layout';
import { PackWriter } from '../../../repository/pack-writer';
import { putSnapshot, writeList, type Snapshot } from '../../../repository/snapshots';
import { storeRange } from '../../../repository/store-range';
import { openInside, resolveInside } from '../../../security/paths';
import { sourceRoots } from '../../../security/roots';

function sourceChanged(source: SourceInfo) {
  return permanent(
    'SourceChanged',
    `source ${source.path} changed while it was being backed up (was ${source.size} bytes); back it up again once it is stable`,
  );
}

/** Opens the source through one checked descriptor and makes sure it is still the file prepare saw. */
async function openSource(deps: ActivityDeps, source: SourceInfo) {
  const roots = sourceRoots(deps.config, 'source');
  const opened = await openInside(await resolveInside(source.path, roots, { mustExist: true }), roots);
  const stat = await opened.handle.stat();
  if (stat.size !== source.size || stat.mtimeMs !== source.mtimeMs) {
    await opened.handle.close();
    throw sourceChanged(source);
  }
  return opened;
}

/** A backup that keeps no staging marks itself pending first, so a prune running meanwhile spares what it relies on. */
export async function markPending(deps: ActivityDeps, input: { jobId: string; snapshotId: string; startedAt: string }): Promise<void> {
  const repo = await deps.repository();
  await repo.store.put(repoKeys.pending(input.jobId), Readable.from([Buffer.from(JSON.stringify(input))]));
}

export async function clearPending(deps: ActivityDeps, input: { jobId: string }): Promise<void> {
  await deps.store.delete(repoKeys.pending(input.jobId));
}

/**
 * One segment of the source: cut into chunks by content, each chunk the
 * repository lacks sealed into packs and stored, the segment's chunk list
 * stored under its own id. A retry after a crash finds the packs already
 * stored in the index and sends only what is missing.
 */
export async function backupSegment(deps: ActivityDeps, ref: SegmentRef): Promise<SegmentResult> {
  const { source } = ref;
  const heartbeat = throttledHeartbeat<number>(1000);
  const repo = await deps.repository();
  // Tables listed in the last few seconds will do for a first attempt (one missed costs a chunk sent twice); prune's marks
  // are read afresh. A retry lists afresh too: the attempt before it, on a worker that died, may have stored this very
  // segment's packs moments ago, after this worker's last listing.
  const maxAgeMs = Context.current().info.attempt > 1 ? 0 : 5000;
  const index = await heartbeatWhile(0, () => deps.packIndex.refresh(repo, maxAgeMs));
  const signal = Context.current().cancellationSignal;
  const offset = ref.index * ref.segmentSize;
  const end = Math.min(source.size, offset + ref.segmentSize);
  const { handle } = await openSource(deps, source);
  const writer = new PackWriter(repo, index, signal, deps.chunkThreads.pool);
  try {
    const list = await inChunkRangeTurn(deps, () =>
      storeRange({ threads: deps.chunkThreads, recipe: repo.recipe, fd: handle.fd, start: offset, end, writer, signal, onProgress: heartbeat }),
    ).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'SourceShort' ? sourceChanged(source) : err;
    });
    const stats = await writer.finish();
    const after = await handle.stat();
    if (after.size !== source.size || after.mtimeMs !== source.mtimeMs) throw sourceChanged(source);
    const listId = await writeList(repo, { chunks: list }, ref.snapshotId);
    // The source bytes this segment sent: what a dashboard compares with file sizes (the packs add a few bytes of framing).
    bytesUploaded.inc(stats.bytesNew);
    bytesVerified.inc(stats.bytesNew);
    return { index: ref.index, offset, size: end - offset, list: listId, chunks: list.length, ...stats };
  } catch (err) {
    writer.abandon();
    throw err;
  } finally {
    await handle.close();
  }
}

/** The source's whole-file checksums, read once on the chunk threads between the segments' windows: restores are checked against them. */
export async function hashSource(deps: ActivityDeps, input: { source: SourceInfo; md5: boolean }): Promise<WholeFile> {
  const { handle, via } = await openSource(deps, input.source);
  const heartbeat = throttledHeartbeat<number>(1000);
  try {
    const whole = await hashFile(
      { file: via, algorithms: input.md5 ? ['sha256', 'md5'] : ['sha256'] },
      { threads: deps.chunkThreads, signal: Context.current().cancellationSignal, onProgress: heartbeat },
    );
    const after = await handle.stat();
    if (whole.size !== input.source.size || after.mtimeMs !== input.source.mtimeMs) throw sourceChanged(input.source);
    return { sha256: whole.digests.sha256!, ...(whole.digests.md5 ? { md5: whole.digests.md5 } : {}) };
  } finally {
    await handle.close();
  }
}

export interface SnapshotInput {
  jobId: string;
  message: BackupInput['message'];
  source: SourceInfo;
  snapshotId: string;
  startedAt: string;
  segmentSize: number;
  segments: SegmentResult[];
  whole: WholeFile;
}

/** The snapshot: written once, never changed; a retry finds it and returns it. The pending mark goes after. */
export async function writeSnapshot(deps: ActivityDeps, input: SnapshotInput): Promise<Snapshot> {
  const repo = await deps.repository();
  const segments = [...input.segments].sort((a, b) => a.index - b.index);
  segments.forEach((segment, i) => {
    if (segment.index !== i)
      throw permanent('PartLost', `segment ${i} of backup ${input.message.name} has no result; the job cannot write its snapshot`);
  });
  const { snapshot } = await putSnapshot(repo, {
    version: 2,
    id: input.snapshotId,
    name: input.message.name,
    jobId: input.jobId,
    ...(input.source.host ? { host: input.source.host } : {}),
    source: input.source.path,
    size: input.source.size,
    sha256: input.whole.sha256,
    ...(input.whole.md5 ? { md5: input.whole.md5 } : {}),
    startedAt: input.startedAt,
    time: new Date().toISOString(),
    message: input.message,
    layout: 'chunks',
    segments: segments.map((s) => ({ offset: s.offset, size: s.size, list: s.list })),
    stats: {
      chunks: segments.reduce((n, s) => n + s.chunks, 0),
      newChunks: segments.reduce((n, s) => n + s.newChunks, 0),
      bytesNew: segments.reduce((n, s) => n + s.bytesNew, 0),
      bytesStored: segments.reduce((n, s) => n + s.bytesStored, 0),
    },
  });
  await deps.store.delete(repoKeys.pending(input.jobId));
  log.info('snapshot written', { name: snapshot.name, snapshot: snapshot.id, bytesStored: snapshot.stats.bytesStored });
  return snapshot;
}
