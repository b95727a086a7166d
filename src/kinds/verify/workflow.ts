import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { admit, type Submitted } from '../../workflows/admit';
import { byteMover } from '../../workflows/activity-options';
import { trackJob } from '../../workflows/job-tracker';
import type { VerifyInput, VerifyProgress, VerifyResult } from './contract';
import type { VerifyMessage } from './message';

/** Reads a stored backup back, part by part, and fails naming every part that does not match its manifest. */
export async function verify(started: VerifyInput | Submitted<VerifyMessage>): Promise<VerifyResult> {
  const { message, settings } = await admit<VerifyInput>('verify', started);
  const job = trackJob<VerifyProgress>({ kind: 'verify', subject: message.name, project: message.project, settings, counts: { partsChecked: 0 } });
  try {
    await job.untilResumed();
    job.set('running');
    job.progress.enter('verify');
    const checked = await proxyActivities<Activities>(byteMover(settings)).verifyStoredBackup({ name: message.name });
    job.progress.partsChecked = checked.partCount;
    const result: VerifyResult = { kind: 'verify', jobId: message.id, name: message.name, ...checked, completedAt: new Date().toISOString() };
    if (checked.bad.length > 0) {
      const parts = checked.bad.map((b) => `part ${b.index}: ${b.reason}`).join('; ');
      throw ApplicationFailure.create({
        message: `${checked.bad.length} of ${checked.partCount} part(s) do not match: ${parts}`,
        type: 'Corrupt',
        nonRetryable: true,
      });
    }
    await job.complete({ ...result });
    return result;
  } catch (err) {
    return job.fail(err);
  }
}
