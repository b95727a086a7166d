/**
 * `npm run bench -- small`: BENCH_SMALL_JOBS (default 1,000) backups of 4 KiB
 * files, all submitted at once to one courier worker, against as many no-op
 * workflows of one activity (scripts/bench/floor) on the same dev server with
 * the same worker tuning: the Temporal floor. Rounds alternate who goes first.
 * Ends with `ratio small=X`: courier's jobs/s over the floor's (higher is better;
 * the target is 0.8).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { connectClient, submit } from '../../src/client';
import { loadConfig } from '../../src/config';
import { FLOOR_QUEUE } from './floor/worker';
import { WORKER_PROCESS_ENV } from '../../src/worker-tuning';
import { cpuSeconds, median, peakRssMiB, profileFlags, secondsSince, spawnWorker, stopWorker } from './processes';

/** Runs `work` over every item, at most `width` at a time. */
async function inPool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

function spawnFloorWorker(env: NodeJS.ProcessEnv): ChildProcess {
  const script = path.join(__dirname, 'floor', 'worker.ts');
  // The process settings courier's workers start with, so the two differ only in the work they do.
  const child = spawn(process.execPath, [...profileFlags(), '--import', 'tsx', script], {
    env: { ...WORKER_PROCESS_ENV, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') console.error(`the floor worker exited (${code ?? signal})`);
  });
  return child;
}

/** Starts every job (`start` gets its id and number), then waits for each to end; jobs/s from the first start to the last end. */
async function timed(client: Client, ids: string[], start: (id: string, i: number) => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await inPool(
    ids.map((id, i) => [id, i] as const),
    32,
    ([id, i]) =>
      start(id, i).catch((err: Error) => {
        throw new Error(`starting ${id}: ${err.message}`);
      }),
  );
  const failures: string[] = [];
  await inPool(ids, 64, async (id) => {
    await client.workflow
      .getHandle(id)
      .result()
      .catch((err: Error) => failures.push(`${id}: ${err.message}: ${(err.cause as Error | undefined)?.message ?? ''}`));
  });
  if (failures.length > 0) throw new Error(`${failures.length} of ${ids.length} jobs failed, the first ${failures[0]}`);
  return ids.length / secondsSince(started);
}

export async function benchSmall(options: { work: string; env: NodeJS.ProcessEnv; rounds: number; serverPid?: number }): Promise<string> {
  const { work, rounds, serverPid } = options;
  // A queue of its own: no other bench worker on the server takes these jobs.
  const env = { ...options.env, COURIER_TASK_QUEUE: 'bench-small' };
  const jobs = Number(process.env.BENCH_SMALL_JOBS ?? 1000);
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`BENCH_SMALL_JOBS=${process.env.BENCH_SMALL_JOBS} must be a whole number of at least 1`);
  const config = loadConfig(env);
  const sources = path.join(work, 'small');
  fs.mkdirSync(sources, { recursive: true });
  const files = Array.from({ length: jobs }, (_, i) => {
    const file = path.join(sources, `file-${i}.bin`);
    fs.writeFileSync(file, crypto.randomBytes(4096));
    return file;
  });
  const worker = spawnWorker(env);
  const floor = spawnFloorWorker(env);
  const client = await connectClient(config);
  const samples: { courier: number[]; floor: number[] } = { courier: [], floor: [] };
  const courierRound = async (round: number | string, count = jobs) => {
    const ids = files.slice(0, count).map((_, i) => `bench-small-${round}-${i}`);
    return timed(client, ids, async (id, i) => {
      await submit(client, config, { kind: 'backup', id, source: files[i], name: id });
    });
  };
  const floorRound = async (round: number | string, count = jobs) => {
    const ids = Array.from({ length: count }, (_, i) => `bench-floor-${round}-${i}`);
    return timed(client, ids, async (id) => {
      await client.workflow.start('floorJob', { workflowId: id, taskQueue: FLOOR_QUEUE, args: [] });
    });
  };
  try {
    console.log(`${jobs} backups of 4 KiB against ${jobs} no-op workflows of one activity, ${rounds} rounds`);
    // Both workers bundle their workflows and warm up before anything is timed.
    await courierRound('warmup', Math.min(jobs, 20));
    await floorRound('warmup', Math.min(jobs, 20));
    for (let round = 1; round <= rounds; round++) {
      const order: ['courier' | 'floor', typeof courierRound][] =
        round % 2 === 1
          ? [
              ['courier', courierRound],
              ['floor', floorRound],
            ]
          : [
              ['floor', floorRound],
              ['courier', courierRound],
            ];
      const line: string[] = [];
      for (const [who, step] of order) {
        // Where each job's CPU went: the server, the worker that ran it, and this process (the client that starts and awaits jobs).
        const pid = (who === 'courier' ? worker : floor).pid;
        const before = { server: cpuSeconds(serverPid), worker: cpuSeconds(pid), client: process.cpuUsage() };
        const rate = await step(round);
        const client = process.cpuUsage(before.client);
        const perJob = (seconds: number) => `${((seconds * 1000) / jobs).toFixed(0)}`;
        samples[who].push(rate);
        line.push(
          `${who} ${rate.toFixed(1)} jobs/s (CPU ms/job: server ${perJob(cpuSeconds(serverPid) - before.server)}, ` +
            `worker ${perJob(cpuSeconds(pid) - before.worker)}, client ${perJob((client.user + client.system) / 1e6)})`,
        );
      }
      console.log(`round ${round}/${rounds}: ${line.join('; ')}`);
    }
    const courier = median(samples.courier);
    const floorRate = median(samples.floor);
    console.log(
      `median: courier ${courier.toFixed(1)} jobs/s, floor ${floorRate.toFixed(1)} jobs/s; ` +
        `peak RSS courier worker ${peakRssMiB(worker.pid)?.toFixed(0) ?? '?'} MiB`,
    );
    return `ratio small=${(courier / floorRate).toFixed(2)}`;
  } finally {
    await stopWorker(worker);
    await stopWorker(floor);
    await client.connection.close();
  }
}
