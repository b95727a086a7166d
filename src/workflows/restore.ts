import { CancellationScope, continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { RestoreInput, RestoreResult, RestoreState } from '../jobs';
import { byteMover, quickStep } from './activity-options';
import { trackJob } from './job-tracker';
import { PARTS_PER_RUN, runPartPool } from './part-pool';

/**
 * A restore: read the manifest, download and verify every part into a temp
 * file beside the target, verify the whole file, then rename it into place.
 * On failure the temp file goes and the target is never half-written.
 */
export async function restore(input: RestoreInput): Promise<RestoreResult> {
  const { message, settings } = input;
  const state: RestoreState = input.state ?? { nextPart: 0, bytesRestored: 0, startedAt: new Date().toISOString() };
  const job = trackJob({
    kind: 'restore',
    subject: message.name,
    project: message.project,
    settings,
    carried: input.tracker,
    total: { parts: state.manifest?.partCount ?? 0, bytes: state.manifest?.size ?? 0 },
  });
  const { progress } = job;
  const bookkeeping = proxyActivities<Activities>(quickStep);
  const bytes = proxyActivities<Activities>(byteMover(settings));

  let runOutOfBudget = false;
  let result: RestoreResult | undefined;
  try {
    if (!job.paused) job.set('running');
    if (!state.manifest || !state.tempPath) {
      progress.enter('prepare');
      const manifest = await bookkeeping.loadManifest(message.name);
      Object.assign(progress, { partsTotal: manifest.partCount, bytesTotal: manifest.size });
      const { tempPath } = await bookkeeping.prepareRestore({ jobId: message.id, dest: message.dest, size: manifest.size });
      Object.assign(state, { manifest, tempPath });
    }
    const manifest = state.manifest!;
    const tempPath = state.tempPath!;

    progress.enter('download');
    Object.assign(progress, { partsDone: state.nextPart, bytesDone: state.bytesRestored });
    let startedThisRun = 0;
    try {
      state.nextPart = await runPartPool({
        from: state.nextPart,
        total: manifest.partCount,
        concurrency: settings.concurrency,
        mayStart: () => startedThisRun < PARTS_PER_RUN && !workflowInfo().continueAsNewSuggested,
        paused: () => job.paused,
        work: async (index) => {
          startedThisRun++;
          const size = await bytes.restorePart({ backup: message.name, index, tempPath });
          progress.partsDone++;
          progress.bytesDone += size;
          state.bytesRestored += size;
        },
      });
      runOutOfBudget = state.nextPart < manifest.partCount;
      if (!runOutOfBudget) {
        progress.enter('verify');
        await bytes.finishRestore({ tempPath, dest: message.dest, size: manifest.size, sha256: manifest.sha256 });
      }
    } catch (err) {
      await CancellationScope.nonCancellable(() => bookkeeping.discardRestore({ tempPath })).catch(() => undefined);
      throw err;
    }
    if (!runOutOfBudget) {
      result = {
        jobId: message.id,
        name: message.name,
        dest: message.dest,
        size: manifest.size,
        sha256: manifest.sha256,
        partCount: manifest.partCount,
        completedAt: new Date().toISOString(),
      };
      await job.complete({ ...result });
    }
  } catch (err) {
    return job.fail(err);
  }
  if (runOutOfBudget || !result) return continueAsNew<typeof restore>({ message, settings, state, tracker: job.state() });
  return result;
}
