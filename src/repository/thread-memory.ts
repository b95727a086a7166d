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

/**
 * Collects what a request left behind, on demand: the young generation
 * always, everything once external memory passes `externalLimit`. Sealing and
 * opening leave a window's worth of cipher and compressor output per request,
 * held by a few small Buffer objects; V8 frees that memory only once it
 * collects them, and a thread's small young generation fills with small
 * objects only every few hundred windows. The flag is set only while the
 * collector is fetched, so no other context gets a global `gc`.
 */
export function requestCollector(externalLimit = THREAD_EXTERNAL_LIMIT): () => void {
  v8.setFlagsFromString('--expose-gc');
  let gc: (options?: { type: 'minor' }) => void;
  try {
    gc = vm.runInNewContext('gc') as typeof gc;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
  return () => {
    gc({ type: 'minor' });
    // A precise full collection: one with `{ type: 'major' }` kept buffers that had outlived young collections.
    if (v8.getHeapStatistics().external_memory > externalLimit) gc();
  };
}
