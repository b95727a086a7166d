import type { z } from 'zod';

/** One bad field: its path and what is wrong with it, for forms that show errors at the field. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** A message (or query) that does not validate; `fields` names each bad field by its path, `issues` says what is wrong with each. */
export class MessageError extends Error {
  readonly issues: FieldIssue[];
  constructor(
    message: string,
    readonly fields: string[] = [],
    issues?: FieldIssue[],
  ) {
    super(message);
    this.name = 'MessageError';
    this.issues = issues ?? fields.map((field) => ({ field, message }));
  }
}

/** Validates with a schema; the error lists every bad field by its path. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what = 'message'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const field = (path: PropertyKey[]) => path.map(String).join('.') || `(${what})`;
  const issues = result.error.issues.map((issue) => ({ field: field(issue.path), message: issue.message }));
  throw new MessageError(
    `invalid ${what}:\n${issues.map((issue) => `  ${issue.field}: ${issue.message}`).join('\n')}`,
    issues.map((issue) => issue.field),
    issues,
  );
}
