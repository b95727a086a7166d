import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  type WorkflowHandle,
} from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import fs from 'node:fs';
import type { Config } from './config';
import { EtlConfigError, pipelineOf } from './kinds/etl/pipelines';
import { jobIdFor } from './job-id';
import { untilReady, type NotReadyError } from './startup/until-ready';
import type {
  BackupInput,
  BackupResult,
  DispatchInput,
  DispatchResult,
  EtlInput,
  EtlResult,
  PushInput,
  PushResult,
  DispatchSettings,
  JobSettings,
  NotifyPlan,
  Progress,
  RestoreInput,
  RestoreResult,
} from './jobs';
import { hostTopicQueue, QUERIES, SIGNALS, topicQueue, type StatusEntry, type StatusName } from './jobs';
import { MessageError, parseMessage, type DispatchMessage, type Message, type MessageKind } from './kinds/messages';
import { CourierHost, CourierKind, CourierProject, CourierStatus } from './search-attributes';

export type JobResult = BackupResult | RestoreResult | DispatchResult | PushResult | EtlResult;
export type JobStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'terminated' | 'timed-out';

export interface JobView {
  jobId: string;
  kind: string;
  status: JobStatus;
  startTime: Date;
  closeTime?: Date;
  /** The host its file steps run on, once pinned. */
  host?: string;
  progress?: Progress;
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
  return new Client({ connection, namespace: config.temporal.namespace });
}

/** A job's settings: the message's own over the configured defaults; a job no message asked for (the scheduled cleanup) gets the defaults. */
export function settingsFor(config: Config, message?: Message): JobSettings {
  return {
    partSize: (message?.kind === 'backup' && message.partSize) || config.partSize,
    concurrency: config.concurrency,
    checksums: (message?.kind === 'backup' && message.checksums) || (config.md5 ? 'sha256+md5' : 'sha256'),
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    notify: notifyPlanFor(config, message),
    ledger: config.ledgerUrl !== undefined,
    layout: layoutFor(config, message),
    hosts: config.hosts,
  };
}

function layoutFor(config: Config, message?: Message): JobSettings['layout'] {
  const asked = message?.kind === 'backup' ? message.layout : undefined;
  const layout = asked ?? (config.store.kind === 's3' ? config.store.layout : 'parts');
  if (layout === 'object' && config.store.kind !== 's3') {
    throw new MessageError('layout: "object" needs an S3 store (COURIER_STORE=s3://bucket/prefix); the fs store keeps parts', ['layout']);
  }
  return layout;
}

/**
 * The message's notify settings over the configured defaults. Mail goes out on
 * failure and escalation unless the message lists events; a callback hears every event.
 */
export function notifyPlanFor(config: Config, message?: Message): NotifyPlan {
  const asked = message?.notify ?? {};
  const callbackUrl = asked.callbackUrl ?? (message?.kind === 'dispatch' ? message.callbackUrl : undefined) ?? config.notify.callbackUrl;
  const email = asked.email ?? config.notify.email;
  const on = asked.on ?? config.notify.on;
  if (callbackUrl && !config.webhook.secret) {
    throw new MessageError(`notify.callbackUrl ${callbackUrl}: callbacks are signed, but COURIER_WEBHOOK_SECRET is not set`, ['notify.callbackUrl']);
  }
  if (email.length > 0 && !config.smtp.url) {
    throw new MessageError(`notify.email ${email.join(', ')}: no mail server is configured; set COURIER_SMTP_URL`, ['notify.email']);
  }
  return {
    callbackUrl,
    webhookOn: on ?? ['completed', 'failed', 'cancelled', 'escalated'],
    email,
    emailOn: on ?? ['failed', 'escalated'],
    webhook: { attempts: config.webhook.attempts, retryIntervalMs: config.webhook.retryIntervalMs, timeoutMs: config.webhook.timeoutMs },
  };
}

/** Where a dispatch message's work runs; an unknown format is refused before anything starts. */
export function dispatchSettingsFor(config: Config, message: DispatchMessage): DispatchSettings {
  if (!config.dispatch.formats.includes(message.format)) {
    throw new MessageError(
      `format: "${message.format}" is not a format any worker is configured for (COURIER_DISPATCH_FORMATS=${config.dispatch.formats.join(',')})`,
      ['format'],
    );
  }
  const topic = config.dispatch.route === 'format' ? message.format : `${message.project}.${message.format}`;
  return {
    topic,
    taskQueue: message.host ? hostTopicQueue(config.taskQueue, topic, message.host) : topicQueue(config.taskQueue, topic),
    ...(message.host ? { host: message.host } : {}),
    checkIntervalMs: config.dispatch.checkIntervalMs,
    maxChecks: config.dispatch.maxChecks,
    deadlineMs: config.dispatch.deadlineMs,
    workTimeoutMs: config.dispatch.workTimeoutMs,
  };
}

