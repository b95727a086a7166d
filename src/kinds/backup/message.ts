import { z } from 'zod';
import { absolutePath, backupName, checksumSet, jobId, notifySettings, pinnedHost, project } from '../../jobs/fields';

const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;

/** Seed 000: one file split into checksummed parts, each uploaded and verified. */
export const backupMessage = z.strictObject({
  kind: z.literal('backup'),
  id: jobId.optional(),
  name: backupName,
  source: absolutePath,
  partSize: z.number().int().min(1).max(MAX_PART_SIZE).optional(),
  checksums: checksumSet.optional(),
  /** `chunks` (default): deduplicated, compressed, encrypted snapshots; `object` (S3 only): one plain object per snapshot. `parts` is the older name of `chunks`. */
  layout: z.enum(['chunks', 'parts', 'object']).optional(),
  host: pinnedHost,
  project: project.optional(),
  notify: notifySettings.optional(),
});

export type BackupMessage = z.infer<typeof backupMessage>;
