import { Worker } from 'node:worker_threads';

/** What makes an object of the fs store: its bytes in `tmp` (or given here), its metadata, and where both go. */
export interface CommitRequest {
  tmpDir: string;
  /** Holds the object's bytes, fsynced, unless `bytes` is given: then the thread writes them there first. */
  tmp: string;
  bytes?: Uint8Array;
  /** Set when `tmp` was written without an fsync (a link to a file made elsewhere). */
  fsyncTmp?: boolean;
  /** Set when `tmp` may be another link of the object's file: renaming onto it changes nothing and leaves tmp behind. */
  tmpMayBeLink?: boolean;
  target: string;
  metaPath: string;
  metaTmp: string;
  meta: string;
}

// Plain JavaScript, evaluated in the thread: a worker thread does not inherit the TypeScript loader.
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const known = new Set();
const ensureDir = (dir) => {
  if (known.has(dir)) return;
  fs.mkdirSync(dir, { recursive: true });
  if (known.size >= 10000) known.clear();
  known.add(dir);
};
// A directory removed behind the store after it was made is made again.
const inDir = (dir, step) => {
  ensureDir(dir);
  try {
    return step();
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
    known.delete(dir);
    ensureDir(dir);
    return step();
  }
};
const unlinkIfThere = (file) => {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
};
const writeDurably = (file, data) => {
  const fd = fs.openSync(file, 'w');
  try {
    for (let at = 0; at < data.length; ) at += fs.writeSync(fd, data, at, data.length - at);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
};
const syncFile = (file) => {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
};
parentPort.on('message', ({ id, request: r }) => {
  try {
    if (r.bytes) inDir(r.tmpDir, () => writeDurably(r.tmp, r.bytes));
    if (r.fsyncTmp) syncFile(r.tmp);
    // The new bytes must never be paired with the old checksum: the old metadata goes first, the new comes last.
    unlinkIfThere(r.metaPath);
    inDir(path.dirname(r.target), () => fs.renameSync(r.tmp, r.target));
    if (r.tmpMayBeLink) unlinkIfThere(r.tmp);
    syncFile(path.dirname(r.target));
    inDir(r.tmpDir, () => writeDurably(r.metaTmp, Buffer.from(r.meta)));
    inDir(path.dirname(r.metaPath), () => fs.renameSync(r.metaTmp, r.metaPath));
    syncFile(path.dirname(r.metaPath));
    parentPort.postMessage({ id });
  } catch (err) {
    for (const file of [r.tmp, r.metaTmp]) {
      try {
        fs.unlinkSync(file);
      } catch {}
    }
    parentPort.postMessage({ id, error: { message: err.message, code: err.code } });
  }
});
`;

type Reply = { id: number; error?: { message: string; code?: string } };

interface Thread {
  worker: Worker;
  waiting: Map<number, { resolve: () => void; reject: (err: Error) => void }>;
}

/**
 * The last steps of every fs store put, on a thread that makes them as plain
 * system calls: a rename, two directory fsyncs and the metadata file are about
 * a dozen calls, and each one handed to libuv's pool costs the event loop a
 * thread wake-up and a callback, far more than the call itself. Here they cost
 * one message each way. One thread: a put takes it about a millisecond, fsyncs
 * included, and a thread of its own is a few MiB of the worker's memory.
 */
class CommitThread {
  private thread: Thread | undefined;
  private nextId = 0;

  commit(request: CommitRequest): Promise<void> {
    const thread = (this.thread ??= this.start());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // Idle, the thread must not keep the process alive; with a put in flight, it must.
      if (thread.waiting.size === 0) thread.worker.ref();
      thread.waiting.set(id, { resolve, reject });
      thread.worker.postMessage({ id, request });
    });
  }

  private start(): Thread {
    const worker = new Worker(THREAD_SOURCE, { eval: true });
    const thread: Thread = { worker, waiting: new Map() };
    worker.on('message', ({ id, error }: Reply) => {
      const waiter = thread.waiting.get(id);
      thread.waiting.delete(id);
      if (thread.waiting.size === 0) worker.unref();
      if (!error) return waiter?.resolve();
      waiter?.reject(Object.assign(new Error(error.message), { code: error.code }));
    });
    // A thread that died fails what it held; the next put starts a new one.
    const gone = (err: Error) => {
      if (this.thread === thread) this.thread = undefined;
      for (const { reject } of thread.waiting.values()) reject(err);
      thread.waiting.clear();
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(new Error(`the fs store's commit thread exited (code ${code})`)));
    return thread;
  }
}

const thread = new CommitThread();

/** Makes `tmp` the object at `target` with its metadata, durably (see FsStore). */
export const commitObject = (request: CommitRequest): Promise<void> => thread.commit(request);
