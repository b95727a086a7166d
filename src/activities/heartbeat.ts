import { Context } from '@temporalio/activity';

/**
 * Heartbeats at most every `intervalMs` with the latest details. The server
 * throttles anyway; this keeps a fast byte loop from building heartbeat objects per chunk.
 */
export function throttledHeartbeat<T>(intervalMs = 1000): (details: T, force?: boolean) => void {
  // Taken now: progress may arrive from a hashing thread's message, outside the activity's async context.
  const context = Context.current();
  let last = 0;
  return (details, force = false) => {
    const now = Date.now();
    if (!force && now - last < intervalMs) return;
    last = now;
    context.heartbeat(details);
  };
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
