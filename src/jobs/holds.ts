import { z } from 'zod';

/** What an operator can hold (seed 001's administrative state): every job of a kind, of a dispatch topic, or whose file steps run on a host. */
export const HOLD_SCOPES = ['kind', 'topic', 'host'] as const;

/** One hold, as an operator names it and as jobs receive it. */
export const holdRef = z.strictObject({
  scope: z.enum(HOLD_SCOPES),
  name: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash and underscore, starting with a letter or digit'),
});
export type HoldRef = z.infer<typeof holdRef>;

/** A hold as stored: who placed it is the caller's business, when and why are kept. */
export const hold = holdRef.extend({
  id: z.string(),
  at: z.string(),
  note: z.string().max(500).optional(),
});
export type Hold = z.infer<typeof hold>;

export const holdId = (ref: HoldRef) => `${ref.scope}:${ref.name}`;

/** What a job is, for matching holds: its job type, its dispatch topic, the host its file steps run on. */
export interface HoldTarget {
  kind: string;
  topic?: string;
  host?: string;
}

/** Whether a hold applies to a job. A kind covers the jobs it starts too: holding `etl` holds its transforms and loads. */
export function holdApplies(ref: HoldRef, job: HoldTarget): boolean {
  switch (ref.scope) {
    case 'kind':
      return job.kind === ref.name || job.kind.startsWith(`${ref.name}-`);
    case 'topic':
      return job.topic === ref.name;
    case 'host':
      return job.host === ref.name;
  }
}
