import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { Context, log } from '@temporalio/activity';
import type { BackupInput, SourceInfo, SplitSummary } from '../jobs';
import { SIGNALS } from '../jobs';
import type { ActivityDeps } from './deps';
import { permanent } from './failures';
import { throttledHeartbeat } from './heartbeat';
import { StagingDir, type PartRecord } from './staging';

const CHUNK = 4 * 1024 * 1024;

export interface SplitInput {
  jobId: string;
  message: BackupInput['message'];
  settings: BackupInput['settings'];
  source: SourceInfo;
}

export interface SplitProgress {
  partsDone: number;
  bytesDone: number;
}

/** Feeds a byte range of a file into hashes, for parts whose bytes must be re-read on resume. */
async function hashFileRange(file: string, start: number, size: number, hashes: Hash[], signal: AbortSignal) {
  if (size === 0) return;
  const stream = createReadStream(file, { start, end: start + size - 1, highWaterMark: CHUNK, signal });
  for await (const chunk of stream) for (const hash of hashes) hash.update(chunk as Buffer);
}

/**
 * One pass over the source writes every part into the staging dir with its
 * checksums. A part counts as done once its record exists beside it (written
 * after the part was fsynced), so a retry after a crash re-reads and checks the
 * finished parts, to rebuild the whole-file hash, and writes only the rest.
 */
export async function splitSource(deps: ActivityDeps, input: SplitInput): Promise<SplitSummary> {
  const { jobId, message, settings, source } = input;
  const signal = Context.current().cancellationSignal;
  const staging = new StagingDir(deps.config.stagingDir, message.name);
  await fs.mkdir(staging.dir, { recursive: true });
  const request = await staging.readRequest();
  if (request && request.jobId !== jobId) {
    throw permanent(
      'StagingBusy',
      `staging dir ${staging.dir} holds parts of job ${request.jobId} (source ${request.source}); ` +
        `let that job finish, or remove the dir if that job is gone for good, then retry`,
    );
  }
  if (!request) {
    await staging.writeRequest({
      jobId,
      name: message.name,
      source: source.path,
      partSize: settings.partSize,
      checksums: settings.checksums,
    });
  }

  const withMd5 = settings.checksums === 'sha256+md5';
  const whole = createHash('sha256');
  const wholeMd5 = withMd5 ? createHash('md5') : undefined;
  const wholeHashes = wholeMd5 ? [whole, wholeMd5] : [whole];
  const progress = reporter(jobId, source);

  let resumeFrom = 0;
  for (; resumeFrom < source.partCount; resumeFrom++) {
    const record = await staging.readRecord(resumeFrom);
    if (!record) break;
    const onDisk = await staging.partSize(resumeFrom);
    if (onDisk !== undefined && onDisk !== record.size) break;
    const check = createHash('sha256');
    const file = onDisk === undefined ? source.path : staging.partPath(resumeFrom);
    await hashFileRange(file, onDisk === undefined ? record.offset : 0, record.size, [check, ...wholeHashes], signal);
    if (check.digest('hex') !== record.sha256) {
      if (onDisk === undefined) throw sourceChanged(source);
      break;
    }
    progress({ partsDone: resumeFrom + 1, bytesDone: record.offset + record.size });
  }
  if (resumeFrom > 0) log.info('split resumes after verified parts', { partsVerified: resumeFrom });
  // The whole-file hashes already hold the verified prefix; a part that failed its check is rewritten.
  if (resumeFrom < source.partCount) {
    await writeParts(staging, source, settings.partSize, resumeFrom, withMd5, wholeHashes, progress, signal);
  }

  const after = await fs.stat(source.path);
  if (after.size !== source.size || after.mtimeMs !== source.mtimeMs) throw sourceChanged(source);
  progress({ partsDone: source.partCount, bytesDone: source.size }, true);
  return {
    size: source.size,
    partCount: source.partCount,
    sha256: whole.digest('hex'),
    ...(wholeMd5 ? { md5: wholeMd5.digest('hex') } : {}),
    partsReused: resumeFrom,
  };
}

function sourceChanged(source: SourceInfo) {
  return permanent(
    'SourceChanged',
    `source ${source.path} changed while it was being backed up (was ${source.size} bytes); back it up again once it is stable`,
  );
}

async function writeParts(
  staging: StagingDir,
  source: SourceInfo,
  partSize: number,
  first: number,
  withMd5: boolean,
  wholeHashes: Hash[],
  progress: (p: SplitProgress, force?: boolean) => void,
  signal: AbortSignal,
) {
  const start = first * partSize;
  const stream = createReadStream(source.path, { start, end: source.size - 1, highWaterMark: CHUNK, signal });
  let index = first;
  let part = await openPart(staging, index, start, withMd5);
  let position = start;
  for await (const data of stream) {
    let chunk = data as Buffer;
    for (const hash of wholeHashes) hash.update(chunk);
    while (chunk.length > 0) {
      const room = partSize - part.record.size;
      const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
      chunk = chunk.subarray(piece.length);
      await part.write(piece);
      position += piece.length;
      if (part.record.size === partSize || position === source.size) {
        await part.finish();
        progress({ partsDone: index + 1, bytesDone: position });
        index += 1;
        if (position < source.size) part = await openPart(staging, index, position, withMd5);
      } else {
        progress({ partsDone: index, bytesDone: position });
      }
    }
  }
  if (position !== source.size) {
    throw permanent('SourceChanged', `source ${source.path} ended at byte ${position}, expected ${source.size}; it changed during the backup`);
  }
}

async function openPart(staging: StagingDir, index: number, offset: number, withMd5: boolean) {
  const finalPath = staging.partPath(index);
  const tmpPath = `${finalPath}.tmp`;
  const handle = await fs.open(tmpPath, 'w');
  const sha256 = createHash('sha256');
  const md5 = withMd5 ? createHash('md5') : undefined;
  const record: PartRecord = { index, offset, size: 0, sha256: '' };
  return {
    record,
    async write(bytes: Buffer) {
      sha256.update(bytes);
      md5?.update(bytes);
      await handle.write(bytes);
      record.size += bytes.length;
    },
    async finish() {
      await handle.sync();
      await handle.close();
      await fs.rename(tmpPath, finalPath);
      record.sha256 = sha256.digest('hex');
      if (md5) record.md5 = md5.digest('hex');
      await staging.writeRecord(record);
    },
  };
}

/** Heartbeats the resume point and tells the workflow, at most once a second, how far the split got. */
function reporter(jobId: string, source: SourceInfo) {
  const heartbeat = throttledHeartbeat<SplitProgress>(1000);
  const { workflowExecution } = Context.current().info;
  let lastSignal = 0;
  return (progress: SplitProgress, force = false) => {
    heartbeat(progress, force);
    const now = Date.now();
    if (!force && now - lastSignal < 1000) return;
    lastSignal = now;
    Context.current()
      .client.workflow.getHandle(jobId, workflowExecution?.runId)
      .signal(SIGNALS.splitProgress, { ...progress, partsTotal: source.partCount })
      .catch((err: Error) => log.warn('could not report split progress', { error: err.message }));
  };
}
