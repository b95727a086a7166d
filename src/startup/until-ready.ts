/**
 * Waiting for a dependency at start-up. On a loaded 2-core machine a freshly
 * started dev server, S3 server or database can take tens of seconds to answer
 * its first call, so every connection courier makes at start retries with a
 * bounded, logged wait instead of one short deadline.
 */

export interface ReadyOptions {
  /** The whole wait; after it the last error is reported with what was tried. */
  timeoutMs: number;
  /** Told when an attempt fails (after `quietMs`) and again about every 10 s while waiting. */
  log?: (line: string) => void;
  /** A wait shorter than this is not worth a line (a server that is a moment late). */
  quietMs?: number;
  /** What to do when the wait runs out (appended to the error). */
  hint?: string;
  /** Stop early: a failure that waiting cannot fix (a process that exited). */
  giveUp?: () => string | undefined;
  firstDelayMs?: number;
  maxDelayMs?: number;
}

export class NotReadyError extends Error {
  constructor(
    readonly what: string,
    readonly attempts: number,
    readonly waitedMs: number,
    readonly lastError: string,
  ) {
    super(`${what}: ${NotReadyError.summary(attempts, waitedMs, lastError)}`);
    this.name = 'NotReadyError';
  }

  /** What was tried for how long, for callers that name the dependency their own way. */
  get summary(): string {
    return NotReadyError.summary(this.attempts, this.waitedMs, this.lastError);
  }

  private static summary(attempts: number, waitedMs: number, lastError: string): string {
    return `no answer after ${attempts} attempt${attempts === 1 ? '' : 's'} over ${(waitedMs / 1000).toFixed(1)} s; last error: ${lastError}`;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0];

/**
 * Calls `attempt` until it resolves, backing off from 250 ms to 2 s between tries.
 * `attempt` gets how long its own call may take: growing with each try (a loaded
 * server gets more time), never past the overall deadline.
 */
export async function untilReady<T>(what: string, attempt: (callMs: number) => Promise<T>, options: ReadyOptions): Promise<T> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  let delay = options.firstDelayMs ?? 250;
  let attempts = 0;
  let lastError = '';
  let nextLog = started + (options.quietMs ?? 0);
  for (;;) {
    attempts++;
    try {
      const value = await attempt(Math.max(1, Math.min(deadline - Date.now(), 2000 * attempts, 15_000)));
      if (attempts > 1 && Date.now() >= started + (options.quietMs ?? 0))
        options.log?.(`${what}: ready after ${((Date.now() - started) / 1000).toFixed(1)} s (${attempts} attempts)`);
      return value;
    } catch (err) {
      lastError = messageOf(err);
    }
    const stop = options.giveUp?.();
    const waited = Date.now() - started;
    if (stop || Date.now() + delay > deadline) {
      const error = new NotReadyError(what, attempts, waited, stop ?? lastError);
      if (options.hint) error.message += `\n${options.hint}`;
      throw error;
    }
    if (Date.now() >= nextLog) {
      options.log?.(
        `waiting for ${what} (${(waited / 1000).toFixed(0)} s of at most ${(options.timeoutMs / 1000).toFixed(0)} s; last error: ${lastError})`,
      );
      nextLog = Date.now() + 10_000;
    }
    await sleep(delay);
    delay = Math.min(delay * 2, options.maxDelayMs ?? 2000);
  }
}
