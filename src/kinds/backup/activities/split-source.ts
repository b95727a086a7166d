import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { Context, log } from '@temporalio/activity';
import type { BackupInput, SourceInfo, SplitSummary } from '../contract';
import { splitProgressSignal } from '../definitions';
import { signalPacer } from './signal-pacer';
import type { ActivityDeps } from '../../../activities/deps';
import { permanent } from '../../../activities/failures';
import { throttledHeartbeat } from '../../../activities/heartbeat';
import { StagingDir, type PartRecord } from '../../../activities/staging';
import { hashFile, type HashResult } from '../../../hashing/hash-file';
import { openInside, resolveInside } from '../../../security/paths';
import { sourceRoots } from '../../../security/roots';

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

/**
 * One pass over the source writes every part into the staging dir with its
 * checksums. A part counts as done once its record exists beside it (written
 * after the part was fsynced), so a retry after a crash checks the finished
 * parts and writes only the rest.
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
  // Every read goes through one descriptor, checked once it is open: a file swapped after prepare cannot be read instead.
  const roots = sourceRoots(deps.config, 'source');
  const { handle, via } = await openInside(await resolveInside(source.path, roots, { mustExist: true }), roots);
  // The whole-file checksums come from a chunk thread that reads the source on its own, beside the split.
  const stopWholeFile = new AbortController();
  const wholeFile = hashFile(
    { file: via, algorithms: withMd5 ? ['sha256', 'md5'] : ['sha256'] },
    { signal: AbortSignal.any([signal, stopWholeFile.signal]), threads: deps.chunkThreads },
  );
  wholeFile.catch(() => undefined);
  try {
    return await splitAlongside(staging, input, withMd5, wholeFile, signal, via);
  } finally {
    stopWholeFile.abort();
    await handle.close();
  }
}

async function splitAlongside(
  staging: StagingDir,
  { jobId, source, settings }: SplitInput,
  withMd5: boolean,
  wholeFile: Promise<HashResult>,
  signal: AbortSignal,
  readPath: string,
): Promise<SplitSummary> {
  const progress = reporter(jobId, source);

  let resumeFrom = 0;
  for (; resumeFrom < source.partCount; resumeFrom++) {
    const record = await staging.readRecord(resumeFrom);
    if (!record) break;
    const onDisk = await staging.partSize(resumeFrom);
    if (onDisk !== undefined && onDisk !== record.size) break;
    // A part already uploaded is gone from staging: its source range must still hash the same.
    const check = await hashFile(
      onDisk === undefined
        ? { file: readPath, start: record.offset, length: record.size, algorithms: ['sha256'] }
        : { file: staging.partPath(resumeFrom), algorithms: ['sha256'] },
      { signal },
    );
    if (check.digests.sha256 !== record.sha256) {
      if (onDisk === undefined) throw sourceChanged(source);
      break;
    }
    progress({ partsDone: resumeFrom + 1, bytesDone: record.offset + record.size });
  }
  if (resumeFrom > 0) log.info('split resumes after verified parts', { partsVerified: resumeFrom });
  if (resumeFrom < source.partCount) {
    await writeParts(staging, source, settings.partSize, resumeFrom, withMd5, progress, signal, readPath);
  }

  const whole = await wholeFile;
  const after = await fs.stat(readPath);
  if (whole.size !== source.size || after.size !== source.size || after.mtimeMs !== source.mtimeMs) throw sourceChanged(source);
  progress({ partsDone: source.partCount, bytesDone: source.size }, true);
  return {
    size: source.size,
    partCount: source.partCount,
    sha256: whole.digests.sha256!,
    ...(whole.digests.md5 ? { md5: whole.digests.md5 } : {}),
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
  progress: (p: SplitProgress, force?: boolean) => void,
  signal: AbortSignal,
  readPath: string,
) {
  const start = first * partSize;
  const stream = createReadStream(readPath, { start, end: source.size - 1, highWaterMark: CHUNK, signal });
  let index = first;
  let partsDone = first;
  let part = await openPart(staging, index, start, withMd5);
  let position = start;
  // A full part is fsynced and recorded while the next one is written; at most one waits for that.
  let finishing: Promise<void> = Promise.resolve();
  for await (const data of stream) {
    let chunk = data as Buffer;
    while (chunk.length > 0) {
      const room = partSize - part.record.size;
      const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
      chunk = chunk.subarray(piece.length);
      await part.write(piece);
      position += piece.length;
      if (part.record.size === partSize || position === source.size) {
        await finishing;
        const full = part;
        finishing = full.finish().then(() => {
          partsDone = full.record.index + 1;
          progress({ partsDone, bytesDone: full.record.offset + full.record.size });
        });
        finishing.catch(() => undefined);
        index += 1;
        if (position < source.size) part = await openPart(staging, index, position, withMd5);
      } else {
        progress({ partsDone, bytesDone: position });
      }
    }
  }
  await finishing;
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
      // The disk write runs on libuv's pool while this thread hashes the same bytes.
      const written = handle.write(bytes);
      sha256.update(bytes);
      md5?.update(bytes);
      await written;
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

/** Heartbeats the resume point and tells the workflow how far the split got, paced by signalPacer. */
function reporter(jobId: string, source: SourceInfo) {
  const heartbeat = throttledHeartbeat<SplitProgress>(1000);
  const { workflowExecution } = Context.current().info;
  const due = signalPacer(source.size);
  return (progress: SplitProgress, force = false) => {
    heartbeat(progress, force);
    if (!due(progress.bytesDone, Date.now(), force)) return;
    Context.current()
      .client.workflow.getHandle(jobId, workflowExecution?.runId)
      .signal(splitProgressSignal, { ...progress, partsTotal: source.partCount })
      .catch((err: Error) => log.warn('could not report split progress', { error: err.message }));
  };
}
