import { z } from 'zod';
import { absolutePath, backupName, hostName, jobId, notifySettings, project } from '../../jobs/fields';

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

export type PushMessage = z.infer<typeof pushMessage>;
