import type { ActivityDeps } from '../../../activities/deps';
import { heartbeatWhile } from '../../../activities/heartbeat';
import type { SmallBackupInput, SmallBackupOutcome } from '../contract';
import { backupSegment, hashSource, markPending, writeSnapshot } from './chunked-backup';
import { prepareBackup } from './prepare-backup';

/**
 * A chunked backup's first step, and for a source that fits in one segment
 * its only one: prepare, mark pending, store the segment, hash the file and
 * write the snapshot, so a small job costs one activity instead of five.
 * Each part is idempotent as before (the snapshot id comes from the
 * workflow), so a retry after a crash redoes only what is missing. A larger
 * source, or one on a host the job knows is held, comes back prepared and
 * marked pending, and the workflow goes on step by step.
 */
export async function backupIfSmall(deps: ActivityDeps, input: SmallBackupInput): Promise<SmallBackupOutcome> {
  const { jobId, snapshotId, startedAt, backup, heldHosts } = input;
  // Opening the repository the first time may take longer than a heartbeat timeout.
  const source = await heartbeatWhile(0, async () => {
    const prepared = await prepareBackup(deps, backup);
    await markPending(deps, { jobId, snapshotId, startedAt });
    return prepared;
  });
  if (source.partCount > 1 || (source.host && heldHosts.includes(source.host))) return { host: source.host, source };
  const segmentSize = backup.settings.partSize;
  const segments =
    source.partCount === 1 ? [await backupSegment(deps, { jobId, name: backup.message.name, snapshotId, source, index: 0, segmentSize })] : [];
  const whole = await hashSource(deps, { source, md5: backup.settings.checksums === 'sha256+md5' });
  const snapshot = await writeSnapshot(deps, { jobId, message: backup.message, source, snapshotId, startedAt, segmentSize, segments, whole });
  return { host: source.host, source, done: { segments, whole, snapshot } };
}
