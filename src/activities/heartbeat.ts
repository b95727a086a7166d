import { Context } from '@temporalio/activity';

/**
 * Heartbeats at most every `intervalMs` with the latest details. The server
 * throttles anyway; this keeps a fast byte loop from building heartbeat objects per chunk.
 */
export function throttledHeartbeat<T>(intervalMs = 1000): (details: T, force?: boolean) => void {
  // Taken now: progress may arrive from a hashing thread's message, outside the activity's async context.
  const context = Context.current();
  reportsProgress.add(context);
  let last = 0;
  return (details, force = false) => {
    const now = Date.now();
    if (!force && now - last < intervalMs) return;
    last = now;
    context.heartbeat(details);
  };
}

/** Activities whose heartbeats say they are making progress: the worker stops heartbeating for them. */
const reportsProgress = new WeakSet<Context>();

/**
 * Runs an activity with the worker heartbeating for it every second, until the
 * activity reports progress of its own (throttledHeartbeat). So a step with a
 * heartbeat timeout and nothing to report (a store write, a check) is
 * retried within that timeout when its worker dies, while a step that moves
 * bytes still times out when its bytes stop moving.
 */
/** The running activity keeps itself alive from now on (a dispatch handler, given heartbeat to call). */
export function reportsOwnProgress(): void {
  reportsProgress.add(Context.current());
}

export async function keptAlive<T>(work: () => Promise<T>): Promise<T> {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return work();
  }
  if (!context.info.heartbeatTimeoutMs || context.info.isLocal) return work();
  const beat = setInterval(
    () => {
      if (!reportsProgress.has(context)) context.heartbeat();
    },
    Math.min(1000, context.info.heartbeatTimeoutMs / 3),
  );
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}

export function cancellationSignal(): AbortSignal {
  return Context.current().cancellationSignal;
}

/**
 * Heartbeats every second while `work` runs: for steps that report no progress
 * of their own (a database call, a rename, packing an archive), so a dead
 * worker is still noticed within the heartbeat timeout.
 */
export async function heartbeatWhile<T>(details: unknown, work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const beat = setInterval(() => context.heartbeat(details), 1000);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}
