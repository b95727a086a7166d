import type { ActivityDeps } from '../../activities/deps';
import type { SmallRestoreInput, SmallRestoreOutcome } from './contract';
import { discardRestore, finishRestore, loadManifest, prepareRestore, restorePart } from './activities';

/**
 * A restore's first step, and for a backup of one part its only one: read
 * the manifest, create the temp file, write and check the part, check the
 * whole file and rename it into place. A retry starts again from a fresh
 * temp file (prepare removes the job's earlier ones), so nothing is written
 * twice into the target. A larger backup comes back with its manifest and
 * temp file, and so does one on a host the job knows is held; the workflow
 * goes on part by part.
 */
export async function restoreIfSmall(deps: ActivityDeps, input: SmallRestoreInput): Promise<SmallRestoreOutcome> {
  const { message } = input;
  const manifest = await loadManifest(deps, { name: message.name, ...(message.snapshot ? { snapshot: message.snapshot } : {}) });
  const { tempPath, host } = await prepareRestore(deps, { jobId: message.id, dest: message.dest, size: manifest.size });
  if (manifest.partCount > 1 || input.heldHosts.includes(host)) return { host, manifest, tempPath, done: false };
  try {
    if (manifest.partCount === 1) {
      await restorePart(deps, {
        backup: message.name,
        index: 0,
        tempPath,
        ...(manifest.snapshot ? { snapshot: manifest.snapshot } : { sha256: manifest.sha256 }),
      });
    }
    await finishRestore(deps, { tempPath, dest: message.dest, size: manifest.size, sha256: manifest.sha256 });
  } catch (err) {
    // The workflow never heard of this temp file: it goes here, and a retry makes a new one.
    await discardRestore(deps, { tempPath });
    throw err;
  }
  return { host, manifest, tempPath, done: true };
}
