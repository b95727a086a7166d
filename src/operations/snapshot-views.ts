import type { ObjectStore } from '../stores';
import { readManifest } from '../kinds/backup/manifest';
import { manifestKey } from '../jobs/keys';
import type { Repository } from '../repository/repository';
import { listSnapshots } from '../repository/snapshots';

/** A snapshot as listings show it; a backup made before snapshots shows as `legacy`. */
export interface SnapshotView {
  id: string;
  name: string;
  time: string;
  size: number;
  sha256: string;
  layout: 'chunks' | 'object' | 'parts';
  source: string;
  host?: string;
  jobId: string;
  /** Bytes this snapshot added to the store. */
  bytesStored?: number;
}

/** A name's snapshots, oldest first: what `courier snapshots` and GET /v1/backups/:name/snapshots show. */
export async function snapshotViews(repo: Repository, store: ObjectStore, name: string): Promise<SnapshotView[]> {
  const views: SnapshotView[] = [];
  if (await store.head(manifestKey(name))) {
    const m = await readManifest(store, name);
    views.push({ id: 'legacy', name, time: m.completedAt, size: m.size, sha256: m.sha256, layout: 'parts', source: m.source, jobId: m.jobId });
  }
  for (const s of await listSnapshots(repo, name)) {
    views.push({
      id: s.id,
      name,
      time: s.time,
      size: s.size,
      sha256: s.sha256,
      layout: s.layout,
      source: s.source,
      ...(s.host ? { host: s.host } : {}),
      jobId: s.jobId,
      bytesStored: s.stats.bytesStored,
    });
  }
  return views;
}
