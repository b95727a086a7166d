import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { CancellationScope, condition, upsertSearchAttributes } from '@temporalio/workflow';
import { takes } from './patches';

export interface Labeller {
  /** Sets search attributes; `now` sends them (and any still waiting) at once. */
  label(pairs: SearchAttributeUpdatePair[], options?: { now?: boolean }): void;
  /** Sends what waits: before the job ends or continues as new, since its last command must be the last. */
  flush(): void;
}

/**
 * Search attributes set within one workflow task go out as one upsert: each
 * upsert is a history event and a visibility write on the server, and a job's
 * last step reports its host just before the job sets its final status. They
 * wait for the end of the activation: a condition is only looked at again once
 * every promise the activation settled has run its reactions, which is as far
 * as the workflow code can go in it. The last value of an attribute wins.
 * Jobs recorded before this upsert at each call, as they did.
 */
export function labeller(): Labeller {
  let pending: Map<string, SearchAttributeUpdatePair> | undefined;
  const flush = () => {
    if (!pending) return;
    const pairs = [...pending.values()];
    pending = undefined;
    upsertSearchAttributes(pairs);
  };
  return {
    flush,
    label(pairs, { now = false } = {}) {
      if (!takes('one-upsert-per-task')) return upsertSearchAttributes(pairs);
      if (!pending) {
        pending = new Map();
        // Blocked when first looked at (at once), so it resolves when the activation's conditions are next checked.
        let endOfActivation = false;
        void CancellationScope.nonCancellable(() => condition(() => endOfActivation)).then(flush);
        endOfActivation = true;
      }
      for (const pair of pairs) pending.set(pair.key.name, pair);
      if (now) flush();
    },
  };
}