/**
 * A backup done once stays done (resubmitting it finds the finished job; a new
 * backup takes a new name); a failed one may run again. A restore may be repeated.
 */
const REUSE_POLICY: Record<MessageKind, WorkflowIdReusePolicy> = {
  backup: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
  restore: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  dispatch: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
  push: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
  // A directory extracted again later may hold new files; loads are keyed, so repeats add nothing twice.
  etl: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
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
  const args = argsFor(config, { ...message, id: jobId }, settings);
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
        ...(message.project ? [{ key: CourierProject, value: message.project }] : []),
      ],
    });
    return { jobId, kind: message.kind, alreadyFinished: false };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { jobId, kind: message.kind, alreadyFinished: true };
    throw err;
  }
}

function argsFor(
  config: Config,
  message: Message & { id: string },
  settings: JobSettings,
): [BackupInput] | [RestoreInput] | [DispatchInput] | [PushInput] | [EtlInput] {
  switch (message.kind) {
    case 'backup':
      return [{ message, settings }];
    case 'restore':
      return [{ message, settings }];
    case 'dispatch':
      return [{ message, settings, dispatch: dispatchSettingsFor(config, message) }];
    case 'push':
      return [{ message, settings, push: { hostTimeoutMs: config.push.hostTimeoutMs, postCommandTimeoutMs: config.push.postCommandTimeoutMs } }];
    case 'etl':
      checkPipeline(config, message.pipeline);
      return [{ message, settings, loadAttempts: config.etl.loadAttempts }];
  }
}

/**
 * An unknown pipeline is refused at submission when this machine has the
 * pipeline file; a client without it leaves the check to the worker.
 */
function checkPipeline(config: Config, pipeline: string): void {
  if (!fs.existsSync(config.etl.configFile)) return;
  try {
    pipelineOf(config.etl.configFile, pipeline);
  } catch (err) {
    if (err instanceof EtlConfigError) throw new MessageError(`pipeline: ${err.message}`, ['pipeline']);
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
  const host = description.typedSearchAttributes.get(CourierHost);
  if (host) view.host = host;
  view.statusLog = await client.withDeadline(Date.now() + 5000, () => handle.query<StatusEntry[]>(QUERIES.statusLog)).catch(() => undefined);
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
export async function waitForJob(client: Client, jobId: string, onProgress?: (progress: Progress) => void, intervalMs = 500): Promise<JobResult> {
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
  await signalJob(client, jobId, SIGNALS.pause);
}

export async function resumeJob(client: Client, jobId: string): Promise<void> {
  await signalJob(client, jobId, SIGNALS.resume);
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

async function signalJob(client: Client, jobId: string, signal: string): Promise<void> {
  try {
    await handleFor(client, jobId).signal(signal);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new JobNotFoundError(jobId);
    throw err;
  }
}

export async function statusLogOf(client: Client, jobId: string): Promise<StatusEntry[]> {
  return handleFor(client, jobId).query<StatusEntry[]>(QUERIES.statusLog);
}

export interface JobFilter {
  status?: StatusName;
  /** A message kind, or a kind of job a job starts (etl-transform, etl-load, etl-cleanup). */
  kind?: string;
  project?: string;
  /** Jobs whose file steps run on this host. */
  host?: string;
  /** Only jobs on this control task queue. */
  taskQueue?: string;
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
  const clauses = [
    filter.status && `CourierStatus = '${filter.status}'`,
    filter.kind && `CourierKind = '${filter.kind}'`,
    filter.project && `CourierProject = '${filter.project.replace(/'/g, '')}'`,
    filter.host && `CourierHost = '${filter.host.replace(/'/g, '')}'`,
    filter.taskQueue && `TaskQueue = '${filter.taskQueue.replace(/'/g, '')}'`,
  ].filter(Boolean);
  const query = clauses.length > 0 ? clauses.join(' AND ') : `CourierKind IS NOT NULL`;
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
