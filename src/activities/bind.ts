import { CancelledFailure, Context } from '@temporalio/activity';
import type { ActivityDeps } from './deps';
import { asFailure } from './failures';
import { keptAlive } from './heartbeat';

type Activity = (deps: ActivityDeps, ...args: never[]) => Promise<unknown>;
export type Bound<F> = F extends (deps: ActivityDeps, ...args: infer A) => infer R ? (...args: A) => R : never;

/**
 * Binds activities to their dependencies. This is the boundary where store
 * errors become Temporal failures, and where the worker starts heartbeating
 * for a step that has a heartbeat timeout but no progress to report.
 */
export function bindAll<T extends Record<string, Activity>>(deps: ActivityDeps, activities: T): { [K in keyof T]: Bound<T[K]> } {
  const bound = Object.entries(activities).map(([name, fn]) => [
    name,
    async (...args: never[]) => {
      try {
        return await keptAlive(() => fn(deps, ...args));
      } catch (err) {
        throw cancelledInstead(err) ?? asFailure(err);
      }
    },
  ]);
  return Object.fromEntries(bound) as { [K in keyof T]: Bound<T[K]> };
}

/**
 * A step whose job asked it to stop reports itself cancelled, whatever error
 * stopping made (a closed file, a store call cut short, a thread gone). The
 * SDK reports only a CancelledFailure or an AbortError as a cancellation;
 * anything else would reach the job as a failure, and a cancelled job would end failed.
 */
function cancelledInstead(err: unknown): CancelledFailure | undefined {
  if (err instanceof CancelledFailure) return undefined;
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return undefined;
  }
  if (!context.cancellationDetails?.cancelRequested) return undefined;
  const { reason } = context.cancellationSignal;
  return reason instanceof CancelledFailure ? reason : new CancelledFailure('CANCELLED');
}
