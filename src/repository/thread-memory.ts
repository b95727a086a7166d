import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * What a chunk thread may hold outside its heap before a full collection:
 * about one window's worth of sealed or opened chunks more than it holds at
 * rest (4 MiB). Some of each request's buffers outlive a young collection,
 * and V8 frees them only in a full one, which a small heap seldom needs: over
 * a 10 GiB backup and restore each thread's external memory crept from 4 to
 * 25 MiB, and the worker's peak from 165 to 229 MiB. A full collection of a
 * thread's 10 MiB heap takes half a millisecond.
 */
export const THREAD_EXTERNAL_LIMIT = 8 * 1024 * 1024;

/** How often a thread asks again for V8's collector after another thread took the flag away meanwhile. */
const GC_FETCH_TRIES = 100;

/**
 * V8's collector, fetched with the flag set only meanwhile, so no other
 * context gets a global `gc`. The flag is the process's: two threads starting
 * together could each set it, and one clear it before the other's context
 * was made, which then had no `gc` and the thread died as it started. That
 * one sets it again and asks once more.
 */
function exposedGc(): (options?: { type: 'minor' }) => void {
  for (let attempt = 1; ; attempt++) {
    v8.setFlagsFromString('--expose-gc');
    try {
      const gc: unknown = vm.runInNewContext('typeof gc === "function" ? gc : undefined');
      if (typeof gc === 'function') return gc as (options?: { type: 'minor' }) => void;
      if (attempt >= GC_FETCH_TRIES)
        throw new Error(`V8's gc was not exposed after ${GC_FETCH_TRIES} tries: another thread kept clearing --expose-gc`);
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  }
}

/** What a collector reads and runs: V8's, unless a test gives its own. */
export interface Heap {
  external(): number;
  gc(options?: { type: 'minor' }): void;
}

/** What this thread's isolate holds outside its heap: buffers' memory among it. */
export const externalMemory = () => v8.getHeapStatistics().external_memory;

const v8Heap = (): Heap => ({ external: externalMemory, gc: exposedGc() });

/**
 * Collects what a request left behind, on demand: the young generation
 * always, everything once external memory passes `externalLimit`. Sealing and
 * opening leave a window's worth of cipher and compressor output per request,
 * held by a few small Buffer objects; V8 frees that memory only once it
 * collects them, and a thread's small young generation fills with small
 * objects only every few hundred windows.
 */
export function requestCollector(externalLimit = THREAD_EXTERNAL_LIMIT, heap: Heap = v8Heap()): () => void {
  return () => {
    heap.gc({ type: 'minor' });
    // A precise full collection: one with `{ type: 'major' }` kept buffers that had outlived young collections.
    if (heap.external() > externalLimit) heap.gc();
  };
}
