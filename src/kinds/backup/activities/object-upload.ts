import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Context, log } from '@temporalio/activity';
import type { ObjectPartRef, PartResult, SourceInfo } from '../contract';
import { objectKey } from '../../../jobs/keys';
import { bytesUploaded, bytesVerified } from '../../../metrics';
import { StoreError, supportsMultipart, type MultipartStore, type ObjectStore, type UploadedPart } from '../../../stores';
import type { ActivityDeps } from '../../../activities/deps';
import { permanent } from '../../../activities/failures';
import { throttledHeartbeat } from '../../../activities/heartbeat';
import { StagingDir } from '../../../activities/staging';

const MiB = 1024 * 1024;
/** S3's multipart limits. */
export const MULTIPART = { minPartSize: 5 * MiB, maxPartSize: 5 * 1024 * MiB, maxParts: 10_000 };

function multipart(store: ObjectStore): ObjectStore & MultipartStore {
  if (!supportsMultipart(store))
    throw permanent('NotConfigured', `the object layout needs a store with multipart uploads; ${store.description} has none`);
  return store;
}

/** Refuses part sizes S3 cannot assemble, naming the limit and a part size that fits. */
export function checkObjectLayout(source: SourceInfo, partSize: number): void {
  if (source.partCount > 1 && partSize < MULTIPART.minPartSize) {
    throw permanent(
      'BadInput',
      `part size ${partSize} is below S3's 5 MiB multipart minimum; use COURIER_PART_SIZE=5MiB or more for the object layout`,
    );
  }
  if (source.partCount > MULTIPART.maxParts) {
    const fits = Math.ceil(source.size / MULTIPART.maxParts / MiB);
    throw permanent(
      'BadInput',
      `${source.path} would need ${source.partCount} parts, above S3's limit of 10,000; use a part size of at least ${fits}MiB`,
    );
  }
}

export async function startObjectUpload(deps: ActivityDeps, input: { backup: string; key?: string }): Promise<string> {
  return multipart(deps.store).startMultipart(input.key ?? objectKey(input.backup));
}

/**
 * Uploads one part of the object. A part the upload already holds with the
 * right checksum is not sent again. A part no longer staged (uploaded before
 * an aborted attempt) is re-read from its source range; the server checks its sha256.
 */
export async function uploadObjectPart(deps: ActivityDeps, ref: ObjectPartRef): Promise<PartResult> {
  const store = multipart(deps.store);
  const key = ref.key ?? objectKey(ref.backup);
  const staging = new StagingDir(deps.config.stagingDir, ref.backup);
  const record = await staging.readRecord(ref.index);
  if (!record) throw permanent('PartLost', `part ${ref.index} of backup ${ref.backup} has no record in ${staging.dir}; the split did not finish it`);
  const partNumber = ref.index + 1;
  const held = await store.findPart(key, ref.uploadId, partNumber);
  if (held && held.size === record.size && held.sha256 === record.sha256) {
    await fs.rm(staging.partPath(ref.index), { force: true });
    return { index: ref.index, size: record.size, uploaded: false };
  }
  const staged = (await staging.partSize(ref.index)) !== undefined;
  const request = await staging.readRequest();
  if (!staged && !request) {
    throw permanent(
      'PartLost',
      `part ${ref.index} of backup ${ref.backup} is lost: not staged, not in the upload, and the staging request naming its source is gone`,
    );
  }
  const bytes = staged
    ? { file: staging.partPath(ref.index), length: record.size }
    : { file: request!.source, start: record.offset, length: record.size };
  const heartbeat = throttledHeartbeat<number>(1000);
  const uploaded = await store.uploadPart(key, ref.uploadId, partNumber, bytes, {
    sha256: record.sha256,
    md5: record.md5,
    signal: Context.current().cancellationSignal,
    onProgress: (sent) => heartbeat(sent),
  });
  if (uploaded.sha256 !== undefined && uploaded.sha256 !== record.sha256) {
    throw permanent(
      'Corrupt',
      `part ${ref.index} of backup ${ref.backup}: ${store.description} reports sha256 ${uploaded.sha256}, expected ${record.sha256} from the split`,
    );
  }
  bytesUploaded.inc(record.size);
  // The server checked the part's sha256 before accepting it.
  bytesVerified.inc(record.size);
  await fs.rm(staging.partPath(ref.index), { force: true });
  return { index: ref.index, size: record.size, uploaded: true };
}

