import os from 'node:os';
import { Worker } from 'node:worker_threads';

export type HashAlgorithm = 'sha256' | 'md5';

export interface HashRequest {
  file: string;
  /** First byte to hash (default 0). */
  start?: number;
  /** Bytes to hash from start (default: to the end of the file). */
  length?: number;
  algorithms: HashAlgorithm[];
  /** Feeds the thread's running hash instead of a new one, and leaves it open (see runningHash). */
  keep?: boolean;
  /** Ends the running hash: its digests, over everything kept so far. */
  digest?: boolean;
}

export interface HashResult {
  size: number;
  digests: Partial<Record<HashAlgorithm, string>>;
}

export interface HashOptions {
  signal?: AbortSignal;
  /** Called with the running byte count, about every 16 MiB. */
  onProgress?: (bytes: number) => void;
  /** A thread of its own, for hashing a whole large file, so part-sized work never queues behind it. */
  dedicated?: boolean;
}

// Plain JavaScript, evaluated in the thread: a worker thread does not inherit the TypeScript loader.
// Each thread reads through one buffer for its whole life, and a backup keeps three of them (the source's, and two for
// packs): 1 MiB reads hash as fast as 4 MiB ones and hold 9 MiB less.
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const buffer = Buffer.allocUnsafe(1024 * 1024);
const PROGRESS_EVERY = 16 * 1024 * 1024;
// A running hash (see runningHash) goes on across requests until one asks for its digest.
let running;
let runningSize = 0;
const digestsOf = (algorithms, hashes) => Object.fromEntries(algorithms.map((algorithm, i) => [algorithm, hashes[i].digest('hex')]));
parentPort.on('message', ({ file, start = 0, length, algorithms, keep, digest }) => {
  if (digest) {
    const hashes = running ?? algorithms.map((algorithm) => createHash(algorithm));
    running = undefined;
    return parentPort.postMessage({ result: { size: runningSize, digests: digestsOf(algorithms, hashes) } });
  }
  let fd;
  try {
    fd = fs.openSync(file, 'r');
    const hashes = keep ? (running ??= algorithms.map((algorithm) => createHash(algorithm))) : algorithms.map((algorithm) => createHash(algorithm));
    let size = 0;
    let reported = 0;
    for (;;) {
      const want = length === undefined ? buffer.length : Math.min(buffer.length, length - size);
      if (want <= 0) break;
      const read = fs.readSync(fd, buffer, 0, want, start + size);
      if (read === 0) break;
      const view = buffer.subarray(0, read);
      for (const hash of hashes) hash.update(view);
      size += read;
      if (size - reported >= PROGRESS_EVERY) {
        reported = size;
        parentPort.postMessage({ progress: size });
      }
    }
    if (keep) runningSize += size;
    parentPort.postMessage({ result: { size, digests: keep ? {} : digestsOf(algorithms, hashes) } });
  } catch (err) {
    parentPort.postMessage({ error: { message: err.message, code: err.code } });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
});
`;

type ThreadMessage = { progress: number } | { result: HashResult } | { error: { message: string; code?: string } };

interface Job {
  request: HashRequest;
  options: HashOptions;
  resolve: (result: HashResult) => void;
  reject: (err: Error) => void;
}

function newThread(): Worker {
  const thread = new Worker(THREAD_SOURCE, { eval: true });
  thread.unref();
  return thread;
}

/** Runs one request on a thread; the thread is terminated if the caller aborts, since a read loop cannot be interrupted. */
function runOn(thread: Worker, job: Job): Promise<'idle' | 'gone'> {
  const { request, options } = job;
  return new Promise((settle) => {
    const finish = (outcome: 'idle' | 'gone') => {
      thread.off('message', onMessage);
      thread.off('error', onError);
      options.signal?.removeEventListener('abort', onAbort);
      settle(outcome);
    };
    const onMessage = (message: ThreadMessage) => {
      if ('progress' in message) return options.onProgress?.(message.progress);
      if ('result' in message) {
        options.onProgress?.(message.result.size);
        job.resolve(message.result);
      } else {
        job.reject(Object.assign(new Error(`hashing ${request.file}: ${message.error.message}`), { code: message.error.code }));
      }
      finish('idle');
    };
    const onError = (err: Error) => {
      job.reject(err);
      finish('gone');
    };
    const onAbort = () => {
      job.reject(options.signal!.reason instanceof Error ? options.signal!.reason : new Error('hashing cancelled'));
      void thread.terminate();
      finish('gone');
    };
    if (options.signal?.aborted) return onAbort();
    thread.on('message', onMessage);
    thread.on('error', onError);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    thread.postMessage(request);
  });
}

/** A few threads that hash files, so hashing uses every core while the event loop stays free for heartbeats. */
class HashPool {
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private threads = 0;

  constructor(private readonly size: number) {}

  submit(job: Job): void {
    this.queue.push(job);
    this.drain();
  }

  private drain(): void {
    while (this.queue.length > 0 && (this.idle.length > 0 || this.threads < this.size)) {
      const job = this.queue.shift()!;
      if (job.options.signal?.aborted) {
        job.reject(new Error('hashing cancelled'));
        continue;
      }
      let thread = this.idle.pop();
      if (!thread) {
        thread = newThread();
        this.threads++;
      }
      const running = thread;
      void runOn(running, job).then((outcome) => {
        if (outcome === 'idle') this.idle.push(running);
        else this.threads--;
        this.drain();
      });
    }
  }
}

const pool = new HashPool(Math.max(2, os.availableParallelism()));

/**
 * Whether hashing a whole file of this size is worth a thread of its own: a
 * large one would hold a shared thread so long that part-sized work queues
 * behind it, and a small one is done before a new thread (tens of ms) has started.
 */
export const ownThreadFor = (bytes: number): boolean => bytes > 64 * 1024 * 1024;

/** Hashes a file, or a byte range of it, off the main thread. */
export function hashFile(request: HashRequest, options: HashOptions = {}): Promise<HashResult> {
  return new Promise((resolve, reject) => {
    const job: Job = { request, options, resolve, reject };
    if (!options.dedicated) return pool.submit(job);
    const thread = newThread();
    void runOn(thread, job).then(() => thread.terminate());
  });
}

/** A hash fed byte ranges of a file one after another, on a thread of its own; each range is read from the file as it is now. */
export interface RunningHash {
  /** Hashes [start, start + length) next; rejects if the file holds fewer bytes there. */
  append(start: number, length: number): Promise<void>;
  /** The sha256 of everything appended, once every append before it is done. */
  digest(): Promise<string>;
  close(): void;
}

export function runningHash(file: string): RunningHash {
  const thread = newThread();
  // runOn handles one request at a time on a thread: each waits for the one before it.
  let last: Promise<unknown> = Promise.resolve();
  const request = (req: HashRequest) => {
    const done = last.then(
      () =>
        new Promise<HashResult>((resolve, reject) => {
          void runOn(thread, { request: req, options: {}, resolve, reject });
        }),
    );
    last = done.catch(() => undefined);
    return done;
  };
  return {
    async append(start, length) {
      const { size } = await request({ file, start, length, algorithms: ['sha256'], keep: true });
      if (size !== length) throw new Error(`hashing ${file}: the file ended at byte ${start + size}, before ${start + length}`);
    },
    async digest() {
      return (await request({ file, algorithms: ['sha256'], digest: true })).digests.sha256!;
    },
    close: () => void thread.terminate(),
  };
}
