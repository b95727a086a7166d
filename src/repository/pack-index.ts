import { z } from 'zod';
import { idOfKey, repoKeys } from './layout';
import { ChunkTable } from './chunk-table';
import { putBytes, readObject, type Repository } from './repository';

/** Where a chunk's sealed bytes are: a byte range of a pack. */
export interface ChunkLocation {
  pack: string;
  offset: number;
  length: number;
  /** Its plain length. */
  raw: number;
}

/** One pack's table of contents, stored beside it once the pack is verified: [id, offset, length, raw] per chunk. */
export const packTableSchema = z.object({
  pack: z.string(),
  chunks: z.array(z.tuple([z.string(), z.number().int(), z.number().int(), z.number().int()])),
});
export type PackTable = z.infer<typeof packTableSchema>;

const condemnationSchema = z.object({ at: z.string(), by: z.string(), packs: z.array(z.string()), lists: z.array(z.string()).default([]) });
export type Condemnation = z.infer<typeof condemnationSchema>;

export async function readPackTable(repo: Repository, packId: string): Promise<PackTable | undefined> {
  const key = repoKeys.index(packId);
  const bytes = await readObject(repo.store, key);
  if (!bytes) return undefined;
  return packTableSchema.parse(await repo.sealer.openJson(bytes, key, `pack index ${key}`));
}

export async function writePackTable(repo: Repository, table: PackTable): Promise<void> {
  const key = repoKeys.index(table.pack);
  await putBytes(repo.store, key, await repo.sealer.sealJson(table, key));
}

export async function readCondemnations(repo: Repository): Promise<{ key: string; value: Condemnation }[]> {
  const found = [];
  for (const { key } of await repo.store.list(repoKeys.condemnedPrefix)) {
    const bytes = await readObject(repo.store, key);
    if (bytes) found.push({ key, value: condemnationSchema.parse(await repo.sealer.openJson(bytes, key, `condemnation ${key}`)) });
  }
  return found;
}

export async function writeCondemnation(repo: Repository, id: string, value: Condemnation): Promise<string> {
  const key = repoKeys.condemned(id);
  await putBytes(repo.store, key, await repo.sealer.sealJson(value, key));
  return key;
}

async function inBatches<T>(items: readonly T[], width: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await each(items[next++]!);
    }),
  );
}

/**
 * Which chunks the repository holds and where, read from the pack tables and
 * kept by a worker between activities; each refresh reads only new tables.
 * Packs a prune has condemned count as absent for deduplication, so nothing
 * new comes to rely on a pack that may soon be deleted.
 */
export class PackIndex {
  private readonly table = new ChunkTable();
  private condemned = new Set<string>();
  /** A chunk stored twice (two backups sent it at once) is read from a pack no prune has condemned. */
  private readonly prefer = (knownPack: string) => this.condemned.has(knownPack);

  get packCount(): number {
    return this.table.packs;
  }

  get chunkCount(): number {
    return this.table.chunks;
  }

  private listedAt = -Infinity;

  /**
   * Reads the tables stored since the last listing, unless that listing is
   * younger than `maxAgeMs`: a table missed only costs a chunk sent twice.
   * The prune marks are read every time: relying on a marked pack is what must never happen.
   */
  async refresh(repo: Repository, maxAgeMs = 0): Promise<this> {
    if (Date.now() - this.listedAt < maxAgeMs) {
      await this.readMarks(repo);
      return this;
    }
    this.listedAt = Date.now();
    // Only packs known before the listing began can be missing from it: one this worker adds meanwhile (another
    // segment committing) is stored but may be listed too late, and taking it for removed would forget it and
    // rebuild the whole table.
    const before = this.table.packNames();
    const listed = (await repo.store.list(repoKeys.indexPrefix)).map((o) => idOfKey(o.key));
    const present = new Set(listed);
    const gone = before.filter((pack) => !present.has(pack));
    if (gone.length > 0) this.table.removePacks(new Set(gone), this.prefer);
    const fresh = listed.filter((pack) => !this.table.hasPack(pack));
    const read = new Map<string, PackTable>();
    await inBatches(fresh, 16, async (pack) => {
      const table = await readPackTable(repo, pack);
      if (table) read.set(pack, table);
    });
    // In listing order, whatever order the reads finished in.
    for (const pack of fresh) if (read.has(pack)) this.table.addPack(read.get(pack)!, this.prefer);
    await this.readMarks(repo);
    return this;
  }

  private async readMarks(repo: Repository): Promise<void> {
    const condemned = new Set((await readCondemnations(repo)).flatMap((c) => c.value.packs));
    const changed = condemned.size !== this.condemned.size || [...condemned].some((pack) => !this.condemned.has(pack));
    this.condemned = condemned;
    if (changed) this.table.repoint(this.prefer);
  }

  /** A pack this worker just wrote: known at once, without waiting for the next listing. */
  add(table: PackTable): void {
    this.table.addPack(table, this.prefer);
  }

  /** Stored in a pack no prune has condemned: a backup may refer to it instead of sending it. */
  has(id: string): boolean {
    const slot = this.table.find(id);
    return slot !== undefined && !this.condemned.has(this.table.packOf(slot));
  }

  chunkIds(): string[] {
    return this.table.chunkIds();
  }

  locate(id: string): ChunkLocation | undefined {
    const slot = this.table.find(id);
    return slot === undefined ? undefined : this.table.location(slot);
  }

  /**
   * Where each of `ids` is, in order (undefined: in no pack). Each is looked up once, and the tables are read
   * again only if one is in a pack this worker has not seen yet (another worker stored it).
   */
  async locateAll(repo: Repository, ids: readonly string[]): Promise<(ChunkLocation | undefined)[]> {
    const found = ids.map((id) => this.locate(id));
    if (!found.includes(undefined)) return found;
    await this.refresh(repo);
    return found.map((at, i) => at ?? this.locate(ids[i]!));
  }

  packs(): PackTable[] {
    return this.table.packNames().map((pack) => this.table.tableOf(pack)!);
  }
}
