import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type WorkflowHandle,
} from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { Config } from './config';
import { untilReady, type NotReadyError } from './startup/until-ready';
import { clientDataConverter } from './security/codec';
import { type StatusEntry } from './jobs/status';
import { pauseSignal, progressQuery, resumeSignal, statusLogQuery } from './kinds/definitions';
import { jobTypeOfWorkflow, kindNamed, parseMessage, type JobProgress, type JobResult, type MessageKind } from './kinds/registry';
import { visibilityQuery, type JobFilter } from './operations/job-pages';
import { withHoldsInPlace } from './operations/holds';
import { openStore, type ObjectStore } from './stores';
import { CourierHost, CourierKind, CourierProject, CourierStatus } from './search-attributes';

export type { JobFilter } from './operations/job-pages';
export type { JobResult } from './kinds/registry';
/** Where a job's workflow stands in Temporal (its CourierStatus says more while it runs). */
export const JOB_STATES = ['running', 'completed', 'failed', 'cancelled', 'terminated', 'timed-out'] as const;
export type JobStatus = (typeof JOB_STATES)[number];

/** A step Temporal is trying again: the job waits on it, and this says why. */
export interface RetryingStep {
  step: string;
  attempt: number;
  lastError?: string;
  nextAttemptAt?: Date;
}

export interface JobView {
  jobId: string;
  kind: string;
  status: JobStatus;
  startTime: Date;
  closeTime?: Date;
  /** The host its file steps run on, once pinned. */
  host?: string;
  progress?: JobProgress;
  /** Steps that failed and wait for their next attempt (a store or database that is down, say). */
  retrying?: RetryingStep[];
  statusLog?: StatusEntry[];
  result?: JobResult;
  error?: string;
}