/** S3's checksum of a multipart object: the sha256 of the parts' binary sha256s, then "-<count>". */
export function compositeSha256(partSha256s: string[]): string {
  const hash = createHash('sha256');
  for (const hex of partSha256s) hash.update(Buffer.from(hex, 'hex'));
  return `${hash.digest('base64')}-${partSha256s.length}`;
}

/**
 * Whether the object is the one these staged parts make: its size, and its
 * composite checksum where the server reports one; where it does not, every
 * part's range is read back and hashed, so the answer never rests on what
 * courier itself wrote beside the object.
 */
async function assembledEarlier(store: ObjectStore, key: string, size: number, staging: StagingDir, partCount: number): Promise<boolean> {
  const object = await store.head(key);
  if (!object || object.size !== size) return false;
  const records = [];
  for (let index = 0; index < partCount; index++) {
    const record = await staging.readRecord(index);
    if (!record) return false;
    records.push(record);
  }
  if (object.compositeSha256) return object.compositeSha256 === compositeSha256(records.map((r) => r.sha256));
  let start = 0;
  for (const record of records) {
    const hash = createHash('sha256');
    for await (const chunk of await store.get(key, { range: { start, length: record.size } })) hash.update(chunk as Buffer);
    if (hash.digest('hex') !== record.sha256) return false;
    start += record.size;
    Context.current().heartbeat();
  }
  return true;
}

/** Checks that the upload holds every part with its recorded checksum, assembles the object and checks its composite checksum. */
export async function completeObjectUpload(
  deps: ActivityDeps,
  input: { backup: string; key?: string; uploadId?: string; partCount: number; size: number },
): Promise<string> {
  const store = multipart(deps.store);
  const key = input.key ?? objectKey(input.backup);
  const staging = new StagingDir(deps.config.stagingDir, input.backup);
  let listed: UploadedPart[] = [];
  try {
    if (input.uploadId) listed = await store.listParts(key, input.uploadId);
  } catch (err) {
    // A worker that died after the server assembled the object finds the upload gone: the object it made is the answer.
    if (err instanceof StoreError && err.reason === 'PartLost' && (await assembledEarlier(store, key, input.size, staging, input.partCount))) {
      log.info('object already assembled by an earlier attempt', { key, parts: input.partCount });
      return key;
    }
    throw err;
  }
  const held = new Map(listed.map((part) => [part.partNumber, part]));
  const parts: UploadedPart[] = [];
  const sums: string[] = [];
  for (let index = 0; index < input.partCount; index++) {
    const record = await staging.readRecord(index);
    const part = held.get(index + 1);
    if (!record || !part || part.size !== record.size || (part.sha256 && part.sha256 !== record.sha256)) {
      throw new Error(`part ${index} of backup ${input.backup} is missing or differs in upload ${input.uploadId}; will retry`);
    }
    parts.push({ ...part, sha256: record.sha256 });
    sums.push(record.sha256);
  }
  if (input.partCount === 0) {
    // S3 cannot assemble zero parts, so an empty file is a plain empty object.
    await store.put(key, Readable.from([]), { expectedSize: 0 });
    return key;
  }
  const done = await store.completeMultipart(key, input.uploadId!, parts);
  if (done.size !== undefined && done.size !== input.size) {
    throw permanent('Corrupt', `the assembled object ${key} has ${done.size} bytes, expected ${input.size}`);
  }
  const expected = compositeSha256(sums);
  if (done.compositeSha256 && done.compositeSha256 !== expected) {
    throw permanent('Corrupt', `the assembled object ${key} has checksum ${done.compositeSha256}, expected ${expected}`);
  }
  log.info('object assembled', { key, parts: input.partCount, checksum: done.compositeSha256 ?? '(not reported)' });
  return key;
}

/** Drops a multipart upload and every part it holds, so nothing is orphaned on the server. */
export async function abortObjectUpload(deps: ActivityDeps, input: { backup: string; key?: string; uploadId: string }): Promise<void> {
  await multipart(deps.store).abortMultipart(input.key ?? objectKey(input.backup), input.uploadId);
}
