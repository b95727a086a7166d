/**
 * The body of a split thread: splits one range of a file into batch files
 * (split-range.ts) and reports its progress and outcome to the step that started it.
 */
import { parentPort } from 'node:worker_threads';
import { RecordError } from './records';
import { splitRange, type RangeJob } from './split-range';

parentPort!.once('message', (job: RangeJob) => {
  let last = 0;
  splitRange(job, (records) => {
    const now = Date.now();
    if (now - last < 500) return;
    last = now;
    parentPort!.postMessage({ progress: records });
  }).then(
    (done) => parentPort!.postMessage({ done }),
    (err: Error) => parentPort!.postMessage({ error: { message: err.message, record: err instanceof RecordError } }),
  );
});
