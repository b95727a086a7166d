import type { Repository } from './repository';
import { readSnapshot, type Snapshot } from './snapshots';

/** Snapshots never change once written, so a worker keeps the few it is restoring from instead of reading one per segment. */
export interface SnapshotCache {
  read(name: string, id: string): Promise<Snapshot | undefined>;
}

export function createSnapshotCache(repository: () => Promise<Repository>, size = 32): SnapshotCache {
  const cache = new Map<string, Promise<Snapshot | undefined>>();
  return {
    read(name, id) {
      const key = `${name}/${id}`;
      let found = cache.get(key);
      if (!found) {
        found = repository().then((repo) => readSnapshot(repo, name, id));
        // Neither a failure nor an absence is kept: the next read asks again.
        found.then((s) => s ?? cache.delete(key)).catch(() => cache.delete(key));
        cache.set(key, found);
        if (cache.size > size) cache.delete(cache.keys().next().value!);
      }
      return found;
    },
  };
}
