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
