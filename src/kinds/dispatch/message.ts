import { z } from 'zod';
import { callbackUrl, jobId, notifySettings, pinnedHost, project } from '../../jobs/fields';

/** A producer's work request (seed 003): routed by its topic to the workers that handle its format. */
export const dispatchMessage = z.strictObject({
  kind: z.literal('dispatch'),
  id: jobId.optional(),
  name: z.string().min(1).max(200),
  version: z.string().min(1).max(100),
  buildType: z.string().max(100).nullable(),
  format: z
    .string()
    .min(1)
    .max(50)
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'use lowercase letters, digits, "-" and "_" only'),
  project,
  origin: z.string().min(1).max(200),
  callbackUrl: callbackUrl.optional(),
  payload: z.unknown().optional(),
  /** The host whose handler must do the work (its payload names files on that host). */
  host: pinnedHost,
  notify: notifySettings.optional(),
});

export type DispatchMessage = z.infer<typeof dispatchMessage>;
