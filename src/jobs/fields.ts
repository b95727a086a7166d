/** The message fields kinds share; each kind's own schema lives in src/kinds/<kind>/message.ts. */
import { z } from 'zod';

/** A backup name becomes a directory in staging and a key prefix in the store, so it may not escape either. */
export const backupName = z
  .string()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "-" and "_" only (no "/", no leading ".")')
  .refine((name) => !name.includes('..'), 'must not contain ".."');

export const jobId = z
  .string()
  .min(1)
  .max(240)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/, 'use letters, digits and . _ : @ - only');

export const absolutePath = z
  .string()
  .min(1, 'must not be empty')
  .refine((p) => p.startsWith('/'), 'must be an absolute path')
  .refine((p) => !p.includes('\0'), 'must not contain NUL bytes');

export const checksumSet = z.enum(['sha256', 'sha256+md5']);

/** The events a job can notify about. */
export const notifyEvent = z.enum(['completed', 'failed', 'cancelled', 'escalated']);

export const callbackUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** Who hears about the job; anything missing falls back to the configured defaults. */
export const notifySettings = z.strictObject({
  callbackUrl: callbackUrl.optional(),
  email: z.array(z.email('must be an email address')).optional(),
  on: z.array(notifyEvent).min(1).optional(),
});

export const project = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'use letters, digits, "-" and "_" only');

/** A host name (COURIER_HOST, `courier worker --host NAME`); it names the task queue host-NAME. */
export const hostName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "-" and "_" only');

/** The host whose disk holds the job's files; without it, the host of the worker that takes the first file step. */
export const pinnedHost = hostName.optional();

export type NotifyEvent = z.infer<typeof notifyEvent>;
export type NotifySettings = z.infer<typeof notifySettings>;
export type ChecksumSet = z.infer<typeof checksumSet>;
