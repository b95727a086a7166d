import { z } from 'zod';
import { absolutePath, backupName, jobId, notifySettings, pinnedHost, project } from '../../jobs/fields';

/** A stored backup written back to a file, every part verified on the way. */
export const restoreMessage = z.strictObject({
  kind: z.literal('restore'),
  id: jobId.optional(),
  name: backupName,
  dest: absolutePath,
  /** The host that must receive the file. */
  host: pinnedHost,
  project: project.optional(),
  notify: notifySettings.optional(),
});

export type RestoreMessage = z.infer<typeof restoreMessage>;
