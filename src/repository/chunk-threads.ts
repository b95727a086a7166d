import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { BufferPool } from './buffer-pool';
import {
  sealedBound,
  windowLength,
  type CutReply,
  type HashPieceReply,
  type HashPieceRequest,
  type OpenOutcome,
  type OpenReply,
  type SealReply,
  type ThreadReply,
  type ThreadRequest,
} from './chunk-protocol';
import type { RepositoryRecipe } from './recipe';

/** Each kind of request without the `seq` that send() adds (Omit over the union would merge the kinds). */
type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;
type Request = WithoutSeq<ThreadRequest>;

interface Thread {
  worker: Worker;
  pending: Map<number, { resolve: (reply: ThreadReply) => void; reject: (err: Error) => void }>;
  /** Hash streams pinned here and not ended. */
  streams: number;
}

/**
 * A thread's young generation, in MiB. Each seal leaves a window's worth of
 * cipher and compressor output behind, freed only when its small JS wrappers
 * are collected. V8's default young generation, tens of MiB, let that pile
 * up: 20-30 MiB more peak memory over two threads in a 1 GiB backup. One
 * this small collects it every few windows, at no cost measured in time.
 */
const THREAD_YOUNG_MB = 3;

/** The thread's module, as this module runs: TypeScript through tsx (which a thread does not inherit), or compiled. */
function threadSource(): string {
  const file = path.join(__dirname, `chunk-thread${path.extname(__filename)}`);
  return `${file.endsWith('.ts') ? "require('tsx/cjs');" : ''} require(${JSON.stringify(file)});`;
}

export interface SealedBatch {
  /** A buffer of the threads' pool: give it back (`ChunkThreads.pool.give`) once it is written. */
  bytes: Buffer;
  lengths: number[];
  compressed: boolean[];
}

/** A running hash on one thread: its pieces go there, one after another. */
export interface HashStream {
  /** Hashes [start, start + length) of `file` next; with `last` (or at the file's end) the stream ends and its digests come back. */
  piece(file: string, start: number, length: number, last: boolean): Promise<HashPieceReply>;
  /** Ends the stream without its digests, so the thread forgets it (a hash abandoned halfway). */
  drop(): void;
}

/**
 * One thread per core that cuts, names, seals and opens chunks, and hashes
 * files, so a backup or restore uses every core and the event loop stays free
 * for heartbeats and packs. Requests go to the thread with the least waiting.
 * Hashing shares the threads rather than having its own: each thread is an
 * isolate of about 9 MiB, and a backup that hashed its source and its packs
 * on threads of their own ran five of them on two cores.
 */
export class ChunkThreads {
  private readonly threads: Thread[] = [];
  private seq = 0;
  private lastStream = 0;
  /** Windows, sealed batches and fetched runs go round between the event loop and the threads in these buffers. */
  readonly pool = new BufferPool();
  /**
   * How many ranges of files (a backup's segments, a restore's) may have
   * windows in flight at once, whatever the jobs' concurrency: each holds
   * three pool blocks or four. With four segments at once a 1 GiB backup and
   * restore made 24 blocks, 43 MiB. One per thread left a thread idle while
   * a range wrote its sealed batch, and compressible data waits on sealing:
   * the bench's 1 GiB CSV took 1.43x restic's time; one more range, 1.09x.
   */
  get rangesAtOnce(): number {
    return this.size + 1;
  }
  /** The most memory outside its heap any thread held as it answered: dead cipher and compressor output shows here. */
  externalPeak = 0;

  constructor(readonly size = Math.max(1, Math.min(os.availableParallelism(), 8))) {}

  /** Threads started and not exited. */
  get running(): number {
    return this.threads.length;
  }

  /** Hash streams not ended, per thread. */
  get streamsPerThread(): number[] {
    return this.threads.map((t) => t.streams);
  }

  /** The chunks of a window from `start`; the window's bytes are a pooled buffer: hand it to `seal`, or, when nothing in it is sealed, give it back to `pool`. */
  async cut(recipe: RepositoryRecipe, fd: number, start: number, end: number): Promise<CutReply & { bytes: Buffer }> {
    const into = this.pool.take(windowLength(recipe, start, end));
    const reply = (await this.send({ op: 'cut', recipe, fd, start, end, into })) as CutReply;
    return { ...reply, bytes: this.pool.adopt(reply.bytes) };
  }

