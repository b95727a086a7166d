import { z } from 'zod';

// Workflow code imports the rules from hold-rules.ts, which carries no zod into the bundle; the schemas stay here.

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

/** What an operator sends to place a hold. */
export const holdRequest = holdRef.extend({ note: z.string().max(500).optional() });
