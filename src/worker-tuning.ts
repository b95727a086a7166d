import v8 from 'node:v8';
import type { WorkerOptions } from '@temporalio/worker';
import type { Config } from './config';

/**
 * How long a job's next workflow task waits for the worker that ran its last
 * one before any worker may take it. The SDK's 10 s came on top of the
 * heartbeat timeout after every killed worker; a busy worker that misses
 * this only costs a replay elsewhere.
 */
export const stickyTimeoutMs = (heartbeatTimeoutMs: number) => Math.min(5000, heartbeatTimeoutMs);

/**
 * The environment a worker process starts with, set by what launches it (the
 * image, the systemd unit, the benchmarks), since a process cannot set it for
 * itself. glibc gives every thread that allocates its own malloc arena, up to
 * eight per core, each holding on to what it freed, and the host worker
 * allocates from many threads (chunk threads, libuv's pool, Temporal's
 * runtime). Two arenas cut its peak by about 20 MiB in the files bench (273 ->
 * 253 MiB after 1 GiB, 333 -> 313 MiB after 4 GiB), at no cost measured in time.
 */
export const WORKER_PROCESS_ENV = { MALLOC_ARENA_MAX: '2' } as const;

/**
 * Node's options for a worker started with `--host-only`, set by what
 * launches it, as above. V8 lets the main isolate's young generation grow to
 * 48 MiB, and loading the SDK at start grows it to its most: 32 MiB of the
 * host worker's 126 MiB at rest, holding 3-12 MiB of objects. A host worker's
 * event loop only moves chunk lists and packs (its windows are shared memory,
 * see BufferPool), so 2 MiB semi-spaces cost it nothing measured: in the
 * snapshots bench (1 GiB) rest 126 -> 102 MiB, peak 243 -> 219 MiB, first
 * backup 6.64 -> 6.36 s. V8's flags are the process's: every thread gets the
 * limit too, and a resourceLimits given to one does not lift it. The ETL
 * split's threads pay for it only because they read 16 KiB at a time (see
 * READ_PIECE in kinds/etl/records.ts); at 256 KiB they took twice as long.
 * Not for workers that run workflows: their event loop relays every workflow
 * task, and their workflow threads would get the same limit.
 */
export const HOST_WORKER_NODE_OPTIONS = '--max-semi-space-size=2';

/**
 * How far V8 lets the heap grow past what its last full collection kept, in
 * percent. V8 picks up to 300 % from how fast it collects; a worker moving
 * GiBs keeps each segment's chunk list for the second the segment takes, so
 * those lists die old and pile up until the next full collection: in a 4 GiB
 * restore the heap reached 115-137 MiB around 45 MiB of live objects. With
 * 20 %, the files bench's host worker peaked at 245 MiB after 1 GiB and
 * 269 MiB after 4 GiB (253 and 313 without), at no cost measured in time.
 */
const HEAP_GROWING_PERCENT = 20;

/** For a worker process: V8 reads this flag at every collection, so setting it once it runs takes effect. */
export function limitHeapGrowth(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

/** Pollers and slots of a worker: the COURIER_* settings where given, the SDK's defaults otherwise. */
export function workerTuning(config: Pick<Config, 'tuning' | 'heartbeatTimeoutMs'>): Partial<WorkerOptions> {
  const { workflowPollers, activityPollers, workflowSlots, activitySlots } = config.tuning;
  return {
    stickyQueueScheduleToStartTimeout: stickyTimeoutMs(config.heartbeatTimeoutMs),
    ...(workflowSlots ? { maxConcurrentWorkflowTaskExecutions: workflowSlots } : {}),
    ...(activitySlots ? { maxConcurrentActivityTaskExecutions: activitySlots } : {}),
    ...(workflowPollers ? { maxConcurrentWorkflowTaskPolls: workflowPollers } : {}),
    ...(activityPollers ? { maxConcurrentActivityTaskPolls: activityPollers } : {}),
  };
}