  /** Seals chunks of a window `cut` returned; the window goes back to the pool, so the caller must not use it after. */
  async seal(recipe: RepositoryRecipe, window: Buffer, items: [number, number, string, boolean][]): Promise<SealedBatch> {
    const bytes = this.pool.movable(window);
    const raw = items.reduce((n, [, length]) => n + length, 0);
    const into = this.pool.take(sealedBound(raw, items.length));
    const reply = (await this.send({ op: 'seal', recipe, bytes, items, into })) as SealReply;
    this.pool.give(this.pool.adopt(reply.window));
    return { ...reply, bytes: this.pool.adopt(reply.bytes) };
  }

  /** Opens chunks in `bytes` and writes them at their positions; `bytes` goes back to the pool, so the caller must not use it after. */
  async open(recipe: RepositoryRecipe, fd: number, bytes: Buffer, items: [number, number, string, number, number][]): Promise<OpenOutcome> {
    const own = this.pool.movable(bytes);
    const { bytes: back, ...outcome } = (await this.send({ op: 'open', recipe, fd, bytes: own, items })) as OpenReply;
    this.pool.give(this.pool.adopt(back));
    return outcome;
  }

  /** A running hash of `algorithms`, on the thread holding the fewest streams. */
  hashStream(algorithms: HashPieceRequest['algorithms']): HashStream {
    const thread = this.pickForStream();
    const stream = ++this.lastStream;
    thread.streams++;
    let ended = false;
    const end = () => {
      if (!ended) thread.streams--;
      ended = true;
    };
    const piece = async (file: string, start: number, length: number, last: boolean) => {
      try {
        const reply = (await this.send({ op: 'hash', stream, file, start, length, algorithms, last }, thread)) as HashPieceReply;
        if (reply.digests) end();
        return reply;
      } catch (err) {
        // The thread dropped the stream, or is gone.
        end();
        throw err;
      }
    };
    // Ended here, not when the thread answers: an abandoned stream no longer holds its thread.
    const drop = () => {
      if (ended) return;
      end();
      void this.send({ op: 'hash', stream, file: '', start: 0, length: 0, algorithms, last: true }, thread).catch(() => undefined);
    };
    return { piece, drop };
  }

  async close(): Promise<void> {
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  /** Buffers in a request are the pool's shared blocks: they reach the thread without a transfer. */
  private send(request: Request, thread = this.pick()): Promise<Omit<ThreadReply, 'seq' | 'external'>> {
    const seq = ++this.seq;
    return new Promise<ThreadReply>((resolve, reject) => {
      if (!this.threads.includes(thread)) return reject(new Error('the chunk thread this request belongs to has exited'));
      // A thread with work keeps the process alive; an idle one does not.
      if (thread.pending.size === 0) thread.worker.ref();
      thread.pending.set(seq, { resolve, reject });
      thread.worker.postMessage({ ...request, seq });
    }).then((reply) => {
      this.externalPeak = Math.max(this.externalPeak, reply.external);
      if ('error' in reply) throw Object.assign(new Error(reply.error.message), reply.error.code ? { code: reply.error.code } : {});
      const { seq: _seq, external: _external, ...body } = reply;
      return body;
    });
  }

  /**
   * A stream holds its thread for as long as it is fed, so streams are spread
   * by how many each thread has: picked by what was waiting, a new stream went
   * to the thread of a restore's trail whenever the trail idled between parts.
   */
  private pickForStream(): Thread {
    if (this.threads.length < this.size && this.threads.every((t) => t.streams > 0 || t.pending.size > 0)) return this.start();
    return this.threads.reduce((best, t) =>
      t.streams < best.streams || (t.streams === best.streams && t.pending.size < best.pending.size) ? t : best,
    );
  }

  private pick(): Thread {
    if (this.threads.length < this.size && this.threads.every((t) => t.pending.size > 0)) return this.start();
    return this.threads.reduce((best, t) => (t.pending.size < best.pending.size ? t : best));
  }

  private start(): Thread {
    const worker = new Worker(threadSource(), { eval: true, resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_MB } });
    const thread: Thread = { worker, pending: new Map(), streams: 0 };
    worker.on('message', (reply: ThreadReply) => {
      const waiting = thread.pending.get(reply.seq);
      thread.pending.delete(reply.seq);
      if (thread.pending.size === 0) worker.unref();
      waiting?.resolve(reply);
    });
    const gone = (err: Error) => {
      const at = this.threads.indexOf(thread);
      if (at >= 0) this.threads.splice(at, 1);
      for (const waiting of thread.pending.values()) waiting.reject(err);
      thread.pending.clear();
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(new Error(`a chunk thread exited (${code}) with work waiting`)));
    worker.unref();
    this.threads.push(thread);
    return thread;
  }
}

let shared: ChunkThreads | undefined;

/** The process's chunk threads: every activity and store of a worker shares them, so the threads are one per core in all. */
export function processThreads(): ChunkThreads {
  return (shared ??= new ChunkThreads());
}
