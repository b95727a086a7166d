import { z } from 'zod';
import { backupMessage } from '../kinds/backup/message';
import { repoKeys } from './layout';
import { snapshotIdPattern } from './snapshot-id';
import { putBytes, readObject, RepositoryError, type Repository } from './repository';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/** A segment's chunks in order: [chunk id, plain length]. Stored once under the id of its plain bytes. */
export const chunkListSchema = z.object({ chunks: z.array(z.tuple([sha256Hex, z.number().int().min(1)])) });
export type ChunkList = z.infer<typeof chunkListSchema>;

/** `<owner snapshot>/<id of the list's plain bytes>`: a list belongs to the job that wrote it, so prune can tell a running job's lists from garbage. */
const listRef = z.string().regex(new RegExp(`^${snapshotIdPattern.source.slice(1, -1)}/[0-9a-f]{64}$`));

/** One backup of a name, immutable once written: where its bytes are and how to check them. */
export const snapshotSchema = z.object({
  version: z.literal(2),
  id: z.string().regex(snapshotIdPattern),
  name: z.string(),
  jobId: z.string(),
  host: z.string().optional(),
  source: z.string(),
  size: z.number().int().min(0),
  sha256: sha256Hex,
  md5: z.string().optional(),
  startedAt: z.string(),
  time: z.string(),
  message: backupMessage,
  layout: z.enum(['chunks', 'object']),
  /** chunks: each segment's chunk list. */
  segments: z.array(z.object({ offset: z.number().int().min(0), size: z.number().int().min(0), list: listRef })).default([]),
  /** object: one plain object, each part a checksummed range of it. */
  object: z
    .object({
      key: z.string(),
      parts: z.array(
        z.object({ index: z.number().int(), offset: z.number().int(), size: z.number().int(), sha256: sha256Hex, md5: z.string().optional() }),
      ),
    })
    .optional(),
  stats: z.object({ chunks: z.number().int(), newChunks: z.number().int(), bytesNew: z.number().int(), bytesStored: z.number().int() }),
});
export type Snapshot = z.infer<typeof snapshotSchema>;

/** Stores a segment's list under its owner (the snapshot its job writes); a retry writes the same bytes under the same key. */
export async function writeList(repo: Repository, list: ChunkList, owner: string): Promise<string> {
  const plain = Buffer.from(JSON.stringify(list));
  const ref = `${owner}/${repo.sealer.idOf(plain)}`;
  const key = repoKeys.list(ref);
  if (!(await repo.store.head(key))) await putBytes(repo.store, key, (await repo.sealer.seal(plain, key)).bytes);
  return ref;
}

export const listOwner = (ref: string): string => ref.slice(0, ref.indexOf('/'));

export async function readList(repo: Repository, ref: string): Promise<ChunkList> {
  const id = ref.slice(ref.indexOf('/') + 1);
  const key = repoKeys.list(ref);
  const bytes = await readObject(repo.store, key);
  if (!bytes) throw new RepositoryError(`chunk list ${key} is missing from ${repo.store.description}`, 'Damaged');
  const plain = await repo.sealer.open(bytes, key, `chunk list ${key}`);
  if (repo.sealer.idOf(plain) !== id) throw new RepositoryError(`chunk list ${key} is damaged: its contents do not match its name`, 'Damaged');
  return chunkListSchema.parse(JSON.parse(plain.toString('utf8')));
}

export async function readSnapshot(repo: Repository, name: string, id: string): Promise<Snapshot | undefined> {
  const key = repoKeys.snapshot(name, id);
  const bytes = await readObject(repo.store, key);
  if (!bytes) return undefined;
  const parsed = snapshotSchema.safeParse(await repo.sealer.openJson(bytes, key, `snapshot ${key}`));
  if (!parsed.success) throw new RepositoryError(`snapshot ${key} is damaged: ${parsed.error.issues[0]?.message}`, 'Damaged');
  return parsed.data;
}

/** Writes a snapshot once; a retry of the job that wrote it finds it and changes nothing. */
export async function putSnapshot(repo: Repository, snapshot: Snapshot): Promise<{ key: string; snapshot: Snapshot }> {
  const key = repoKeys.snapshot(snapshot.name, snapshot.id);
  const existing = await readSnapshot(repo, snapshot.name, snapshot.id);
  if (existing) {
    if (existing.jobId !== snapshot.jobId) throw new RepositoryError(`snapshot ${key} already belongs to job ${existing.jobId}`, 'Exists');
    return { key, snapshot: existing };
  }
  await putBytes(repo.store, key, await repo.sealer.sealJson(snapshot, key));
  return { key, snapshot };
}

export async function snapshotIds(repo: Repository, name: string): Promise<string[]> {
  const prefix = repoKeys.snapshotsPrefix(name);
  return (await repo.store.list(prefix))
    .map((o) => o.key.slice(prefix.length))
    .filter((id) => snapshotIdPattern.test(id))
    .sort();
}

/**
 * The id of a name's latest snapshot: the last by id (ids start with the
 * second the backup started), and among snapshots of that same second the one
 * written last, as `courier snapshots` orders them. Only that second's
 * snapshots are read; the random tail of an id says nothing about order.
 */
export async function latestSnapshotId(
  repo: Repository,
  name: string,
  read: (id: string) => Promise<Snapshot | undefined> = (id) => readSnapshot(repo, name, id),
): Promise<string | undefined> {
  const ids = await snapshotIds(repo, name);
  const last = ids.at(-1);
  if (!last) return undefined;
  const second = last.slice(0, last.indexOf('-'));
  const sameSecond = ids.filter((id) => id.startsWith(`${second}-`));
  if (sameSecond.length === 1) return last;
  const written = await Promise.all(sameSecond.map(async (id) => ({ id, time: (await read(id))?.time ?? '' })));
  return written.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id)).at(-1)!.id;
}

/** A name's snapshots, oldest first. */
export async function listSnapshots(repo: Repository, name: string): Promise<Snapshot[]> {
  const found: Snapshot[] = [];
  for (const id of await snapshotIds(repo, name)) {
    const snapshot = await readSnapshot(repo, name, id);
    if (snapshot) found.push(snapshot);
  }
  return found.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
}

export async function backupNames(repo: Repository): Promise<string[]> {
  const prefix = repoKeys.snapshotsPrefix();
  return [...new Set((await repo.store.list(prefix)).map((o) => o.key.slice(prefix.length).split('/')[0]!))].sort();
}

/** Every snapshot of every name: what prune keeps and check reports on. */
export async function allSnapshots(repo: Repository): Promise<Snapshot[]> {
  const all: Snapshot[] = [];
  for (const name of await backupNames(repo)) all.push(...(await listSnapshots(repo, name)));
  return all;
}

export async function deleteSnapshot(repo: Repository, name: string, id: string): Promise<void> {
  await repo.store.delete(repoKeys.snapshot(name, id));
}
