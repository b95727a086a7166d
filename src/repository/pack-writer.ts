import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { repoKeys } from './layout';
import { writePackTable, type PackIndex, type PackTable } from './pack-index';
import type { Repository } from './repository';
import { RepositoryError } from './repository';
import type { SealedBatch } from './chunk-threads';
import type { ObjectInfo } from '../stores';

/** After this many chunks in a row that did not shrink, only every 64th is tried: random data costs next to no compression. */
const MISSES_BEFORE_SAMPLING = 8;
const SAMPLE_EVERY = 64;

export interface WriteStats {
  newChunks: number;
  bytesNew: number;
  bytesStored: number;
  packs: number;
}

/** Sealed bytes waiting for the store, per pack being filled. */
const STREAM_BUFFER = 2 * 1024 * 1024;

interface OpenPack {
  table: PackTable;
  body: PassThrough;
  stored: Promise<ObjectInfo>;
  size: number;
}

/**
 * Streams a segment's new chunks, sealed, into packs: each pack goes to the
 * store as it fills, so memory holds a batch or two, not whole packs. A pack
 * is committed (the store checks what it receives: S3 against the request's
 * sha256, the fs store by writing, syncing and renaming) before its table: a
 * chunk is known to the index only once its bytes are safe. A crash loses at
 * most the pack being filled; its chunks are sent again by the retry.
 */
export class PackWriter {
  private filling: OpenPack | undefined;
  private readonly held = new Set<string>();
  private committing: Promise<void> = Promise.resolve();
  private misses = 0;
  private skipped = 0;
  readonly stats: WriteStats = { newChunks: 0, bytesNew: 0, bytesStored: 0, packs: 0 };

  constructor(
    private readonly repo: Repository,
    private readonly index: PackIndex,
    private readonly signal?: AbortSignal,
  ) {}

  /** Stored already, or on its way in this writer. */
  knows(id: string): boolean {
    return this.held.has(id) || this.index.has(id);
  }

  /** Claims a chunk this writer will store, and says whether to try compressing it. */
  claim(id: string): boolean {
    this.held.add(id);
    const sampling = this.misses >= MISSES_BEFORE_SAMPLING;
    return this.repo.config.compression !== 'none' && (!sampling || this.skipped++ % SAMPLE_EVERY === SAMPLE_EVERY - 1);
  }

  /** Chunks claimed and sealed on a chunk thread, in the order they go into packs. */
  async addBatch(ids: string[], raws: number[], sealed: SealedBatch): Promise<void> {
    for (const shrank of sealed.compressed) this.misses = shrank ? 0 : this.misses + 1;
    await this.append(
      sealed.bytes,
      ids.map((id, i) => [id, sealed.lengths[i]!, raws[i]!]),
    );
  }

  /** A chunk already sealed (prune copying it out of a pack it repacks): stored byte for byte, since its seal binds it to its id, not its pack. */
  async addSealed(id: string, bytes: Buffer, raw: number): Promise<void> {
    this.held.add(id);
    await this.append(bytes, [[id, bytes.length, raw]]);
  }

  /** Sealed chunks laid end to end in `bytes`, written into packs with one write per pack they land in. */
  private async append(bytes: Buffer, chunks: [id: string, length: number, raw: number][]): Promise<void> {
    let from = 0;
    let at = 0;
    let pack = (this.filling ??= this.open());
    for (const [id, length, raw] of chunks) {
      pack.table.chunks.push([id, pack.size, length, raw]);
      pack.size += length;
      at += length;
      this.stats.newChunks++;
      this.stats.bytesNew += raw;
      if (pack.size >= this.repo.config.packSize) {
        await this.write(pack, bytes.subarray(from, at));
        from = at;
        await this.close();
        pack = this.filling ??= this.open();
      }
    }
    if (at > from) await this.write(pack, bytes.subarray(from, at));
  }

  /** Waits while the store is behind, so unwritten bytes never pile up; a store that failed ends the wait. */
  private async write(pack: OpenPack, bytes: Buffer): Promise<void> {
    if (!pack.body.write(bytes)) await Promise.race([once(pack.body, 'drain'), pack.stored]);
  }

  private open(): OpenPack {
    // A random name: hashing the pack again here would only repeat the checksum the store computes as it receives it.
    const table: PackTable = { pack: randomBytes(32).toString('hex'), chunks: [] };
    const body = new PassThrough({ highWaterMark: STREAM_BUFFER });
    const stored = this.repo.store.put(repoKeys.pack(table.pack), body, { signal: this.signal });
    stored.catch(() => undefined);
    return { table, body, stored, size: 0 };
  }

  /** Ends the pack being filled; it commits, then its table, while the next one fills. Never more than one commits at a time. */
  private async close(): Promise<void> {
    const pack = this.filling;
    if (!pack) return;
    this.filling = undefined;
    pack.body.end();
    await this.committing;
    this.committing = this.commit(pack);
    this.committing.catch(() => undefined);
  }

  private async commit(pack: OpenPack): Promise<void> {
    const key = repoKeys.pack(pack.table.pack);
    const stored = await pack.stored;
    if (stored.size !== pack.size) {
      throw new RepositoryError(`pack ${key}: ${this.repo.store.description} reports ${stored.size} bytes, ${pack.size} were sent`, 'Damaged');
    }
    await writePackTable(this.repo, pack.table);
    this.index.add(pack.table);
    this.stats.bytesStored += pack.size;
    this.stats.packs++;
  }

  async finish(): Promise<WriteStats> {
    await this.close();
    await this.committing;
    return this.stats;
  }

  /** Gives up the pack being filled, so the store drops its partial bytes (after a failure elsewhere in the segment). */
  abandon(reason: Error): void {
    this.filling?.body.destroy(reason);
    this.filling = undefined;
  }
}
