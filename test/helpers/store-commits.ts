import { watch } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { partKey } from '../../src/jobs/keys';

export interface PartCommits {
  /** Part index → how many times its metadata file appeared in or left the store's meta directory. */
  counts(): Map<number, number>;
  /** Errors the watcher reported; a watcher that failed has not counted everything. */
  readonly errors: Error[];
  close(): void;
}

/**
 * Counts, from outside every worker process, how often the fs store commits
 * each part of one backup. The fs store ends every commit by renaming a new
 * metadata file to meta/<part key>.json, and a commit over an existing object
 * first removes the old metadata; inotify reports both to this process,
 * whichever process did them. So a part stored once is seen exactly once, and
 * a part stored a second time is seen more than once, although the store still
 * holds one object under its fixed key. The directory is created here so the
 * watch is in place before the first commit.
 */
export async function watchPartCommits(storeDir: string, backup: string): Promise<PartCommits> {
  const dir = path.join(storeDir, 'meta', path.posix.dirname(partKey(backup, 0)));
  await fs.mkdir(dir, { recursive: true });
  const seen = new Map<number, number>();
  const errors: Error[] = [];
  const watcher = watch(dir, (_event, name) => {
    const match = /^(\d+)\.json$/.exec(String(name ?? ''));
    if (!match) return;
    const index = Number(match[1]);
    seen.set(index, (seen.get(index) ?? 0) + 1);
  });
  watcher.on('error', (err) => errors.push(err));
  // A test that fails before close() must not keep its process alive.
  watcher.unref();
  return {
    counts: () => new Map(seen),
    errors,
    close: () => watcher.close(),
  };
}
