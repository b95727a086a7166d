/** Where a repository keeps its objects in the store, under one prefix beside the legacy `backups/`. */
const ROOT = 'repo';

const safeJobId = (jobId: string) => jobId.replace(/[^A-Za-z0-9._-]/g, '_');

export const repoKeys = {
  config: `${ROOT}/config.json`,
  keysPrefix: `${ROOT}/keys/`,
  key: (id: string) => `${ROOT}/keys/${id}.json`,
  packsPrefix: `${ROOT}/packs/`,
  pack: (id: string) => `${ROOT}/packs/${id.slice(0, 2)}/${id}`,
  indexPrefix: `${ROOT}/index/`,
  index: (packId: string) => `${ROOT}/index/${packId}`,
  listsPrefix: `${ROOT}/lists/`,
  list: (id: string) => `${ROOT}/lists/${id}`,
  snapshotsPrefix: (name?: string) => (name ? `${ROOT}/snapshots/${name}/` : `${ROOT}/snapshots/`),
  snapshot: (name: string, id: string) => `${ROOT}/snapshots/${name}/${id}`,
  pendingPrefix: `${ROOT}/pending/`,
  pending: (jobId: string) => `${ROOT}/pending/${safeJobId(jobId)}`,
  condemnedPrefix: `${ROOT}/condemned/`,
  condemned: (id: string) => `${ROOT}/condemned/${id}`,
  checkCursor: `${ROOT}/check/cursor.json`,
};

/** The plain object of an `object`-layout snapshot: readable by any S3 tool, one per snapshot. */
export const snapshotObjectKey = (name: string, snapshotId: string): string => `backups/${name}/snapshots/${snapshotId}`;

/** The last path segment: a pack, index or list id. */
export const idOfKey = (key: string): string => key.slice(key.lastIndexOf('/') + 1);
