import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { repoKeys } from './layout';
import { writePackTable, type PackIndex, type PackTable } from './pack-index';
import type { Repository } from './repository';
import { RepositoryError } from './repository';
import type { SealedBatch } from './chunk-threads';

/** Batches sealing at once on the chunk threads while the event loop fills packs. */
const SEALING = 2;
/** After this many chunks in a row that did not shrink, only every 64th is tried: random data costs next to no compression. */
const MISSES_BEFORE_SAMPLING = 8;
const SAMPLE_EVERY = 64;

export interface WriteStats {
  newChunks: number;
  bytesNew: number;
  bytesStored: number;
  packs: number;
}

interface Batch {
  ids: string[];
  raws: number[];
  sealed: Promise<SealedBatch>;
}

/**
 * Gathers a segment's new chunks, sealed, into packs and stores each pack
 * (the store checks what it receives: S3 against the request's sha256, the fs
 * store by writing, syncing and renaming) before its table: a chunk is known
 * to the index only once its bytes are safe. A crash loses at most the
 * pack being filled; its chunks are sent again by the retry.
 */
export class PackWriter {
  private blobs: Buffer[] = [];
  private table: PackTable['chunks'] = [];
  private size = 0;
  private readonly sealing: Batch[] = [];
  private readonly held = new Set<string>();
  private uploading: Promise<void> = Promise.resolve();
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

  /** Chunks claimed and being sealed elsewhere, in the order they go into packs. */
  async addBatch(ids: string[], raws: number[], sealed: Promise<SealedBatch>): Promise<void> {
    sealed.catch(() => undefined);
    this.sealing.push({ ids, raws, sealed });
    if (this.sealing.length >= SEALING) await this.takeOne();
  }

  /** A chunk already sealed (prune copying it out of a pack it repacks): stored byte for byte, since its seal binds it to its id, not its pack. */
  async addSealed(id: string, bytes: Buffer, raw: number): Promise<void> {
    while (this.sealing.length > 0) await this.takeOne();
    this.held.add(id);
    await this.append(id, bytes, raw);
  }

  private async append(id: string, sealed: Buffer, raw: number): Promise<void> {
    this.table.push([id, this.size, sealed.length, raw]);
    this.blobs.push(sealed);
    this.size += sealed.length;
    this.stats.newChunks++;
    this.stats.bytesNew += raw;
    if (this.size >= this.repo.config.packSize) await this.flush();
  }

  private async takeOne(): Promise<void> {
    const batch = this.sealing.shift()!;
    const { bytes, lengths, compressed } = await batch.sealed;
    let at = 0;
    for (let i = 0; i < batch.ids.length; i++) {
      if (compressed[i]) this.misses = 0;
      else this.misses++;
      await this.append(batch.ids[i]!, bytes.subarray(at, at + lengths[i]!), batch.raws[i]!);
      at += lengths[i]!;
    }
  }

  private async flush(): Promise<void> {
    if (this.blobs.length === 0) return;
    const parts = this.blobs;
    const size = this.size;
    // A random name: hashing the pack again here would only repeat the checksum the store computes as it receives it.
    const table: PackTable = { pack: randomBytes(32).toString('hex'), chunks: this.table };
    this.blobs = [];
    this.table = [];
    this.size = 0;
    // One pack uploads while the next fills; never more, so memory stays at two packs.
    await this.uploading;
    this.uploading = this.upload(parts, size, table);
    this.uploading.catch(() => undefined);
  }

  private async upload(parts: Buffer[], size: number, table: PackTable): Promise<void> {
    const key = repoKeys.pack(table.pack);
    // One buffer: the sealed pieces are many and small, and each would be a write of its own.
    const stored = await this.repo.store.put(key, Readable.from([Buffer.concat(parts, size)]), { expectedSize: size, signal: this.signal });
    if (stored.size !== size) {
      throw new RepositoryError(`pack ${key}: ${this.repo.store.description} reports ${stored.size} bytes, ${size} were sent`, 'Damaged');
    }
    await writePackTable(this.repo, table);
    this.index.add(table);
    this.stats.bytesStored += size;
    this.stats.packs++;
  }

  async finish(): Promise<WriteStats> {
    while (this.sealing.length > 0) await this.takeOne();
    await this.flush();
    await this.uploading;
    return this.stats;
  }
}
