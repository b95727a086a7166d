import type { Client } from '@temporalio/client';
import { getJob, JobNotFoundError, submit, type Submission } from '../client';
import type { Config } from '../config';
import { parseMessage } from '../kinds/registry';

export class JobStateError extends Error {
  constructor(
    message: string,
    readonly status: string,
  ) {
    super(message);
    this.name = 'JobStateError';
  }
}

/** The message a job was submitted with, from the input of its first event. */
export async function originalMessage(client: Client, jobId: string): Promise<unknown> {
  const history = await client.workflow.getHandle(jobId).fetchHistory();
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const payload = started?.input?.payloads?.[0];
  if (!payload) throw new JobNotFoundError(jobId);
  const input = client.options.loadedDataConverter.payloadConverter.fromPayload<{ message?: unknown }>(payload);
  return input.message;
}

/**
 * Starts a job that ended without completing again, from its original
 * message, as a new run of the same id. A running or completed job is refused.
 */
export async function retryJob(client: Client, config: Config, jobId: string): Promise<Submission> {
  const job = await getJob(client, jobId);
  if (job.status === 'running') throw new JobStateError(`job ${jobId} is still running; cancel it first or wait for it`, job.status);
  if (job.status === 'completed')
    throw new JobStateError(`job ${jobId} completed; submit a new message (e.g. a new name) to run it again`, job.status);
  const message = parseMessage(await originalMessage(client, jobId));
  return submit(client, config, { ...message, id: jobId });
}
