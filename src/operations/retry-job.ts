import type { Client } from '@temporalio/client';
import { getJob, JobNotFoundError, submit, type Submission } from '../client';
import type { Config } from '../config';
import { parseMessage } from '../kinds/registry';
import { startMessageOf } from './job-message';
import type { ObjectStore } from '../stores';

export class JobStateError extends Error {
  constructor(
    message: string,
    readonly status: string,
  ) {
    super(message);
    this.name = 'JobStateError';
  }
}

/**
 * Starts a job that ended without completing again, from its original
 * message, as a new run of the same id. A running or completed job is refused.
 */
export async function retryJob(client: Client, config: Config, jobId: string, store?: ObjectStore): Promise<Submission> {
  const job = await getJob(client, jobId);
  if (job.status === 'running') throw new JobStateError(`job ${jobId} is still running; cancel it first or wait for it`, job.status);
  if (job.status === 'completed')
    throw new JobStateError(`job ${jobId} completed; submit a new message (e.g. a new name) to run it again`, job.status);
  const started = await startMessageOf(client, jobId);
  if (started === undefined) throw new JobNotFoundError(jobId);
  // A job another client started carries its message without a kind: its job type names it.
  const message = parseMessage(typeof started === 'object' && started !== null && !('kind' in started) ? { kind: job.kind, ...started } : started);
  return submit(client, config, { ...message, id: jobId }, store);
}
