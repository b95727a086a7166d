import fs from 'node:fs/promises';
import type { BackupInput, SourceInfo } from '../contract';
import { partCountFor } from '../../../jobs/keys';
import type { ActivityDeps } from '../../../activities/deps';
import { permanent } from '../../../activities/failures';
import { isInside, resolveInside } from '../../../security/paths';
import { sourceRoots } from '../../../security/roots';
import { hostIdOf } from '../../../security/host-tags';
import { checkObjectLayout } from './object-upload';

/** Checks the source before any work: a bad path fails the job at once with the reason, never retried. */
export async function prepareBackup(deps: ActivityDeps, input: Pick<BackupInput, 'message' | 'settings'>): Promise<SourceInfo> {
  const { source } = input.message;
  const real = await resolveInside(source, sourceRoots(deps.config, 'source'), { mustExist: true });
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
    host: hostIdOf(deps.config),
    path: real,
    size: stat.size,
    mtimeMs: stat.mtimeMs,
    partCount: partCountFor(stat.size, input.settings.partSize),
  };
  if (input.settings.layout === 'object') checkObjectLayout(info, input.settings.partSize);
  // No repository, no key or the wrong one: said now, before any byte is read.
  else await deps.repository();
  return info;
}
