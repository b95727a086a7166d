import type { Repository } from './repository';
import { allSnapshots, readList, type Snapshot } from './snapshots';

export interface References {
  snapshots: Snapshot[];
  /** Lists the snapshots name, and (when asked) every other stored list too. */
  lists: Set<string>;
  chunks: Set<string>;
  /** Which snapshots use each chunk, for the chunks asked about. */
  users(chunk: string): string[];
}

/** What the repository's snapshots rely on; for the chunks `track` picks, which snapshots use each. */
export async function references(repo: Repository, options: { track?: (chunk: string) => boolean } = {}): Promise<References> {
  const snapshots = await allSnapshots(repo);
  const lists = new Set<string>();
  const owners = new Map<string, Set<string>>();
  for (const snapshot of snapshots) for (const segment of snapshot.segments) lists.add(segment.list);
  const byList = new Map<string, string[]>();
  for (const snapshot of snapshots) {
    for (const segment of snapshot.segments) byList.set(segment.list, [...(byList.get(segment.list) ?? []), `${snapshot.name}@${snapshot.id}`]);
  }
  const chunks = new Set<string>();
  for (const list of lists) {
    const { chunks: entries } = await readList(repo, list);
    for (const [id] of entries) {
      chunks.add(id);
      if (options.track?.(id)) {
        const set = owners.get(id) ?? new Set<string>();
        for (const user of byList.get(list) ?? ['a backup still running']) set.add(user);
        owners.set(id, set);
      }
    }
  }
  return { snapshots, lists, chunks, users: (chunk) => [...(owners.get(chunk) ?? [])] };
}
