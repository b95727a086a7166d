import { z } from 'zod';
import { backupName, jobId, notifySettings, project } from '../../jobs/fields';

const keep = z.number().int().min(0).optional();

/** Retention (restic's keep rules): which snapshots of a name stay; the rest are forgotten, and their data goes at the next prune. */
export const forgetMessage = z
  .strictObject({
    kind: z.literal('forget'),
    id: jobId.optional(),
    name: backupName,
    keepLast: keep,
    keepHourly: keep,
    keepDaily: keep,
    keepWeekly: keep,
    keepMonthly: keep,
    keepYearly: keep,
    project: project.optional(),
    notify: notifySettings.optional(),
  })
  // Forgetting with no rule would remove every snapshot: refused at submission, naming the options.
  .refine((m) => [m.keepLast, m.keepHourly, m.keepDaily, m.keepWeekly, m.keepMonthly, m.keepYearly].some((n) => (n ?? 0) > 0), {
    message:
      'give at least one keep rule above 0 (keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly); with none every snapshot would go',
    path: ['keepLast'],
  });

export type ForgetMessage = z.infer<typeof forgetMessage>;
