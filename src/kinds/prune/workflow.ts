import { proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { admit, type Submitted } from '../../workflows/admit';
import { byteMover, quickStep } from '../../workflows/activity-options';
import { trackJob } from '../../workflows/job-tracker';
import type { PruneInput, PruneProgress, PruneResult } from './contract';
import type { PruneMessage } from './message';

/**
 * Prune: mark what no snapshot uses, wait (durably, for as long as it takes)
 * until every backup that was running at the mark has ended, then delete
 * what is still unused. A backup running at the same time never loses a chunk it relies on.
 */
export async function prune(started: PruneInput | Submitted<PruneMessage>): Promise<PruneResult> {
  const { message, settings } = await admit<PruneInput>('prune', started);
  const job = trackJob<PruneProgress>({
    kind: 'prune',
    subject: 'repository',
    project: message.project,
    settings,
    counts: { packsCondemned: 0, packsDeleted: 0, waitingFor: 0 },
  });
  const long = proxyActivities<Activities>(byteMover(settings));
  const quick = proxyActivities<Activities>(quickStep(settings));
  try {
    await job.untilResumed();
    job.set('running');
    job.progress.enter('prepare');
    const plan = await long.planPrune({ jobId: message.id, repackUnused: message.repackUnused ?? 0.2 });
    job.progress.packsCondemned = plan.packsCondemned;
    let waitFor = plan.waitFor;
    let pause = 1000;
    while (waitFor.length > 0) {
      job.progress.enter('wait');
      job.progress.waitingFor = waitFor.length;
      await sleep(pause);
      pause = Math.min(pause * 2, 60_000);
      waitFor = await quick.stillRunning({ jobIds: waitFor });
    }
    job.progress.waitingFor = 0;
    job.progress.enter('cleanup');
    const swept = plan.condemnation
      ? await long.sweepCondemned({ condemnation: plan.condemnation })
      : { packsDeleted: 0, packsSpared: 0, listsDeleted: 0, bytesFreed: 0 };
    job.progress.packsDeleted = swept.packsDeleted;
    const result: PruneResult = {
      kind: 'prune',
      jobId: message.id,
      ...swept,
      packsCondemned: plan.packsCondemned,
      packsRepacked: plan.packsRepacked,
      waitedFor: plan.waitFor,
      completedAt: new Date().toISOString(),
    };
    await job.complete({ ...result });
    return result;
  } catch (err) {
    return job.fail(err);
  }
}
