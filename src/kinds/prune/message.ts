import { z } from 'zod';
import { jobId, notifySettings, project } from '../../jobs/fields';

/** Removes from the repository what no snapshot uses: whole packs, and the used part of mostly unused packs copied out first. */
export const pruneMessage = z.strictObject({
  kind: z.literal('prune'),
  id: jobId.optional(),
  /** Repack a pack once more than this share of its bytes is unused (default 0.2). */
  repackUnused: z.number().min(0).max(1).optional(),
  project: project.optional(),
  notify: notifySettings.optional(),
});

export type PruneMessage = z.infer<typeof pruneMessage>;
