import { z } from 'zod';
import { jobId, notifySettings, project } from '../../jobs/fields';

/** `5%`: the next twentieth of the chunks each run, all of them over 20 runs; `2/20`: that slice; `100%`: everything. */
export const dataSubset = z
  .string()
  .regex(/^(\d{1,3}(\.\d+)?%|\d+\/\d+)$/, 'must be a share such as "5%" or a slice such as "2/20"')
  .refine((s) => {
    if (s.endsWith('%')) return Number(s.slice(0, -1)) > 0 && Number(s.slice(0, -1)) <= 100;
    const [n, t] = s.split('/').map(Number);
    return t! >= 1 && n! >= 1 && n! <= t!;
  }, 'a share must be above 0% and at most 100%; a slice n/t needs 1 ≤ n ≤ t');

/** Checks the repository: every snapshot's lists and chunks present, and a share of the chunks read back and verified. */
export const checkMessage = z.strictObject({
  kind: z.literal('check'),
  id: jobId.optional(),
  readDataSubset: dataSubset.optional(),
  project: project.optional(),
  notify: notifySettings.optional(),
});

export type CheckMessage = z.infer<typeof checkMessage>;
