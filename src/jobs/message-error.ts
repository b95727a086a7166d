import type { z } from 'zod';

/** A message (or query) that does not validate; `fields` names each bad field by its path. */
export class MessageError extends Error {
  constructor(
    message: string,
    readonly fields: string[] = [],
  ) {
    super(message);
    this.name = 'MessageError';
  }
}

/** Validates with a schema; the error lists every bad field by its path. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what = 'message'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const field = (path: PropertyKey[]) => path.map(String).join('.') || `(${what})`;
  const lines = result.error.issues.map((issue) => `  ${field(issue.path)}: ${issue.message}`);
  throw new MessageError(
    `invalid ${what}:\n${lines.join('\n')}`,
    result.error.issues.map((issue) => field(issue.path)),
  );
}
