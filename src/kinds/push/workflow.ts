import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities, HostActivities } from '../../activities';
import type { HostOutcome, PushInput, PushProgress, PushResult } from './contract';
import type { PushMessage } from './message';
import { hostIdIn } from '../../jobs/settings';
import { admit, type Submitted } from '../../workflows/admit';
import { hostQueue } from '../../jobs/keys';
import { NON_RETRYABLE, quickStep } from '../../workflows/activity-options';
import { notPickedUp } from '../../workflows/host-pin';
import { rootCause, trackJob } from '../../workflows/job-tracker';

/**
 * A push (seed 001's CDB push): put the file in the store once, then deliver it
 * to every host in parallel through the host's own task queue, wait for all,
 * and report per host. One host failing never holds up the others; the job
 * fails when any host did not get the file, and a retry delivers to the rest.
 */
export async function push(started: PushInput | Submitted<PushMessage>): Promise<PushResult> {
  const input = await admit<PushInput>('push', started);
  const { message, settings } = input;
  const job = trackJob<PushProgress>({
    kind: 'push',
    subject: `${message.name} to ${message.hosts.length} host(s)`,
    project: message.project,
    settings,
    carried: input.tracker,
    counts: { hostsTotal: message.hosts.length, hostsDone: 0, hostsFailed: 0, fileSize: 0 },
  });
  const { progress } = job;
  // Hashing and storing a large file takes a while.
  const bookkeeping = proxyActivities<Activities>({ ...quickStep(settings), startToCloseTimeout: '1 hour' });
  try {
    await job.untilResumed();
    job.set('running');
    progress.enter('prepare');
    const file = await bookkeeping.stagePushFile({ name: message.name, file: message.file, object: message.object });
    progress.fileSize = file.size;
    progress.enter('upload');
    /** One host's delivery, on its own task queue; a host nobody serves is unreachable, not a failure of the others. */
    const deliverTo = async (host: string): Promise<HostOutcome> => {
      const { deliverFile } = proxyActivities<HostActivities>({
        taskQueue: hostQueue(hostIdIn(settings, host)),
        // Nothing polling the host's queue in this time means the host is down or not running courier.
        scheduleToStartTimeout: input.push.hostTimeoutMs,
        startToCloseTimeout: '1 hour',
        retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
      });
      try {
        const delivered = await deliverFile({
          host,
          file,
          dest: message.dest,
          mode: message.mode,
          owner: message.owner,
          postCommand: message.postCommand,
          postCommandTimeoutMs: input.push.postCommandTimeoutMs,
        });
        return {
          host,
          outcome: 'delivered',
          written: delivered.written,
          ...(delivered.postCommand ? { postCommandOutput: delivered.postCommand.output } : {}),
        };
      } catch (err) {
        if (notPickedUp(err)) {
          return {
            host,
            outcome: 'unreachable',
            cause: `nothing polled task queue ${hostQueue(hostIdIn(settings, host))} within ${Math.round(input.push.hostTimeoutMs / 1000)} s; is \`courier worker --host ${host}\` running?`,
          };
        }
        return { host, outcome: 'failed', cause: rootCause(err).message };
      }
    };
    const counted = (outcome: HostOutcome): HostOutcome => {
      progress.hostsDone++;
      if (outcome.outcome !== 'delivered') progress.hostsFailed++;
      return outcome;
    };
    const hosts: HostOutcome[] = await Promise.all(message.hosts.map(async (host): Promise<HostOutcome> => counted(await deliverTo(host))));
    const result: PushResult = {
      kind: 'push',
      jobId: message.id,
      name: message.name,
      dest: message.dest,
      sha256: file.sha256,
      size: file.size,
      hosts,
      completedAt: new Date().toISOString(),
    };
    const missed = hosts.filter((h) => h.outcome !== 'delivered');
    if (missed.length > 0) {
      const summary = missed.map((h) => `${h.host} ${h.outcome}: ${h.cause}`).join('; ');
      throw ApplicationFailure.create({
        message: `push ${message.name} reached ${hosts.length - missed.length} of ${hosts.length} hosts; ${summary}`,
        type: 'PushIncomplete',
        nonRetryable: true,
        details: [result],
      });
    }
    await job.complete({ ...result });
    return result;
  } catch (err) {
    return job.fail(err);
  }
}
