import { CancellationScope, continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { ManifestSummary, RestoreInput, RestoreProgress, RestoreResult, RestoreState } from './contract';
import type { RestoreMessage } from './message';
import { hostIdIn } from '../../jobs/settings';
import { admit, type Submitted } from '../../workflows/admit';
import { byteMover, quickStep } from '../../workflows/activity-options';
import { trackJob } from '../../workflows/job-tracker';
import { takes } from '../../workflows/patches';
import { HostLost, pinHost } from '../../workflows/host-pin';
import { partsPerRun, runPartPool } from '../../workflows/part-pool';

/**
 * A restore: read the manifest, download and verify every part into a temp
 * file beside the target, verify the whole file, then rename it into place.
 * On failure the temp file goes and the target is never half-written.
 */
export async function restore(started: RestoreInput | Submitted<RestoreMessage>): Promise<RestoreResult> {
  const input = await admit<RestoreInput>('restore', started);
  const { message, settings } = input;
  const state: RestoreState = input.state ?? { nextPart: 0, bytesRestored: 0, startedAt: new Date().toISOString() };
  const job = trackJob<RestoreProgress>({
    kind: 'restore',
    subject: message.name,
    project: message.project,
    settings,
    carried: input.tracker,
    counts: { partsDone: 0, partsTotal: state.manifest?.partCount ?? 0, bytesDone: 0, bytesTotal: state.manifest?.size ?? 0 },
  });
  const { progress } = job;
  const onStore = proxyActivities<Activities>(quickStep(settings));
  // The temp file lives on one host's disk; a restore that named no host may start again on another.
  const pin = pinHost(job, {
    settings: settings.hosts,
    heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
    named: message.host && hostIdIn(settings, message.host),
    pinned: state.host,
    mayMove: !message.host,
  });

  /** Temp file, every part into it, whole-file check and rename: all on the pinned host. */
  const fileSteps = async (): Promise<RestoreResult | undefined> => {
    // A first attempt reads the manifest and prepares in one step that, for a backup of one part, is the whole restore.
    if (!state.manifest && !state.hostsLost && takes('small-restore-in-one-step')) {
      progress.enter('prepare');
      const first = await pin.first(byteMover(settings), (on) => on.restoreIfSmall({ message, heldHosts: job.heldHosts() }));
      const { manifest, tempPath, host } = first;
      Object.assign(state, { manifest, tempPath, host });
      Object.assign(progress, { partsTotal: manifest.partCount, bytesTotal: manifest.size });
      if (first.done) {
        Object.assign(state, { nextPart: manifest.partCount, bytesRestored: manifest.size });
        Object.assign(progress, { partsDone: manifest.partCount, bytesDone: manifest.size });
        return restored(manifest);
      }
    }
    if (!state.manifest || !state.tempPath) {
      progress.enter('prepare');
      const manifest =
        state.manifest ?? (await onStore.loadManifest({ name: message.name, ...(message.snapshot ? { snapshot: message.snapshot } : {}) }));
      Object.assign(progress, { partsTotal: manifest.partCount, bytesTotal: manifest.size });
      const prepared = await pin.first(quickStep(settings), (on) =>
        on.prepareRestore({ jobId: message.id, dest: message.dest, size: manifest.size }),
      );
      Object.assign(state, { manifest, tempPath: prepared.tempPath, host: prepared.host });
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
        mayStart: () => startedThisRun < partsPerRun(settings) && !workflowInfo().continueAsNewSuggested,
        paused: () => job.paused,
        work: async (index) => {
          startedThisRun++;
          const size = await pin.step(byteMover(settings), (on) =>
            on.restorePart({
              backup: message.name,
              index,
              tempPath,
              ...(manifest.snapshot ? { snapshot: manifest.snapshot } : { sha256: manifest.sha256 }),
            }),
          );
          progress.partsDone++;
          progress.bytesDone += size;
          state.bytesRestored += size;
        },
      });
      if (state.nextPart < manifest.partCount) return undefined;
      progress.enter('verify');
      await pin.step(byteMover(settings), (on) => on.finishRestore({ tempPath, dest: message.dest, size: manifest.size, sha256: manifest.sha256 }));
    } catch (err) {
      // A lost host keeps its temp file: waiting for it to remove one would only delay the restart elsewhere.
      if (!(err instanceof HostLost))
        await CancellationScope.nonCancellable(() => pin.cleanup(quickStep(settings), (on) => on.discardRestore({ tempPath })));
      throw err;
    }
    return restored(manifest);
  };

  const restored = (manifest: ManifestSummary): RestoreResult => {
    return {
      kind: 'restore',
      jobId: message.id,
      name: message.name,
      dest: message.dest,
      size: manifest.size,
      sha256: manifest.sha256,
      partCount: manifest.partCount,
      ...(manifest.snapshot ? { snapshot: manifest.snapshot } : {}),
      ...(pin.host ? { host: pin.host } : {}),
      ...(state.hostsLost ? { hostsLost: state.hostsLost } : {}),
      completedAt: new Date().toISOString(),
    };
  };

  let result: RestoreResult | undefined;
  try {
    await job.untilResumed();
    if (!job.paused) job.set('running');
    // The temp file was on the lost host: another one starts it afresh.
    result = await pin.run(fileSteps, (lost) => {
      Object.assign(state, { tempPath: undefined, host: undefined, nextPart: 0, bytesRestored: 0, hostsLost: [...(state.hostsLost ?? []), lost] });
    });
    if (result) await job.complete({ ...result });
  } catch (err) {
    return job.fail(err);
  }
  if (!result) return continueAsNew<typeof restore>({ message, settings, state, tracker: job.state() });
  return result;
}
