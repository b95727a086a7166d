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
    /** The key of a command each host maps to a command line in its own configuration (COURIER_PUSH_COMMANDS). */
    postCommand: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'name a command the hosts allow (COURIER_PUSH_COMMANDS on each host), not a command line')
      .optional(),
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
