import { randomBytes } from 'node:crypto';
import fs, { type FileHandle } from 'node:fs/promises';
import type { BufferPool } from './buffer-pool';
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

interface OpenPack {
  table: PackTable;
  /** The pack's bytes are written here as they come, then the file goes to the store whole (which S3 needs anyway). */
  spool: string;
  handle: Promise<FileHandle>;
  size: number;
}

/**
 * Writes a segment's new chunks, sealed, into packs: each batch is written to
 * the pack's spool file as it comes and its buffer goes back to the pool, so
 * memory holds a batch or two, not whole packs. A full pack goes to the store
 * while the next one fills, and is committed (the store checks what it
 * receives: S3 against the request's sha256, the fs store by hashing, syncing
 * and renaming) before its table: a chunk is known to the index only once its
 * bytes are safe. A crash loses at most the packs not committed; their chunks
 * are sent again by the retry.
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
    /** Where sealed batches go back once written. */
    private readonly pool?: BufferPool,
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
    this.pool?.give(sealed.bytes);
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
    let pack = (this.filling ??= await this.open());
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
        pack = this.filling ??= await this.open();
      }
    }
    if (at > from) await this.write(pack, bytes.subarray(from, at));
  }

  /** Returns once the bytes are in the spool file, so the caller may reuse their buffer. */
  private async write(pack: OpenPack, bytes: Buffer): Promise<void> {
    this.signal?.throwIfAborted();
    const handle = await pack.handle;
    for (let at = 0; at < bytes.length;) at += (await handle.write(bytes, at, bytes.length - at)).bytesWritten;
  }

  private async open(): Promise<OpenPack> {
    // A random name: hashing the pack again here would only repeat the checksum the store computes as it receives it.
    const table: PackTable = { pack: randomBytes(32).toString('hex'), chunks: [] };
    const spool = await this.repo.store.spoolPath('pack');
    const handle = fs.open(spool, 'wx');
    handle.catch(() => undefined);
    return { table, spool, handle, size: 0 };
  }

  /** The spool file, closed and removed (a partial pack, or one the store has taken). */
  private static async drop(pack: OpenPack): Promise<void> {
    await (await pack.handle.catch(() => undefined))?.close().catch(() => undefined);
    await fs.rm(pack.spool, { force: true });
  }

  /** Ends the pack being filled; it commits, then its table, while the next one fills. Never more than one commits at a time. */
  private async close(): Promise<void> {
    const pack = this.filling;
    if (!pack) return;
    this.filling = undefined;
    try {
      await (await pack.handle).close();
    } catch (err) {
      await PackWriter.drop(pack);
      throw err;
    }
    await this.committing;
    this.committing = this.commit(pack);
    this.committing.catch(() => undefined);
  }

  private async commit(pack: OpenPack): Promise<void> {
    const key = repoKeys.pack(pack.table.pack);
    let stored: ObjectInfo;
    try {
      stored = await this.repo.store.putFile(key, pack.spool, { signal: this.signal });
    } finally {
      await fs.rm(pack.spool, { force: true });
    }
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

  /** Gives up the pack being filled and removes its spool file (after a failure elsewhere in the segment). */
  abandon(): void {
    if (this.filling) void PackWriter.drop(this.filling);
    this.filling = undefined;
  }
}
