/** Blocks are whole multiples of this, so a block serves the next request of about the same size; callers size their requests to fit. */
export const POOL_UNIT = 1024 * 1024;

/**
 * Large buffers that travel to the chunk threads and back, reused instead of
 * dropped. A buffer moved between threads becomes garbage in the thread that
 * drops it, and V8 collects such external memory only after tens of MiB
 * piled up in each isolate: with three isolates moving 2 MiB windows, that
 * garbage alone was most of a worker's peak memory.
 *
 * Blocks are shared memory, so they go to a thread and back without being
 * transferred. A transferred buffer counts as new external memory in the
 * isolate that receives it, and every 64 MiB of that forces a full
 * collection: the event loop ran 4-9 of them a second during a backup. V8
 * counts shared memory to no isolate.
 */
export class BufferPool {
  private readonly free: SharedArrayBuffer[] = [];
  private freeBytes = 0;
  /** Blocks allocated so far: flat while buffers go round, growing only with the work in flight. */
  made = 0;
  /** The bytes of those blocks: a size that does not fit its block wastes up to a MiB in each. */
  madeBytes = 0;
  /**
   * The blocks this pool made, under every object that stands for one: each
   * message to or from a thread makes a new object for the same memory. Only
   * these come back from a thread as the same memory, so only these are pooled.
   */
  private readonly ours = new WeakSet<SharedArrayBuffer>();

  private owns(block: ArrayBufferLike): block is SharedArrayBuffer {
    return block instanceof SharedArrayBuffer && this.ours.has(block);
  }

  private lastTaken = 0;
  private trimming: NodeJS.Timeout | undefined;

  /**
   * keep: at most this many bytes wait in the pool; beyond it, returned buffers are left to the collector.
   * idleMs: a pool nobody took from for this long lets its blocks go, so a worker between jobs holds none.
   */
  constructor(
    private readonly keep = 64 * 1024 * 1024,
    private readonly idleMs = 10_000,
  ) {}

  /** A buffer of exactly `size` bytes over a pooled block of at least `size`. */
  take(size: number): Buffer {
    this.lastTaken = Date.now();
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const capacity = this.free[i]!.byteLength;
      if (capacity >= size && (best < 0 || capacity < this.free[best]!.byteLength)) best = i;
    }
    if (best >= 0) {
      const [block] = this.free.splice(best, 1);
      this.freeBytes -= block!.byteLength;
      return Buffer.from(block!, 0, size);
    }
    const block = new SharedArrayBuffer(Math.ceil(size / POOL_UNIT) * POOL_UNIT);
    this.ours.add(block);
    this.made++;
    this.madeBytes += block.byteLength;
    return Buffer.from(block, 0, size);
  }

  /** Gives back the block under `bytes` (a view of it will do); its contents are not to be read after. */
  give(bytes: Uint8Array): void {
    const block = bytes.buffer;
    if (!this.owns(block) || block.byteLength === 0 || this.free.includes(block)) return;
    if (this.freeBytes + block.byteLength > this.keep) return;
    this.free.push(block);
    this.freeBytes += block.byteLength;
    this.trimWhenIdle();
  }

  private trimWhenIdle(): void {
    if (this.trimming) return;
    this.trimming = setTimeout(() => {
      this.trimming = undefined;
      if (Date.now() - this.lastTaken < this.idleMs) return this.trimWhenIdle();
      this.free.length = 0;
      this.freeBytes = 0;
    }, this.idleMs);
    this.trimming.unref();
  }

  /** A pooled block may move to a thread; any other memory (a view of Node's shared slab, say) is copied into one first. */
  movable(bytes: Buffer): Buffer {
    if (this.owns(bytes.buffer)) return bytes;
    const copy = this.take(bytes.length);
    bytes.copy(copy);
    return copy;
  }

  /** Marks a block that came back from a thread as the pool's again (every message makes a new object for the same memory). */
  adopt(bytes: Uint8Array): Buffer {
    const block = bytes.buffer;
    // A thread's own buffer (a window larger than its block) arrives transferred: not shared, so not the pool's.
    if (block instanceof SharedArrayBuffer) this.ours.add(block);
    return Buffer.from(block, bytes.byteOffset, bytes.byteLength);
  }

  get pooledBytes(): number {
    return this.freeBytes;
  }
}
