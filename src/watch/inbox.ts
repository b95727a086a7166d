import fs from 'node:fs/promises';
import path from 'node:path';
import type { FSWatcher } from 'chokidar';
import type { Logger } from '../logger';

/**
 * Whether any process on this machine holds the file open for writing (Linux
 * /proc). A writer that pauses longer than the stability window still holds
 * its descriptor, so this catches what a size check alone would miss.
 */
export async function openForWriting(file: string): Promise<boolean> {
  const pids = await fs.readdir('/proc').catch(() => [] as string[]);
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue;
    const fds = await fs.readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (target !== file) continue;
      const info = await fs.readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => '');
      const flags = /^flags:\s*([0-7]+)/m.exec(info);
      // O_ACCMODE: 1 is O_WRONLY, 2 is O_RDWR.
      if (flags && (parseInt(flags[1], 8) & 3) !== 0) return true;
    }
  }
  return false;
}

export interface InboxOptions {
  /** How long a file's size must stay unchanged before it counts as complete. */
  stableMs: number;
  logger: Logger;
}

export interface Inbox {
  close(): Promise<void>;
}

/**
 * Calls `take` once for every complete file in `dir`: present at start or
 * dropped later, its size stable for `stableMs` and no writer holding it open.
 * Hidden files and names ending in .part, .tmp or ~ are in-progress uploads and wait.
 */
export async function watchInbox(dir: string, take: (file: string) => Promise<void>, options: InboxOptions): Promise<Inbox> {
  await fs.mkdir(dir, { recursive: true });
  const inbox = path.resolve(dir);
  const log = options.logger.child({ component: 'watch', inbox });
  const waitingForWriter = new Set<string>();

  const hand = async (file: string) => {
    while (await openForWriting(file)) {
      if (!waitingForWriter.has(file)) log.info({ file: path.basename(file) }, 'a writer still holds the file open; waiting for it to close');
      waitingForWriter.add(file);
      await new Promise((resolve) => setTimeout(resolve, options.stableMs));
    }
    waitingForWriter.delete(file);
    if (
      !(await fs.stat(file).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      return;
    await take(file);
  };
  // Paths being handed over now: a file is handed once, however many events name it.
  const handing = new Set<string>();
  const track = (file: string) => {
    if (handing.has(file)) return;
    handing.add(file);
    void hand(file)
      .catch((err: Error) =>
        log.error({ file: path.basename(file), err: err.message }, 'a dropped file could not be handed over; it stays in the inbox'),
      )
      .finally(() => handing.delete(file));
  };

  // Loaded here, not with every process that imports the CLI: only a watching one needs it.
  const { watch } = await import('chokidar');
  const watcher: FSWatcher = watch(inbox, {
    depth: 0,
    ignored: (file) => {
      const base = path.basename(file);
      return file !== inbox && (base.startsWith('.') || /(\.part|\.tmp|~)$/.test(base));
    },
    awaitWriteFinish: { stabilityThreshold: options.stableMs, pollInterval: Math.max(50, Math.floor(options.stableMs / 4)) },
  });
  watcher.on('add', (file) => track(path.resolve(file)));
  // A file dropped under the name of one just taken can reach the watcher before the taking did: it is news as a change.
  watcher.on('change', (file) => track(path.resolve(file)));
  watcher.on('error', (err) => log.error({ err: (err as Error).message }, 'watching the inbox failed'));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  log.info({ stableMs: options.stableMs }, 'watching for dropped files');
  return { close: () => watcher.close() };
}
