import { z } from 'zod';
import { backupName, jobId, notifySettings, project } from '../../jobs/fields';

/** Reads a stored backup back and checks every part against its manifest, writing nothing. */
export const verifyMessage = z.strictObject({
  kind: z.literal('verify'),
  id: jobId.optional(),
  name: backupName,
  project: project.optional(),
  notify: notifySettings.optional(),
});

export type VerifyMessage = z.infer<typeof verifyMessage>;
