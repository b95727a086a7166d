import type { ChunkThreads } from '../repository/chunk-threads';
import { runningHash, type RunningHash } from './hash-file';

/**
 * The sha256 of a file whose parts are written out of order (a restore's
 * segments), computed while it is written: each time the written prefix
 * grows, a thread reads the new bytes back from the file and hashes them, so
 * checking the whole file at the end no longer costs a second pass over it.
 * What is hashed is what landed in the file, as with a pass at the end.
 *
 * It only knows the parts written by this process: after a restart, or when
 * a part was written twice, `digest` says it cannot tell and the caller
 * hashes the whole file as before.
 */
export class TrailingHashes {
  private readonly trails = new Map<string, Trail>();

  private readonly idleMs: number;
  private readonly threads: ChunkThreads | undefined;

  /**
   * idleMs: a trail nobody wrote to for this long is dropped (its restore moved elsewhere or was abandoned).
   * threads: where the trails hash (default: the process's chunk threads).
   */
  constructor(options: { idleMs?: number; threads?: ChunkThreads } = {}) {
    this.idleMs = options.idleMs ?? 15 * 60_000;
    this.threads = options.threads;
  }

  /** Bytes [offset, offset + size) of `file` are written and will not change. */
  written(file: string, offset: number, size: number): void {
    let trail = this.trails.get(file);
    if (!trail) this.trails.set(file, (trail = new Trail(runningHash(file, this.threads))));
    trail.written(offset, size);
    this.dropIdle();
  }

  /** The sha256 of the first `size` bytes of `file`, or undefined when this process did not see every part of it written. */
  async digest(file: string, size: number): Promise<string | undefined> {
    const trail = this.trails.get(file);
    if (!trail) return undefined;
    try {
      return await trail.digest(size);
    } finally {
      this.forget(file);
    }
  }

  forget(file: string): void {
    this.trails.get(file)?.close();
    this.trails.delete(file);
  }

  close(): void {
    for (const file of [...this.trails.keys()]) this.forget(file);
  }

  private dropIdle(): void {
    const now = Date.now();
    for (const [file, trail] of this.trails) if (now - trail.lastWrite > this.idleMs) this.forget(file);
  }
}

class Trail {
  /** Parts written but not hashed yet, by offset: hashed once everything before them is. */
  private readonly waiting = new Map<number, number>();
  private readonly seen = new Set<number>();
  private hashedTo = 0;
  /** A part written twice may differ from what was hashed, and a part that could not be read back leaves a gap: the trail can no longer vouch for the file. */
  private spoiled = false;
  lastWrite = Date.now();

  constructor(private readonly hash: RunningHash) {}

  written(offset: number, size: number): void {
    this.lastWrite = Date.now();
    if (this.seen.has(offset) || offset < this.hashedTo) this.spoiled = true;
    this.seen.add(offset);
    if (this.spoiled) return;
    this.waiting.set(offset, size);
    for (let next = this.waiting.get(this.hashedTo); next !== undefined; next = this.waiting.get(this.hashedTo)) {
      this.waiting.delete(this.hashedTo);
      this.hash.append(this.hashedTo, next).catch(() => (this.spoiled = true));
      this.hashedTo += next;
    }
  }

  async digest(size: number): Promise<string | undefined> {
    if (this.spoiled || this.hashedTo !== size || this.waiting.size > 0) return undefined;
    // The digest comes once every part appended before it is hashed.
    const sha256 = await this.hash.digest().catch(() => undefined);
    return this.spoiled ? undefined : sha256;
  }

  close(): void {
    this.hash.close();
  }
}
