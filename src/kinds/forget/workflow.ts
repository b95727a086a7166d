import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { admit, type Submitted } from '../../workflows/admit';
import { quickStep } from '../../workflows/activity-options';
import { trackJob } from '../../workflows/job-tracker';
import { describePolicy } from '../../repository/retention';
import type { ForgetInput, ForgetProgress, ForgetResult } from './contract';
import type { ForgetMessage } from './message';

/** Forget: keep the snapshots the rules name, delete the others' snapshot records. Their chunks go at the next prune. */
export async function forget(started: ForgetInput | Submitted<ForgetMessage>): Promise<ForgetResult> {
  const { message, settings } = await admit<ForgetInput>('forget', started);
  const job = trackJob<ForgetProgress>({ kind: 'forget', subject: message.name, project: message.project, settings, counts: { removed: 0 } });
  const { kind: _kind, id: _id, name, project: _project, notify: _notify, ...policy } = message;
  try {
    await job.untilResumed();
    job.set('running');
    job.progress.enter('cleanup');
    const outcome = await proxyActivities<Activities>(quickStep(settings)).forgetSnapshots({ name, policy });
    job.progress.removed = outcome.removed.length;
    const result: ForgetResult = {
      kind: 'forget',
      jobId: message.id,
      name,
      policy: describePolicy(policy),
      ...outcome,
      completedAt: new Date().toISOString(),
    };
    await job.complete({ ...result });
    return result;
  } catch (err) {
    return job.fail(err);
  }
}
