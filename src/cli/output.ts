import { ConfigError } from '../config';
import { JobFailedError, JobNotFoundError } from '../client';
import { hostName } from '../jobs/fields';
import { MessageError } from '../jobs/message-error';
import { HoldNotFoundError } from '../operations/holds';
import { ScheduleMissingError } from '../operations/cleanup-schedule';

/** Exit codes scripts can rely on. */
export const EXIT = { ok: 0, jobFailed: 1, badInput: 2, unavailable: 3 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** One place that turns any error into a line for people and an exit code for scripts. */
export function exitCodeFor(err: unknown): { code: number; text: string } {
  if (err instanceof CliError) return { code: err.exitCode, text: err.message };
  if (err instanceof MessageError || err instanceof ConfigError) return { code: EXIT.badInput, text: err.message };
  if (err instanceof JobNotFoundError || err instanceof ScheduleMissingError || err instanceof HoldNotFoundError)
    return { code: EXIT.badInput, text: err.message };
  if (err instanceof JobFailedError) return { code: EXIT.jobFailed, text: `job ${err.jobId} ${err.status}: ${err.message}` };
  const text = (err as Error)?.message ?? String(err);
  if (/cannot reach the Temporal server/.test(text)) return { code: EXIT.unavailable, text };
  return { code: EXIT.jobFailed, text };
}

/** A --host value, checked like COURIER_HOST. */
export function hostOption(text: string, flag = '--host'): string {
  const parsed = hostName.safeParse(text);
  if (!parsed.success) throw new CliError(`${flag} ${text}: ${parsed.error.issues[0]?.message}`, EXIT.badInput);
  return parsed.data;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
