import fs from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { queryProgress, submit, type JobResult } from '../../../src/client';
import { loadConfig, type Config } from '../../../src/config';
import type { JobProgress } from '../../../src/kinds/registry';
import type { Cluster } from './cluster';
import { WorkerPool } from './worker-pool';

export const HEARTBEAT_S = 3;

/** One courier installation of the campaign: its own data dir, task queue, host and store, served by real worker processes. */
export interface Installation {
  name: string;
  env: Record<string, string>;
  config: Config;
  client: Client;
  workers: WorkerPool;
  files: string;
  submit(message: Record<string, unknown>): Promise<string>;
  stop(): Promise<void>;
}

let counter = 0;

export async function startInstallation(cluster: Cluster, name: string, settings: Record<string, string>, workers = 2): Promise<Installation> {
  const dir = path.join(cluster.base, name);
  const files = path.join(dir, 'files');
  await fs.mkdir(files, { recursive: true });
  const id = `${name}-${process.pid}-${++counter}`;
  const env = {
    TEMPORAL_ADDRESS: cluster.address,
    TEMPORAL_NAMESPACE: 'default',
    COURIER_DATA_DIR: path.join(dir, 'data'),
    COURIER_TASK_QUEUE: `campaign-${id}`,
    COURIER_HOST: `campaign-host-${id}`,
    COURIER_HEARTBEAT_TIMEOUT: `${HEARTBEAT_S}s`,
    COURIER_SOURCE_ROOTS: cluster.base,
    COURIER_RESTORE_ROOTS: cluster.base,
    COURIER_LOG_LEVEL: 'warn',
    COURIER_WORKFLOW_BUNDLE: cluster.bundle,
    ...settings,
  };
  const config = loadConfig({ ...process.env, ...env });
  const pool = new WorkerPool(env, workers);
  pool.start();
  return {
    name,
    env,
    config,
    client: cluster.client,
    workers: pool,
    files,
    async submit(message) {
      return (await submit(cluster.client, config, message)).jobId;
    },
    stop: () => pool.stop(),
  };
}

/** A job's end, waited out through server restarts and dead workers: its result, or the failure's message. */
export async function outcomeOf(client: Client, jobId: string, timeoutMs: number): Promise<{ result?: JobResult; error?: string }> {
  const deadline = Date.now() + timeoutMs;
  const handle = client.workflow.getHandle(jobId);
  while (Date.now() < deadline) {
    const described = await handle.describe().catch(() => undefined);
    if (described && described.status.name !== 'RUNNING') {
      try {
        return { result: (await handle.result()) as JobResult };
      } catch (err) {
        const cause = (err as { cause?: Error }).cause;
        return { error: `${described.status.name}: ${cause?.message ?? (err as Error).message}` };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return { error: `still running after ${timeoutMs / 1000} s` };
}

/** What a running job's progress says now; undefined while nothing answers (no worker, the server down). */
export async function progressOf(client: Client, jobId: string): Promise<JobProgress | undefined> {
  return queryProgress(client, jobId, 1500).catch(() => undefined);
}

/** The pid of the worker running the job's current step, from the server's record of it (identity `pid@host`). */
export async function stepWorkerPid(client: Client, jobId: string): Promise<number | undefined> {
  const raw = await client.workflowService
    .describeWorkflowExecution({ namespace: 'default', execution: { workflowId: jobId } })
    .catch(() => undefined);
  const identity = raw?.pendingActivities?.find((a) => a.lastWorkerIdentity)?.lastWorkerIdentity;
  const pid = Number(identity?.split('@')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * SIGKILLs the worker running the job's step, and returns the moment and what
 * the job showed just before it. Progress is read last, so what the job did
 * while the kill point was being reached (a pause inside an upload) does not
 * count as life after the kill. A step just scheduled has no worker yet: it is
 * waited for briefly, then any worker is killed.
 */
export async function killStepWorker(installation: Installation, jobId: string): Promise<{ killedAt: number; atKill: JobProgress | undefined }> {
  const { client } = installation;
  let pid = await stepWorkerPid(client, jobId);
  for (let tries = 0; pid === undefined && tries < 20; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    pid = await stepWorkerPid(client, jobId);
  }
  const atKill = await progressOf(client, jobId);
  await installation.workers.kill(pid);
  return { killedAt: Date.now(), atKill };
}

const progressKey = (p: JobProgress | undefined) => (p ? JSON.stringify({ ...p, lastError: undefined, status: undefined }) : undefined);

/**
 * Seconds from a kill until the job shows life again: its progress moves past
 * what it showed at the kill, or it ends. This is the stall a kill costs.
 */
export async function stallAfterKill(
  client: Client,
  jobId: string,
  atKill: JobProgress | undefined,
  killedAt: number,
  timeoutMs: number,
  /** Other signs of work (rows loaded), compared with what they said at the kill. */
  other: { atKill: string; now: () => Promise<string> } = { atKill: '', now: async () => '' },
): Promise<number> {
  const before = progressKey(atKill);
  const deadline = killedAt + timeoutMs;
  while (Date.now() < deadline) {
    const described = await client.workflow
      .getHandle(jobId)
      .describe()
      .catch(() => undefined);
    if (described && described.status.name !== 'RUNNING') break;
    const now = progressKey(await progressOf(client, jobId));
    if (now !== undefined && now !== before) break;
    if ((await other.now()) !== other.atKill) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return (Date.now() - killedAt) / 1000;
}
