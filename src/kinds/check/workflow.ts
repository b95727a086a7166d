import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { admit, type Submitted } from '../../workflows/admit';
import { byteMover } from '../../workflows/activity-options';
import { trackJob } from '../../workflows/job-tracker';
import type { CheckInput, CheckProgress, CheckResult } from './contract';
import type { CheckMessage } from './message';

/** A check: structure and a share of the data. Damage fails the job, so its notification mails what is damaged and which snapshots need it. */
export async function check(started: CheckInput | Submitted<CheckMessage>): Promise<CheckResult> {
  const { message, settings } = await admit<CheckInput>('check', started);
  const job = trackJob<CheckProgress>({ kind: 'check', subject: 'repository', project: message.project, settings, counts: { chunksChecked: 0 } });
  try {
    await job.untilResumed();
    job.set('running');
    job.progress.enter('verify');
    const outcome = await proxyActivities<Activities>(byteMover(settings)).checkRepository({ readDataSubset: message.readDataSubset ?? '5%' });
    job.progress.chunksChecked = outcome.chunksChecked;
    if (outcome.damaged.length > 0) {
      const lines = outcome.damaged
        .slice(0, 20)
        .map(
          (d) =>
            `chunk ${d.chunk}${d.pack ? ` in pack ${d.pack}` : ''}: ${d.reason}; needed by ${d.snapshots.length ? d.snapshots.join(', ') : 'no snapshot'}`,
        );
      throw ApplicationFailure.create({
        message: `${outcome.damaged.length} damaged chunk(s) found: ${lines.join(' | ')}${outcome.damaged.length > 20 ? ' | …' : ''}`,
        type: 'Corrupt',
        nonRetryable: true,
        details: [outcome],
      });
    }
    const result: CheckResult = { kind: 'check', jobId: message.id, ...outcome, completedAt: new Date().toISOString() };
    await job.complete({ ...result });
    return result;
  } catch (err) {
    return job.fail(err);
  }
}
