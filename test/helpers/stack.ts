import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, NativeConnection, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { connectClient, queryProgress } from '../../src/client';
import { ENCODED_FAILURES } from '../../src/security/codec';
import type { TransferProgress } from '../../src/kinds/backup/contract';
import { loadConfig, type Config } from '../../src/config';
import { createLogger, installRuntimeLogger } from '../../src/logger';
import { createHandlerWorkers, createHostWorker, createWorker, type WorkerParts } from '../../src/worker';
import { createDeps, type OwnedDeps } from '../../src/activities';

export { randomFile, sha256File } from './files';

const ROOT = path.resolve(__dirname, '..', '..');

export function temporalAddress(): string {
  const address = process.env.COURIER_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('tests need the dev server that `npm test` starts; run them with `npm test [files]`');
  return address;
}

const bundles = new Map<boolean, Promise<WorkflowBundleWithSourceMap>>();
/** One workflow bundle per test file; with the codec on, the one whose failures carry their texts in the encrypted payload. */
export function workflowBundle(encodedFailures = false): Promise<WorkflowBundleWithSourceMap> {
  if (!bundles.has(encodedFailures)) {
    const failureConverterPath = encodedFailures ? ENCODED_FAILURES : undefined;
    bundles.set(
      encodedFailures,
      bundleWorkflowCode({ workflowsPath: path.join(ROOT, 'src', 'workflows'), failureConverterPath, logger: quietBundlerLogger }),
    );
  }
  return bundles.get(encodedFailures)!;
}

const quietBundlerLogger = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error(message: string) {
    console.error(message);
  },
};

let counter = 0;

/** The environment of one isolated courier installation: own data dir and own task queue. */
export async function testEnv(overrides: Record<string, string> = {}): Promise<Record<string, string>> {
  const dataDir = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP ?? os.tmpdir(), 'data-'));
  return {
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: 'default',
    COURIER_DATA_DIR: dataDir,
    COURIER_TASK_QUEUE: `test-${process.pid}-${++counter}-${Date.now()}`,
    // Host queues are shared by the namespace: every installation a test makes is its own host.
    COURIER_HOST: `host-${process.pid}-${counter}-${Date.now()}`,
    COURIER_HEARTBEAT_TIMEOUT: '3s',
    // The suite's files live under its work dir; a worker reads and writes nothing else.
    COURIER_SOURCE_ROOTS: process.env.COURIER_TEST_TMP ?? os.tmpdir(),
    COURIER_RESTORE_ROOTS: process.env.COURIER_TEST_TMP ?? os.tmpdir(),
    COURIER_LOG_LEVEL: process.env.COURIER_TEST_LOG_LEVEL ?? 'fatal',
    ...overrides,
  };
}

export interface Stack {
  env: Record<string, string>;
  config: Config;
  client: Client;
  worker?: Worker;
  startWorker(parts?: Pick<WorkerParts, 'wrapActivities'>): Promise<Worker>;
  /** Workers for dispatch topics, in process; stopped with the stack. */
  startHandlerWorkers(topics: string[]): Promise<void>;
  stopHandlerWorkers(): Promise<void>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

/** A client and (on demand) an in-process worker against the suite's dev server. */
export async function createStack(overrides: Record<string, string> = {}): Promise<Stack> {
  const env = await testEnv(overrides);
  const config = loadConfig({ ...process.env, ...env });
  const client = await connectClient(config);
  let running: Promise<void> | undefined;
  let hostWorker: Worker | undefined;
  let ownedDeps: OwnedDeps | undefined;
  let connection: NativeConnection | undefined;
  let handlerWorkers: { workers: Worker[]; running: Promise<unknown> } | undefined;
  const stack: Stack = {
    env,
    config,
    client,
    async startWorker(parts = {}) {
      const logger = createLogger(config, 'test-worker');
      installRuntimeLogger(logger);
      connection ??= await NativeConnection.connect({ address: config.temporal.address });
      // One set of deps for both workers, as runWorker makes; closed when the worker stops, so no pool outlives it.
      const deps = createDeps(config);
      ownedDeps = deps;
      const worker = await createWorker(config, {
        ...parts,
        deps,
        connection,
        workflowBundle: await workflowBundle(config.codecKeys !== undefined),
        logger,
      });
      // This installation's host: the file steps of its jobs run here.
      const host = await createHostWorker(config, { ...parts, deps, connection, logger });
      stack.worker = worker;
      hostWorker = host;
      running = Promise.all([worker.run(), host.run()]).then(() => undefined);
      return worker;
    },
    async startHandlerWorkers(topics) {
      connection ??= await NativeConnection.connect({ address: config.temporal.address });
      const workers = await createHandlerWorkers(config, topics, { connection, logger: createLogger(config, 'test-handlers') });
      handlerWorkers = { workers, running: Promise.all(workers.map((w) => w.run())) };
    },
    async stopHandlerWorkers() {
      if (!handlerWorkers) return;
      for (const worker of handlerWorkers.workers) worker.shutdown();
      await handlerWorkers.running;
      handlerWorkers = undefined;
    },
    async stopWorker() {
      if (!stack.worker) return;
      stack.worker.shutdown();
      hostWorker?.shutdown();
      await running;
      await ownedDeps?.close();
      ownedDeps = undefined;
      stack.worker = undefined;
      hostWorker = undefined;
    },
    async close() {
      await stack.stopWorker();
      await stack.stopHandlerWorkers();
      await connection?.close();
      await client.connection.close();
    },
  };
  return stack;
}

/**
 * Worker parts whose real backup segments each take `ms` longer (those of the
 * backups `which` names), so a test can act while a job runs.
 */
export function slowSegments(ms: number, which: (backup: string) => boolean = () => true): Pick<WorkerParts, 'wrapActivities'> {
  return {
    wrapActivities: (real) => ({
      ...real,
      async backupSegment(ref) {
        if (which(ref.name)) await new Promise((resolve) => setTimeout(resolve, ms));
        return real.backupSegment(ref);
      },
    }),
  };
}

/** A worker in a child process, the way operators run it, so a test can SIGKILL it. */
export function spawnWorker(env: Record<string, string>, args: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'courier'), 'worker', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

/** The activity types a workflow scheduled, in order, from its history. */
export async function scheduledActivities(client: Client, workflowId: string): Promise<string[]> {
  return ((await client.workflow.getHandle(workflowId).fetchHistory()).events ?? []).flatMap((e) =>
    e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name ?? ''] : [],
  );
}

/** Runs the courier CLI and collects its output. */
export function runCli(args: string[], env: Record<string, string>, input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'courier'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until a backup is in its upload phase with at least `parts` parts done: a point where a test can act on a running job. */
export function uploadsBegun(client: Client, jobId: string, parts: number): Promise<true> {
  return waitUntil('uploads to begin', async () => {
    const progress = await queryProgress(client, jobId);
    return progress?.kind === 'backup' && progress.phase === 'upload' && progress.partsDone >= parts;
  });
}

/** A backup's or restore's live progress (parts and bytes); undefined while nothing answers. */
export async function transferProgress(client: Client, jobId: string): Promise<TransferProgress | undefined> {
  const progress = await queryProgress(client, jobId);
  return progress?.kind === 'backup' || progress?.kind === 'restore' ? progress : undefined;
}