export class JobFailedError extends Error {
  constructor(
    readonly jobId: string,
    readonly status: JobStatus,
    cause: string,
  ) {
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

/** Says on stderr what start-up waits for, so a slow server is not mistaken for a hang. */
const toStderr = (line: string) => process.stderr.write(`courier: ${line}\n`);

/** A client of the configured namespace, waiting up to COURIER_CONNECT_TIMEOUT for the server to answer. */
export async function connectClient(config: Config, log: (line: string) => void = toStderr): Promise<Client> {
  const connection = await untilReady(
    `the Temporal server at ${config.temporal.address}`,
    (callMs) => Connection.connect({ ...config.temporal.connectionOptions, connectTimeout: callMs }),
    { timeoutMs: config.connectTimeoutMs, log },
  ).catch((err: NotReadyError) => {
    throw new Error(
      `cannot reach the Temporal server at ${config.temporal.address} (namespace ${config.temporal.namespace}): ${err.summary}\n` +
        `start it with \`npm start\` or \`courier dev-server\`, point TEMPORAL_ADDRESS at your cluster, or wait longer with COURIER_CONNECT_TIMEOUT`,
    );
  });
  return new Client({ connection, namespace: config.temporal.namespace, dataConverter: clientDataConverter(config.codecKeys) });
}

export interface Submission {
  jobId: string;
  kind: MessageKind;
  /** true when the id belongs to a job that had already finished, so nothing new started. */
  alreadyFinished: boolean;
}

/** Validates a message and starts its job by its kind's workflow; the same message twice finds the same job. */
export async function submit(client: Client, config: Config, input: unknown, store: ObjectStore = openStore(config)): Promise<Submission> {
  const message = parseMessage(input);
  const kind = kindNamed(message.kind)!;
  const jobId = message.id ?? kind.jobId(message);
  const args = await withHoldsInPlace(config, store, kind.input(config, { ...message, id: jobId }));
  try {
    await client.workflow.start(kind.workflow as (input: unknown) => Promise<unknown>, {
      workflowId: jobId,
      taskQueue: config.taskQueue,
      args: [args],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: kind.reusePolicy,
      typedSearchAttributes: [
        { key: CourierKind, value: message.kind },
        { key: CourierStatus, value: 'queued' },
        ...(message.project ? [{ key: CourierProject, value: message.project }] : []),
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
export async function queryProgress(client: Client, jobId: string, timeoutMs = 5000): Promise<JobProgress | undefined> {
  try {
    return await client.withDeadline(Date.now() + timeoutMs, () => handleFor(client, jobId).query(progressQuery));
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
    // One spelling everywhere: the job type's name (etl-transform), as listings show it, not the workflow type (etlTransform).
    kind: description.typedSearchAttributes.get(CourierKind) ?? jobTypeOfWorkflow(description.type)?.name ?? description.type,
    status: STATUS[description.status.name] ?? 'running',
    startTime: description.startTime,
    closeTime: description.closeTime,
  };
  const host = description.typedSearchAttributes.get(CourierHost);
  if (host) view.host = host;
  const retrying = (description.raw.pendingActivities ?? [])
    .filter((activity) => (activity.attempt ?? 1) > 1 && activity.lastFailure)
    .map((activity): RetryingStep => ({
      step: activity.activityType?.name ?? 'step',
      attempt: activity.attempt ?? 0,
      ...(activity.lastFailure?.message ? { lastError: activity.lastFailure.message } : {}),
      ...(activity.nextAttemptScheduleTime?.seconds != null
        ? { nextAttemptAt: new Date(Number(activity.nextAttemptScheduleTime.seconds) * 1000) }
        : {}),
    }));
  if (retrying.length > 0) view.retrying = retrying;
  if (view.status === 'running') {
    view.progress = await queryProgress(client, jobId);
  } else {
    const outcome = await outcomeOf(handle);
    Object.assign(view, outcome);
  }
  // Asked after the progress, so the log holds at least the status the progress shows: a job seen as completed has
  // its "completed" line (asked first, a job that completed in between showed completed with no such line).
  view.statusLog = await client.withDeadline(Date.now() + 5000, () => handle.query(statusLogQuery)).catch(() => undefined);
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
export async function waitForJob(client: Client, jobId: string, onProgress?: (progress: JobProgress) => void, intervalMs = 500): Promise<JobResult> {
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

/** Stops scheduling new work for the job; work in flight finishes. */
export async function pauseJob(client: Client, jobId: string): Promise<void> {
  await signalJob(client, jobId, pauseSignal);
}

export async function resumeJob(client: Client, jobId: string): Promise<void> {
  await signalJob(client, jobId, resumeSignal);
}

/** Asks the job to stop; it cleans up its staging data and ends as cancelled. */
export async function cancelJob(client: Client, jobId: string): Promise<void> {
  try {
    await handleFor(client, jobId).cancel();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new JobNotFoundError(jobId);
    throw err;
  }
}

async function signalJob(client: Client, jobId: string, signal: typeof pauseSignal | typeof resumeSignal): Promise<void> {
  try {
    await handleFor(client, jobId).signal(signal);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new JobNotFoundError(jobId);
    throw err;
  }
}

export async function statusLogOf(client: Client, jobId: string): Promise<StatusEntry[]> {
  return handleFor(client, jobId).query(statusLogQuery);
}

export interface JobListing {
  jobId: string;
  kind?: string;
  status?: string;
  project?: string;
  host?: string;
  startTime: Date;
  closeTime?: Date;
}

/** Jobs by their search attributes, newest first. */
export async function listJobs(client: Client, filter: JobFilter = {}, limit = 100): Promise<JobListing[]> {
  const query = visibilityQuery(filter);
  const found: JobListing[] = [];
  const seen = new Set<string>();
  for await (const execution of client.workflow.list({ query })) {
    // A job that continued as new lists once per run; the newest run speaks for it.
    if (seen.has(execution.workflowId)) continue;
    seen.add(execution.workflowId);
    found.push({
      jobId: execution.workflowId,
      kind: execution.typedSearchAttributes.get(CourierKind),
      status: execution.typedSearchAttributes.get(CourierStatus),
      project: execution.typedSearchAttributes.get(CourierProject),
      host: execution.typedSearchAttributes.get(CourierHost),
      startTime: execution.startTime,
      closeTime: execution.closeTime,
    });
    if (found.length >= limit) break;
  }
  return found;
}
