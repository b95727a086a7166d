import fs from 'node:fs/promises';
import path from 'node:path';
import { log } from '@temporalio/activity';
import { ATTENTION_DIRS, RESOLVED_DIRS } from '../layout';
import type { ActivityDeps } from '../../../activities/deps';
import { heartbeatWhile } from '../../../activities/heartbeat';

async function filesIn(root: string, dir: string): Promise<string[]> {
  const entries = await fs.readdir(path.join(root, dir), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && !e.name.endsWith('.tmp')).map((e) => path.posix.join(dir, e.name));
}

/** The stage directories that hold a location's failed batches: L/<location>/failed. */
async function locationFailedDirs(root: string): Promise<string[]> {
  const entries = await fs.readdir(path.join(root, 'L'), { withFileTypes: true }).catch(() => []);
  const dirs = [];
  for (const entry of entries) {
    if (entry.isDirectory() && (await fs.stat(path.join(root, 'L', entry.name, 'failed')).catch(() => undefined))?.isDirectory())
      dirs.push(`L/${entry.name}/failed`);
  }
  return dirs.filter((dir) => !ATTENTION_DIRS.includes(dir as never));
}

export interface ArchiveOutcome {
  /** The archive built, relative to the ETL root; absent when nothing was resolved. */
  archive?: string;
  files: number;
  bytes: number;
}

/** Loaded when archiving, not with the worker: most workers never archive. */
const loadTar = () => import('tar');

/** What an archive holds: each entry's path and size. */
async function entriesOf(archive: string): Promise<Map<string, number>> {
  const entries = new Map<string, number>();
  const tar = await loadTar();
  await tar.list({ file: archive, onReadEntry: (entry) => entries.set(entry.path, entry.size ?? 0) });
  return entries;
}

/** Removes the archived files that still have their archived size; returns the bytes archived. */
async function removeArchived(root: string, entries: Map<string, number>): Promise<number> {
  let bytes = 0;
  for (const [file, size] of entries) {
    bytes += size;
    const now = await fs.stat(path.join(root, file)).catch(() => undefined);
    if (now?.size === size) await fs.rm(path.join(root, file), { force: true });
  }
  return bytes;
}

/**
 * Packs every file of the resolved directories into a dated tar.gz under
 * archive/, reads the archive back to check it holds each file at its size,
 * and only then removes the files. The name comes from the run, so a retry
 * after a crash finds the archive it already verified and finishes the removal
 * instead of packing the same files again.
 */
export async function archiveResolved(deps: ActivityDeps, input: { runId: string; startedAt: string }): Promise<ArchiveOutcome> {
  const root = deps.config.etl.root;
  const stamp = input.startedAt.replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
  const name = `archive/resolved-${stamp}-${input.runId.slice(0, 8)}.tar.gz`;
  const target = path.join(root, name);
  return heartbeatWhile({ archive: name }, async () => {
    if (
      await fs.stat(target).then(
        () => true,
        () => false,
      )
    ) {
      const entries = await entriesOf(target);
      const bytes = await removeArchived(root, entries);
      return { archive: name, files: entries.size, bytes };
    }
    const files = (await Promise.all(RESOLVED_DIRS.map((dir) => filesIn(root, dir)))).flat();
    if (files.length === 0) return { files: 0, bytes: 0 };
    const sizes = new Map<string, number>();
    for (const file of files) sizes.set(file, (await fs.stat(path.join(root, file))).size);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await (await loadTar()).create({ gzip: true, cwd: root, file: `${target}.tmp`, portable: true }, files);
    const seen = await entriesOf(`${target}.tmp`);
    for (const [file, size] of sizes) {
      if (seen.get(file) !== size) throw new Error(`archive ${name} does not hold ${file} (${size} bytes) after writing it; nothing was removed`);
    }
    const handle = await fs.open(`${target}.tmp`, 'r');
    await handle.sync();
    await handle.close();
    await fs.rename(`${target}.tmp`, target);
    const bytes = await removeArchived(root, sizes);
    log.info('resolved files archived', { archive: name, files: files.length, bytes });
    return { archive: name, files: files.length, bytes };
  });
}

export interface StaleFile {
  path: string;
  ageDays: number;
}

/** Files in the working, in-process and failed directories older than the limit. */
export async function findStaleFiles(deps: ActivityDeps, input: { olderThanMs: number }): Promise<StaleFile[]> {
  const root = deps.config.etl.root;
  const dirs = [...ATTENTION_DIRS, ...(await locationFailedDirs(root))];
  const now = Date.now();
  const stale: StaleFile[] = [];
  for (const dir of dirs) {
    for (const file of await filesIn(root, dir)) {
      const age = now - (await fs.stat(path.join(root, file))).mtimeMs;
      if (age > input.olderThanMs) stale.push({ path: file, ageDays: Math.floor(age / 86_400_000) });
    }
  }
  return stale;
}
