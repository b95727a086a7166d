import { createHash } from 'node:crypto';

/** A short stable digest of what a message asks for: the tail of a derived job id. */
export function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 12);
}
