import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { repoKeys } from './layout';
import { writePackTable, type PackIndex, type PackTable } from './pack-index';
import type { Repository } from './repository';
import { RepositoryError } from './repository';

/** Chunks sealing at once: compression runs on libuv's pool while the event loop cuts the next chunks. */
const SEALING = 8;
/** After this many chunks in a row that did not shrink, only every 16th is tried: random data costs no compression. */
const MISSES_BEFORE_SAMPLING = 8;

export interface WriteStats {
  newChunks: number;
  bytesNew: number;
  bytesStored: number;
  packs: number;
}

/**
 * Gathers a segment's new chunks, sealed, into packs and stores each pack,
 * verified by the sha256 the store computed, before its table: a chunk is
 * known to the index only once its bytes are safe. A crash loses at most the
 * pack being filled; its chunks are sent again by the retry.
 */
export class PackWriter {
  private blobs: Buffer[] = [];
  private table: PackTable['chunks'] = [];
  private size = 0;
  private readonly sealing: { id: string; raw: number; sealed: Promise<{ bytes: Buffer; compressed: boolean }> }[] = [];
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

  /** `plain` must stay unchanged until sealed: pass a copy of a reused buffer. */
  async add(id: string, plain: Buffer): Promise<void> {
    this.held.add(id);
    const sampling = this.misses >= MISSES_BEFORE_SAMPLING;
    const tryCompress = !sampling || this.skipped++ % 16 === 15;
    this.sealing.push({ id, raw: plain.length, sealed: this.repo.sealer.seal(plain, id, tryCompress) });
    if (this.sealing.length >= SEALING) await this.takeOne();
  }

  /** A chunk already sealed (prune copying it out of a pack it repacks): stored byte for byte, since its seal binds it to its id, not its pack. */
  async addSealed(id: string, bytes: Buffer, raw: number): Promise<void> {
    while (this.sealing.length > 0) await this.takeOne();
    this.held.add(id);
    await this.append(id, bytes, raw);
  }

  private async append(id: string, bytes: Buffer, raw: number): Promise<void> {
    this.table.push([id, this.size, bytes.length, raw]);
    this.blobs.push(bytes);
    this.size += bytes.length;
    this.stats.newChunks++;
    this.stats.bytesNew += raw;
    if (this.size >= this.repo.config.packSize) await this.flush();
  }

  private async takeOne(): Promise<void> {
    const next = this.sealing.shift()!;
    const { bytes, compressed } = await next.sealed;
    if (compressed) this.misses = 0;
    else this.misses++;
    await this.append(next.id, bytes, next.raw);
  }

  private async flush(): Promise<void> {
    if (this.blobs.length === 0) return;
    const bytes = Buffer.concat(this.blobs);
    const table: PackTable = { pack: createHash('sha256').update(bytes).digest('hex'), chunks: this.table };
    this.blobs = [];
    this.table = [];
    this.size = 0;
    // One pack uploads while the next fills; never more, so memory stays at two packs.
    await this.uploading;
    this.uploading = this.upload(bytes, table);
    this.uploading.catch(() => undefined);
  }

  private async upload(bytes: Buffer, table: PackTable): Promise<void> {
    const key = repoKeys.pack(table.pack);
    const stored = await this.repo.store.put(key, Readable.from([bytes]), {
      expectedSha256: table.pack,
      expectedSize: bytes.length,
      signal: this.signal,
    });
    if (stored.sha256 !== table.pack || stored.size !== bytes.length) {
      throw new RepositoryError(`pack ${key}: ${this.repo.store.description} reports sha256 ${stored.sha256}, expected ${table.pack}`, 'Damaged');
    }
    await writePackTable(this.repo, table);
    this.index.add(table);
    this.stats.bytesStored += bytes.length;
    this.stats.packs++;
  }

  async finish(): Promise<WriteStats> {
    while (this.sealing.length > 0) await this.takeOne();
    await this.flush();
    await this.uploading;
    return this.stats;
  }
}
