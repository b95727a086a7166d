import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Config } from '../../src/config';
import { HOST_WORKER_NODE_OPTIONS, WORKER_PROCESS_ENV } from '../../src/worker-tuning';

const ROOT = path.resolve(__dirname, '..', '..');

/** Peak resident memory of a running process, from the kernel's high-water mark. */
export function peakRssMiB(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A process's command name and CPU times in seconds, from /proc: its own
 * (user and system, every thread) and its ended, waited-for children's.
 * Undefined once the process is gone.
 */
function procTimes(pid: number | 'self'): { name: string; own: number; children: number } | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: the fields start after its last ')'.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  const seconds = (at: number) => Number(fields[at]) / CLOCK_TICKS;
  return { name: stat.slice(stat.indexOf('(') + 1, close), own: seconds(11) + seconds(12), children: seconds(13) + seconds(14) };
}

/** CPU seconds a process has used so far, every thread counted. */
export function cpuSeconds(pid: number | undefined): number {
  return (pid && procTimes(pid)?.own) || 0;
}

/**
 * CPU seconds of every process whose command name is `name` (a database
 * server's postmaster and backends, say), their reaped children included:
 * a backend that ended still counts, in its parent's share.
 */
export function cpuSecondsOfAll(name: string): number {
  let total = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const times = procTimes(Number(pid));
    if (times?.name === name) total += times.own + times.children;
  }
  return total;
}

/** CPU seconds of this process's children that have ended and been waited for (a bulk tool's client, say). */
export function endedChildrenCpuSeconds(): number {
  return procTimes('self')?.children ?? 0;
}

/** Linux reports CPU time in ticks of 1/100 s on every platform it runs on today. */
const CLOCK_TICKS = 100;

/** Runs a reference tool to completion, timing it and sampling its peak memory. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; peakMiB?: number }> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, peakRssMiB(child.pid) ?? 0)), 100);
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(sampler);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code === 0) resolve({ seconds, peakMiB: peak || undefined });
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
  });
}

/**
 * Node's flags for a benchmark's worker: with BENCH_PROF=DIR, each worker
 * writes a CPU profile of every thread it ran (main, workflow, chunk and
 * hash threads) into DIR when it stops, to open in Chrome's DevTools.
 */
export function profileFlags(): string[] {
  const dir = process.env.BENCH_PROF;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir)}`] : [];
}

/**
 * A courier worker in its own process, as users run it: from the checkout
 * through tsx, or `compiled` from `dist` as images run it (see buildDist),
 * with the environment the image and the systemd unit give it (and a
 * host-only worker Node's options, see HOST_WORKER_NODE_OPTIONS).
 */
export function spawnWorker(env: NodeJS.ProcessEnv, options: { args?: string[]; compiled?: boolean } = {}): ChildProcess {
  const cli = options.compiled ? path.join(ROOT, 'dist', 'cli.js') : path.join(ROOT, 'bin', 'courier');
  const child = spawn(process.execPath, [...profileFlags(), cli, 'worker', ...(options.args ?? [])], {
    env: {
      ...WORKER_PROCESS_ENV,
      ...env,
      ...(options.args?.includes('--host-only') ? { NODE_OPTIONS: [env.NODE_OPTIONS, HOST_WORKER_NODE_OPTIONS].filter(Boolean).join(' ') } : {}),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') console.error(`the benchmark's worker exited (${code ?? signal})`);
  });
  return child;
}

/** `npm run build`: the compiled worker and its prebuilt workflow bundle, as the image carries them. */
export function buildDist(): { workflowBundle: string } {
  const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`npm run build failed: ${built.stderr || built.stdout}`);
  return { workflowBundle: path.join(ROOT, 'dist', 'workflow-bundle.js') };
}

export async function stopWorker(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const gone = new Promise((resolve) => worker.once('exit', resolve));
  worker.kill('SIGTERM');
  await gone;
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export const secondsSince = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

/** A worker's resident memory once it polls its queue, before any job: the floor the peak is read against. */
export async function rssOncePolling(client: Client, config: Config, taskQueue: string, pid: number): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const described = await client.workflowService.describeTaskQueue({
      namespace: config.temporal.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
    });
    if ((described.pollers ?? []).length > 0) break;
    if (Date.now() > deadline) throw new Error(`the benchmark's worker did not poll ${taskQueue} within 2 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) / 1024;
}
