import { z } from 'zod';

const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;

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

const absolutePath = z
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

const project = z
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
const pinnedHost = hostName.optional();

export const backupMessage = z.strictObject({
  kind: z.literal('backup'),
  id: jobId.optional(),
  name: backupName,
  source: absolutePath,
  partSize: z.number().int().min(1).max(MAX_PART_SIZE).optional(),
  checksums: checksumSet.optional(),
  /** S3 only: `parts` stores each part as an object; `object` assembles one object with a multipart upload. */
  layout: z.enum(['parts', 'object']).optional(),
  host: pinnedHost,
  project: project.optional(),
  notify: notifySettings.optional(),
});

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

/** Seed 001's CDB push: one file to many hosts, each delivering it atomically and running a post-command. */
export const pushMessage = z
  .strictObject({
    kind: z.literal('push'),
    id: jobId.optional(),
    name: backupName,
    /** A local file, put in the store first. */
    file: absolutePath.optional(),
    /** Or an object already in the store. */
    object: z.string().min(1).optional(),
    dest: absolutePath,
    mode: z
      .string()
      .regex(/^0?[0-7]{3}$/, 'must be an octal mode such as 0644')
      .default('0644'),
    owner: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$/i, 'must be user or user:group')
      .optional(),
    postCommand: z.string().min(1).optional(),
    hosts: z
      .array(hostName)
      .min(1)
      .max(1000)
      .refine((hosts) => new Set(hosts).size === hosts.length, 'must not repeat a host'),
    project: project.optional(),
    notify: notifySettings.optional(),
  })
  .refine((m) => (m.file === undefined) !== (m.object === undefined), { message: 'give exactly one of file or object', path: ['file'] });

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

export const message = z.discriminatedUnion('kind', [backupMessage, restoreMessage, dispatchMessage, pushMessage, etlMessage]);

export type BackupMessage = z.infer<typeof backupMessage>;
export type RestoreMessage = z.infer<typeof restoreMessage>;
export type DispatchMessage = z.infer<typeof dispatchMessage>;
export type PushMessage = z.infer<typeof pushMessage>;
export type EtlMessage = z.infer<typeof etlMessage>;
export type NotifyEvent = z.infer<typeof notifyEvent>;
export type NotifySettings = z.infer<typeof notifySettings>;
export type Message = z.infer<typeof message>;
export type MessageKind = Message['kind'];
export type ChecksumSet = z.infer<typeof checksumSet>;

export class MessageError extends Error {
  constructor(
    message: string,
    readonly fields: string[] = [],
  ) {
    super(message);
    this.name = 'MessageError';
  }
}

/** Validates a message object; the error lists every bad field by its path. */
export function parseMessage(input: unknown): Message {
  const result = message.safeParse(input);
  if (result.success) return result.data;
  const fields = result.error.issues.map((issue) => issue.path.join('.') || '(message)');
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(message)'}: ${issue.message}`);
  throw new MessageError(`invalid message:\n${lines.join('\n')}`, fields);
}

/** Parses JSON text first, so a syntax error is reported as such rather than as a schema error. */
export function parseMessageJson(text: string, origin = 'message'): Message {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new MessageError(`${origin} is not valid JSON: ${(err as Error).message}`);
  }
  return parseMessage(data);
}
