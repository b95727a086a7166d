import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { RecordError } from './records';
import type { RangeJob, RangeSplit } from './split-range';

type Reply = { progress: number } | { done: RangeSplit } | { error: { message: string; record: boolean } };

/** The thread's module, as this module runs: TypeScript through tsx (which a thread does not inherit), or compiled. */
function threadSource(): string {
  const file = path.join(__dirname, `split-thread${path.extname(__filename)}`);
  return `${file.endsWith('.ts') ? "require('tsx/cjs');" : ''} require(${JSON.stringify(file)});`;
}

/**
 * Splits each range on a thread of its own, all at once. Resolves with every
 * range's split, or rejects with the first bad record in file order (a
 * RecordError) or any other failure; `signal` stops the threads.
 */
export async function splitOnThreads(jobs: RangeJob[], onProgress: (records: number) => void, signal?: AbortSignal): Promise<RangeSplit[]> {
  const done = new Array<number>(jobs.length).fill(0);
  const workers: Worker[] = [];
  const stop = () => workers.forEach((w) => void w.terminate());
  signal?.addEventListener('abort', stop, { once: true });
  const runs = jobs.map(
    (job, i) =>
      new Promise<RangeSplit>((resolve, reject) => {
        const worker = new Worker(threadSource(), { eval: true });
        workers.push(worker);
        worker.on('message', (reply: Reply) => {
          if ('progress' in reply) {
            done[i] = reply.progress;
            onProgress(done.reduce((a, b) => a + b, 0));
          } else if ('done' in reply) resolve(reply.done);
          else reject(reply.error.record ? new RecordError(reply.error.message) : new Error(reply.error.message));
        });
        worker.on('error', reject);
        worker.on('exit', (code) =>
          reject(new Error(signal?.aborted ? 'the split was stopped' : `a split thread exited (${code}) before it was done`)),
        );
        worker.postMessage(job);
      }),
  );
  const settled = await Promise.allSettled(runs);
  signal?.removeEventListener('abort', stop);
  await Promise.all(workers.map((w) => w.terminate()));
  signal?.throwIfAborted();
  const failed = settled.find((s) => s.status === 'rejected' && s.reason instanceof RecordError) ?? settled.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((s) => (s as PromiseFulfilledResult<RangeSplit>).value);
}
