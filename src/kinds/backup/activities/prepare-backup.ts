import fs from 'node:fs/promises';
import path from 'node:path';
import type { BackupInput, SourceInfo } from '../contract';
import { partCountFor } from '../../../jobs/keys';
import type { ActivityDeps } from '../../../activities/deps';
import { errnoCode, permanent } from '../../../activities/failures';
import { checkObjectLayout } from './object-upload';

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

async function realRoots(roots: string[]): Promise<string[]> {
  return Promise.all(roots.map((root) => fs.realpath(root).catch(() => root)));
}

/** Checks the source before any work: a bad path fails the job at once with the reason, never retried. */
export async function prepareBackup(deps: ActivityDeps, input: BackupInput): Promise<SourceInfo> {
  const { source } = input.message;
  let real: string;
  try {
    real = await fs.realpath(source);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw permanent('BadInput', `source ${source} does not exist`);
    if (code === 'EACCES') throw permanent('BadInput', `source ${source} is not readable: permission denied`);
    throw err;
  }
  const roots = await realRoots(deps.config.sourceRoots);
  if (roots.length > 0 && !roots.some((root) => isInside(real, root))) {
    throw permanent('BadInput', `source ${source} is outside the allowed source roots (COURIER_SOURCE_ROOTS=${deps.config.sourceRoots.join(':')})`);
  }
  const dataDir = await fs.realpath(deps.config.dataDir).catch(() => deps.config.dataDir);
  if (isInside(real, dataDir)) {
    throw permanent('BadInput', `source ${source} lies inside courier's data dir ${dataDir}; back up files from elsewhere`);
  }
  const stat = await fs.stat(real);
  if (stat.isDirectory()) {
    throw permanent('BadInput', `source ${source} is a directory; courier backs up one file (make a tar archive first)`);
  }
  if (!stat.isFile()) throw permanent('BadInput', `source ${source} is not a regular file`);
  try {
    await fs.access(real, fs.constants.R_OK);
  } catch {
    throw permanent('BadInput', `source ${source} is not readable: permission denied`);
  }
  const info: SourceInfo = {
    host: deps.config.host,
    path: real,
    size: stat.size,
    mtimeMs: stat.mtimeMs,
    partCount: partCountFor(stat.size, input.settings.partSize),
  };
  if (input.settings.layout === 'object') checkObjectLayout(info, input.settings.partSize);
  return info;
}
