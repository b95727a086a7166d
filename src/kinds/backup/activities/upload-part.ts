import fs from 'node:fs/promises';
import { Context, log } from '@temporalio/activity';
import type { PartRef, PartResult } from '../contract';
import { partKey } from '../../../jobs/keys';
import { bytesUploaded, bytesVerified } from '../../../metrics';
import { ChecksumMismatchError, type ObjectInfo } from '../../../stores';
import type { ActivityDeps } from '../../../activities/deps';
import { permanent } from '../../../activities/failures';
import { throttledHeartbeat } from '../../../activities/heartbeat';
import { StagingDir, type PartRecord } from '../../../activities/staging';

function matches(info: ObjectInfo | undefined, record: PartRecord): boolean {
  return info !== undefined && info.size === record.size && info.sha256 === record.sha256 && (!record.md5 || info.md5 === record.md5);
}

/**
 * Uploads one staged part, verifies the checksum the store reports, and only
 * then deletes the local copy. A part the store already holds with the split's
 * checksum is not sent again. A part that is no longer on disk must already be
 * in the store, verified; otherwise it is lost and the job fails naming it.
 */
export async function uploadPart(deps: ActivityDeps, ref: PartRef): Promise<PartResult> {
  const { store } = deps;
  const staging = new StagingDir(deps.config.stagingDir, ref.backup);
  const key = partKey(ref.backup, ref.index);
  const record = await staging.readRecord(ref.index);
  if (!record) {
    throw permanent('PartLost', `part ${ref.index} of backup ${ref.backup} has no record in ${staging.dir}; the split did not finish it`);
  }
  const onDisk = await staging.partSize(ref.index);
  // Verified in the store already (an attempt that died after the upload, or another host before this one took
  // the job over): not sent again. A first attempt of a job that lost no host skips the question.
  const mayBeStored = onDisk === undefined || ref.mayBeStored || Context.current().info.attempt > 1;
  if (mayBeStored && matches(await store.checksums(key, { signal: Context.current().cancellationSignal }), record)) {
    await fs.rm(staging.partPath(ref.index), { force: true });
    return { index: ref.index, size: record.size, uploaded: false };
  }
  if (onDisk === undefined) {
    throw permanent(
      'PartLost',
      `part ${ref.index} of backup ${ref.backup} is lost: not in ${staging.dir} and ${store.description} has no verified copy (${key}); back the file up again`,
    );
  }
  const heartbeat = throttledHeartbeat<number>(1000);
  try {
    await store.putFile(key, staging.partPath(ref.index), {
      expectedSha256: record.sha256,
      expectedSize: record.size,
      expectedMd5: record.md5,
      md5: record.md5 !== undefined,
      onProgress: (bytes) => heartbeat(bytes),
      signal: Context.current().cancellationSignal,
    });
  } catch (err) {
    if (err instanceof ChecksumMismatchError) {
      // The staged bytes no longer match what split recorded; the retry re-reads them, and the source stays untouched.
      log.warn('store rejected part: checksum mismatch', { part: ref.index, error: err.message });
    }
    throw err;
  }
  const stored = await store.checksums(key, { signal: Context.current().cancellationSignal });
  if (!matches(stored, record)) {
    // The store accepted bytes it now reports differently: retrying cannot make that right; the local part is kept.
    throw permanent(
      'Corrupt',
      `part ${ref.index} of backup ${ref.backup}: ${store.description} reports ${stored ? `sha256 ${stored.sha256}, ${stored.size} bytes` : 'no object'} after upload, expected sha256 ${record.sha256} from the split`,
    );
  }
  bytesUploaded.inc(record.size);
  bytesVerified.inc(record.size);
  await fs.rm(staging.partPath(ref.index), { force: true });
  return { index: ref.index, size: record.size, uploaded: true };
}
