import { z } from 'zod';
import { absolutePath, jobId, notifySettings, pinnedHost, project } from '../../jobs/fields';

/** Seed 002's Extract: the acceptable files of a source start a Transform each, which starts a Load per batch. */
export const etlMessage = z.strictObject({
  kind: z.literal('etl'),
  id: jobId.optional(),
  /** A pipeline of the worker's pipeline file (COURIER_ETL_CONFIG). */
  pipeline: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'use letters, digits, "-" and "_"'),
  /** A file, or a directory whose matching files are extracted. */
  source: absolutePath,
  /** File-name globs; default: the pipeline's patterns. */
  patterns: z.array(z.string().min(1)).min(1).optional(),
  /** Move the source files into E/working instead of copying them (the drop folder does). */
  move: z.boolean().optional(),
  host: pinnedHost,
  project: project.optional(),
  notify: notifySettings.optional(),
});

export type EtlMessage = z.infer<typeof etlMessage>;
