import { z } from 'zod';
import { snapshotIdPattern } from '../../repository/snapshot-id';
import { absolutePath, backupName, jobId, notifySettings, pinnedHost, project } from '../../jobs/fields';

/** A stored backup written back to a file, every part verified on the way. */
export const restoreMessage = z.strictObject({
  kind: z.literal('restore'),
  id: jobId.optional(),
  name: backupName,
  dest: absolutePath,
  /** Which snapshot of the name (`courier snapshots NAME`); the latest by default. */
  snapshot: z.string().regex(snapshotIdPattern, 'must be a snapshot id such as 20261124T031500Z-1a2b3c4d (see `courier snapshots NAME`)').optional(),
  /** The host that must receive the file. */
  host: pinnedHost,
  project: project.optional(),
  notify: notifySettings.optional(),
});

export type RestoreMessage = z.infer<typeof restoreMessage>;
