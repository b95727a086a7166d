import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type WorkflowHandle,
} from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { Config } from './config';
import { jobIdFor } from './job-id';
import type { BackupInput, BackupResult, JobSettings, Progress, RestoreInput, RestoreResult } from './jobs';
import { QUERIES } from './jobs';
import { parseMessage, type Message, type MessageKind } from './messages';
import { CourierKind, CourierStatus } from './search-attributes';

export type JobResult = BackupResult | RestoreResult;
export type JobStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed-out';

export interface JobView {
  jobId: string;
  kind: string;
  status: JobStatus;
  startTime: Date;
  closeTime?: Date;
  progress?: Progress;
  result?: JobResult;
  error?: string;
}

export class JobFailedError extends Error {
  constructor(readonly jobId: string, readonly status: JobStatus, cause: string) {
    super(cause);
    this.name = 'JobFailedError';
  }
}

export class JobNotFoundError extends Error {
  constructor(readonly jobId: string) {
    super(`no job with id "${jobId}"; \`courier list\` shows the jobs the server knows`);
    this.name = 'JobNotFoundError';
  }
}

export async function connectClient(config: Config): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...config.temporal.connectionOptions, connectTimeout: '5 seconds' });
  } catch (err) {
    throw new Error(
      `cannot reach the Temporal server at ${config.temporal.address} (namespace ${config.temporal.namespace}): ${(err as Error).message}\n` +
        `start it with \`npm start\` or \`courier dev-server\`, or point TEMPORAL_ADDRESS at your cluster`,
    );
  }
  return new Client({ connection, namespace: config.temporal.namespace });
}

export function settingsFor(config: Config, message: Message): JobSettings {
  return {
    partSize: (message.kind === 'backup' && message.partSize) || config.partSize,
    concurrency: config.concurrency,
    checksums: (message.kind === 'backup' && message.checksums) || (config.md5 ? 'sha256+md5' : 'sha256'),
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
  };
}

/**
 * A backup done once stays done (resubmitting it finds the finished job; a new
 * backup takes a new name); a failed one may run again. A restore may be repeated.
 */
const REUSE_POLICY: Record<MessageKind, WorkflowIdReusePolicy> = {
  backup: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
  restore: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
};

export interface Submission {
  jobId: string;
  kind: MessageKind;
  /** true when the id belongs to a job that had already finished, so nothing new started. */
  alreadyFinished: boolean;
}

/** Validates a message and starts its job; the same message twice finds the same job. */
export async function submit(client: Client, config: Config, input: unknown): Promise<Submission> {
  const message = parseMessage(input);
  const jobId = jobIdFor(message);
  const settings = settingsFor(config, message);
  const withId = { ...message, id: jobId };
  const args: [BackupInput] | [RestoreInput] =
    withId.kind === 'backup' ? [{ message: withId, settings }] : [{ message: withId, settings }];
  try {
    await client.workflow.start(message.kind, {
      workflowId: jobId,
      taskQueue: config.taskQueue,
      args,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: REUSE_POLICY[message.kind],
      typedSearchAttributes: [
        { key: CourierKind, value: message.kind },
        { key: CourierStatus, value: 'queued' },
      ],
    });
    return { jobId, kind: message.kind, alreadyFinished: false };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { jobId, kind: message.kind, alreadyFinished: true };
    throw err;
  }
}

const STATUS: Record<string, JobStatus> = {
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed-out',
  CONTINUED_AS_NEW: 'running',
};

function handleFor(client: Client, jobId: string): WorkflowHandle {
  return client.workflow.getHandle(jobId);
}

/** Live progress from the workflow; undefined when no worker answers within a few seconds. */
export async function queryProgress(client: Client, jobId: string, timeoutMs = 5000): Promise<Progress | undefined> {
  try {
    return await client.withDeadline(Date.now() + timeoutMs, () => handleFor(client, jobId).query<Progress>(QUERIES.progress));
  } catch {
    return undefined;
  }
}

/** Everything known about a job: status, live progress while it runs, result or cause when it ended. */
export async function getJob(client: Client, jobId: string): Promise<JobView> {
  const handle = handleFor(client, jobId);
  let description;
  try {
    description = await handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new JobNotFoundError(jobId);
    throw err;
  }
  const view: JobView = {
    jobId,
    kind: description.type,
    status: STATUS[description.status.name] ?? 'running',
    startTime: description.startTime,
    closeTime: description.closeTime,
  };
  if (view.status === 'running') {
    view.progress = await queryProgress(client, jobId);
  } else {
    const outcome = await outcomeOf(handle);
    Object.assign(view, outcome);
  }
  return view;
}

async function outcomeOf(handle: WorkflowHandle): Promise<{ result?: JobResult; error?: string }> {
  try {
    return { result: (await handle.result()) as JobResult };
  } catch (err) {
    return { error: failureText(err) };
  }
}

function failureText(err: unknown): string {
  if (err instanceof WorkflowFailedError) return err.cause?.message ?? err.message;
  return (err as Error).message;
}

/**
 * Waits for the job to end, reporting progress as it goes. Resolves with the
 * result; rejects with JobFailedError naming the cause when the job did not complete.
 */
export async function waitForJob(
  client: Client,
  jobId: string,
  onProgress?: (progress: Progress) => void,
  intervalMs = 500,
): Promise<JobResult> {
  const handle = handleFor(client, jobId);
  let done = false;
  const poll = async () => {
    while (!done && onProgress) {
      const progress = await queryProgress(client, jobId, 2000);
      if (progress && !done) onProgress(progress);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  };
  const polling = poll();
  try {
    return (await handle.result()) as JobResult;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new JobNotFoundError(jobId);
    const description = await handle.describe().catch(() => undefined);
    const status = STATUS[description?.status.name ?? 'FAILED'] ?? 'failed';
    throw new JobFailedError(jobId, status, failureText(err));
  } finally {
    done = true;
    await polling;
  }
}
