import fs from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { submit, waitForJob } from '../../client';
import type { Config } from '../../config';
import { hashFile } from '../../hashing/hash-file';
import type { Logger } from '../../logger';
import { watchInbox, type Inbox } from '../../watch/inbox';
import { moveOutOfWork, moveToWork } from './drop-moves';

/**
 * The directories of a backup drop folder: files dropped into inbox/ are
 * backed up from working/ and end in resolved/ or failed/; moving one from
 * failed/ back into inbox/ retries it.
 */
export function backupDropFolder(root: string) {
  return {
    inbox: path.join(root, 'inbox'),
    working: path.join(root, 'working'),
    resolved: path.join(root, 'resolved'),
    failed: path.join(root, 'failed'),
  };
}

/** Backup names allow letters, digits, ".", "-" and "_"; the content hash keeps different files apart. */
function backupNameFor(file: string, sha256: string): string {
  const base =
    path
      .basename(file)
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^[._]+/, '')
      .slice(0, 150) || 'file';
  return `${base}-${sha256.slice(0, 12)}`;
}

/**
 * Backs up every complete file dropped into <root>/inbox. The job id comes from
 * the content, so the same file dropped twice is one backup; a failed backup's
 * file moved back into the inbox runs again.
 */
export async function watchBackupDrop(root: string, deps: { config: Config; client: Client; logger: Logger }): Promise<Inbox> {
  const dirs = backupDropFolder(root);
  await Promise.all(Object.values(dirs).map((dir) => fs.mkdir(dir, { recursive: true })));
  const log = deps.logger.child({ component: 'watch', root });

  const follow = async (working: string) => {
    const { digests } = await hashFile({ file: working, algorithms: ['sha256'] });
    const sha256 = digests.sha256!;
    const jobId = `backup-drop-${sha256.slice(0, 24)}`;
    await submit(deps.client, deps.config, {
      kind: 'backup',
      id: jobId,
      name: backupNameFor(working, sha256),
      source: working,
      host: deps.config.host,
    });
    log.info({ workflowId: jobId, file: path.basename(working) }, 'dropped file submitted for backup');
    try {
      await waitForJob(deps.client, jobId);
      await moveOutOfWork(working, dirs.working, dirs.resolved);
      log.info({ workflowId: jobId, file: path.basename(working) }, 'backed up; moved to resolved/');
    } catch (err) {
      await moveOutOfWork(working, dirs.working, dirs.failed);
      log.warn(
        { workflowId: jobId, file: path.basename(working), err: (err as Error).message },
        'backup failed; moved to failed/ (move it back into inbox/ to retry)',
      );
    }
  };

  // Files left in working/ by an earlier watcher belong to jobs that may still run: follow them again
  // (in their own directory, or directly in working/ as watchers before those directories left them).
  for (const entry of await fs.readdir(dirs.working, { withFileTypes: true })) {
    const at = path.join(dirs.working, entry.name);
    const files = entry.isDirectory() ? (await fs.readdir(at)).map((name) => path.join(at, name)) : [at];
    if (entry.isDirectory() && files.length === 0) await fs.rmdir(at).catch(() => undefined);
    for (const file of files) {
      void follow(file).catch((err: Error) => log.error({ file, err: err.message }, 'a file left in working/ could not be followed'));
    }
  }
  // Handed over once it is in working/: the inbox is free for the next file (of the same name, too) while the backup runs.
  const take = async (file: string) => {
    const working = await moveToWork(file, dirs.working);
    void follow(working).catch((err: Error) => log.error({ file: working, err: err.message }, 'a dropped file could not be followed'));
  };
  return watchInbox(dirs.inbox, take, {
    stableMs: deps.config.watchStableMs,
    logger: deps.logger,
  });
}
