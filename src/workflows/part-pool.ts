import { condition } from '@temporalio/workflow';
import type { JobSettings } from '../jobs/settings';

/** Parts handled per workflow run before continuing as new, to stay far below the history limits. */
export const PARTS_PER_RUN = 1000;

/** A job's parts per run: its settings' (COURIER_PARTS_PER_RUN), or PARTS_PER_RUN for jobs started before the setting existed. */
export const partsPerRun = (settings: Pick<JobSettings, 'partsPerRun'>): number => settings.partsPerRun ?? PARTS_PER_RUN;

/**
 * Runs `work` for part indexes [from, total) with at most `concurrency` in flight,
 * and stops scheduling new parts when `mayStart` says the run has done enough
 * (history budget). Every started part finishes before it returns, so all
 * indexes below the returned one are done. The first failure stops scheduling
 * and is rethrown once the parts in flight have settled.
 */
export async function runPartPool(options: {
  from: number;
  total: number;
  concurrency: number;
  mayStart: () => boolean;
  /** While true no new part starts; the pool waits once the parts in flight are done. */
  paused?: () => boolean;
  work: (index: number) => Promise<void>;
}): Promise<number> {
  const { total, concurrency, mayStart, work } = options;
  const paused = options.paused ?? (() => false);
  let next = options.from;
  let failed = false;
  let failure: unknown;
  const inFlight = new Set<Promise<void>>();
  const hasWork = () => !failed && next < total && mayStart();
  const canStart = () => hasWork() && !paused();
  for (;;) {
    if (inFlight.size === 0 && hasWork() && paused()) await condition(() => !paused());
    if (!canStart() && inFlight.size === 0) break;
    while (inFlight.size < concurrency && canStart()) {
      const index = next++;
      const task: Promise<void> = work(index)
        .catch((err: unknown) => {
          if (!failed) failure = err;
          failed = true;
        })
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
    if (inFlight.size > 0) await Promise.race(inFlight);
  }
  if (failed) throw failure;
  return next;
}
