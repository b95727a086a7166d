import {
  type ActivityOptions,
  CancellationScope,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { BackupInput, BackupProgress, BackupResult, BackupState } from './contract';
import type { BackupMessage } from './message';
import { hostIdIn } from '../../jobs/settings';
import { admit, type Submitted } from '../../workflows/admit';
import { byteMover, quickStep } from '../../workflows/activity-options';
import { splitProgressSignal } from './definitions';
import { trackJob } from '../../workflows/job-tracker';
import { takes } from '../../workflows/patches';
import { pinHost } from '../../workflows/host-pin';
import { partsPerRun, runPartPool } from '../../workflows/part-pool';
import { snapshotIdFor } from '../../repository/snapshot-id';
import { repoKeys, snapshotObjectKey } from '../../repository/layout';
import type { Snapshot } from '../../repository/snapshots';

/**
 * A backup (seed 000) as a snapshot: check the source, then cut each segment
 * into chunks by content and store the chunks the repository lacks, while the
 * whole file is hashed beside it; write the snapshot, report. In the `object`
 * layout: split into checksummed parts in staging, upload and verify each as a
 * range of one plain object (deleting each local copy only after its verified
 * upload), write the snapshot, remove staging.
 */
export async function backup(started: BackupInput | Submitted<BackupMessage>): Promise<BackupResult> {
  const input = await admit<BackupInput>('backup', started);
  const { message, settings } = input;
  // Jobs started before snapshots replay as they ran: parts under the name, one manifest.
  const snapshots = takes('snapshots') && (input.state === undefined || input.state.snapshotId !== undefined);
  const state: BackupState = input.state ?? {
    nextPart: 0,
    bytesUploaded: 0,
    partsUploaded: 0,
    startedAt: new Date().toISOString(),
  };
  if (snapshots) state.snapshotId ??= snapshotIdFor(state.startedAt, uuid4());
  const chunked = snapshots && settings.layout !== 'object';
  const job = trackJob<BackupProgress>({
    kind: 'backup',
    subject: message.name,
    project: message.project,
    settings,
    carried: input.tracker,
    counts: { partsDone: 0, partsTotal: state.split?.partCount ?? 0, bytesDone: 0, bytesTotal: state.split?.size ?? 0 },
  });
  const { progress } = job;
  setHandler(splitProgressSignal, (update) => {
    if (progress.phase !== 'split') return;
    progress.partsDone = Math.max(progress.partsDone, update.partsDone);
    progress.bytesDone = Math.max(progress.bytesDone, update.bytesDone);
  });
  const onStore = proxyActivities<Activities>(quickStep(settings));
  // Assembling a large object can take the server a while; the worker heartbeats for the step meanwhile.
  const assembly: ActivityOptions = { ...quickStep(settings), startToCloseTimeout: '1 hour' };
  const objectLayout = settings.layout === 'object';
  const objectKeyOf = () => (state.snapshotId ? snapshotObjectKey(message.name, state.snapshotId) : undefined);
  // Staged parts live on one host's disk; a job that named no host may start them again on another.
  const pin = pinHost(job, {
    settings: settings.hosts,
    heartbeatTimeoutMs: settings.heartbeatTimeoutMs,
    named: message.host && hostIdIn(settings, message.host),
    pinned: state.source?.host,
    mayMove: !message.host,
  });

  /** Prepare, split, upload and verify, manifest, staging removed: every step that reads staging runs on the pinned host. */
  const fileSteps = async (): Promise<BackupResult | undefined> => {
    if (!state.split) {
      progress.enter('prepare');
      const source = await pin.first(quickStep(settings), (on) => on.prepareBackup(input));
      state.source = source;
      Object.assign(progress, { partsTotal: source.partCount, bytesTotal: source.size });
      progress.enter('split');
      state.split = await pin.step(byteMover(settings), (on) => on.splitSource({ jobId: message.id, message, settings, source }));
    }
    const split = state.split;
    if (objectLayout && split.partCount > 0) state.uploadId ??= await onStore.startObjectUpload({ backup: message.name, key: objectKeyOf() });

    progress.enter('upload');
    Object.assign(progress, { partsDone: state.nextPart, bytesDone: state.bytesUploaded });
    let startedThisRun = 0;
    state.nextPart = await runPartPool({
      from: state.nextPart,
      total: split.partCount,
      concurrency: settings.concurrency,
      mayStart: () => startedThisRun < partsPerRun(settings) && !workflowInfo().continueAsNewSuggested,
      paused: () => job.paused,
      work: async (index) => {
        startedThisRun++;
        const part = await pin.step(byteMover(settings), (on) =>
          objectLayout
            ? on.uploadObjectPart({ backup: message.name, key: objectKeyOf(), index, uploadId: state.uploadId! })
            : on.uploadPart({ backup: message.name, index, ...(state.hostsLost ? { mayBeStored: true } : {}) }),
        );
        progress.partsDone++;
        progress.bytesDone += part.size;
        state.bytesUploaded += part.size;
        if (part.uploaded) state.partsUploaded++;
      },
    });
    if (state.nextPart < split.partCount) return undefined;

    progress.enter('manifest');
    // Assembly checks each part against its staged record: on the host that holds them.
    const objectKey = objectLayout
      ? await pin.step(assembly, (on) =>
          on.completeObjectUpload({
            backup: message.name,
            key: objectKeyOf(),
            uploadId: state.uploadId,
            partCount: split.partCount,
            size: split.size,
          }),
        )
      : undefined;
    const stored = await pin.step(quickStep(settings), (on) =>
      on.uploadManifest({
        objectKey,
        jobId: message.id,
        message,
        settings,
        sourcePath: state.source?.path ?? message.source,
        split,
        startedAt: state.startedAt,
        partsUploaded: state.partsUploaded,
        ...(state.snapshotId ? { snapshotId: state.snapshotId } : {}),
        ...(state.source?.host ? { host: state.source.host } : {}),
      }),
    );
    progress.enter('cleanup');
    await pin.step(quickStep(settings), (on) => on.removeStaging({ backup: message.name, partCount: split.partCount }));
    return { kind: 'backup', ...stored, ...(pin.host ? { host: pin.host } : {}), ...(state.hostsLost ? { hostsLost: state.hostsLost } : {}) };
  };

  // The one step marks the job pending before the workflow knows its source: a failure in it must clear the mark too.
  let markedInOneStep = false;
  /** Segments cut into chunks on the pinned host, the whole file hashed beside them there; the snapshot from anywhere. */
  const chunkSteps = async (): Promise<BackupResult | undefined> => {
    // A first attempt prepares in one step that, for a source of one segment, is the whole backup.
    if (!state.source && !state.lostSource && takes('small-backup-in-one-step')) {
      progress.enter('prepare');
      markedInOneStep = true;
      const outcome = await pin.first(byteMover(settings), (on) =>
        on.backupIfSmall({
          jobId: message.id,
          snapshotId: state.snapshotId!,
          startedAt: state.startedAt,
          backup: { message, settings },
          heldHosts: job.heldHosts(),
        }),
      );
      state.source = outcome.source;
      if (outcome.done) {
        const { segments, whole, snapshot } = outcome.done;
        const { partCount, size } = outcome.source;
        Object.assign(state, { segments, whole, nextPart: partCount, bytesUploaded: size });
        if (segments.some((s) => s.newChunks > 0)) state.partsUploaded++;
        Object.assign(progress, { partsTotal: partCount, partsDone: partCount, bytesTotal: size, bytesDone: size });
        progress.enter('manifest');
        return chunkedResult(snapshot);
      }
    }
    if (!state.source) {
      progress.enter('prepare');
      const source = await pin.first(quickStep(settings), (on) => on.prepareBackup(input));
      const before = state.lostSource;
      // The same file seen from the next host (a shared mount): what the lost host stored is in the store and stays done.
      const same = before && before.path === source.path && before.size === source.size && before.mtimeMs === source.mtimeMs;
      if (!same) Object.assign(state, { segments: [], nextPart: 0, bytesUploaded: 0, partsUploaded: 0, whole: undefined });
      await onStore.markPending({ jobId: message.id, snapshotId: state.snapshotId!, startedAt: state.startedAt });
      Object.assign(state, { source, lostSource: undefined });
    }
    const source = state.source!;
    const segments = (state.segments ??= []);
    // A run the pool left by a failure may have finished segments past nextPart: they are not run again.
    const done = new Set(segments.map((s) => s.index));
    Object.assign(progress, { partsTotal: source.partCount, bytesTotal: source.size, partsDone: segments.length, bytesDone: state.bytesUploaded });
    progress.enter('upload');
    const hashing = state.whole
      ? Promise.resolve(state.whole)
      : pin.step(byteMover(settings), (on) => on.hashSource({ source, md5: settings.checksums === 'sha256+md5' }));
    hashing.catch(() => undefined);
    let startedThisRun = 0;
    state.nextPart = await runPartPool({
      from: state.nextPart,
      total: source.partCount,
      concurrency: settings.concurrency,
      mayStart: () => startedThisRun < partsPerRun(settings) && !workflowInfo().continueAsNewSuggested,
      paused: () => job.paused,
      work: async (index) => {
        if (done.has(index)) return;
        startedThisRun++;
        const segment = await pin.step(byteMover(settings), (on) =>
          on.backupSegment({ jobId: message.id, name: message.name, snapshotId: state.snapshotId!, source, index, segmentSize: settings.partSize }),
        );
        segments.push(segment);
        done.add(index);
        progress.partsDone++;
        progress.bytesDone += segment.size;
        state.bytesUploaded += segment.size;
        if (segment.newChunks > 0) state.partsUploaded++;
      },
    });
    // The hash finishes before any continue-as-new: a new run cannot wait for an activity of the old one.
    state.whole = await hashing;
    if (state.nextPart < source.partCount) return undefined;
    progress.enter('manifest');
    const snapshot = await onStore.writeSnapshot({
      jobId: message.id,
      message,
      source,
      snapshotId: state.snapshotId!,
      startedAt: state.startedAt,
      segmentSize: settings.partSize,
      segments,
      whole: state.whole,
    });
    return chunkedResult(snapshot);
  };

  const chunkedResult = (snapshot: Snapshot): BackupResult => {
    const source = state.source!;
    return {
      kind: 'backup',
      jobId: message.id,
      name: message.name,
      size: snapshot.size,
      partCount: source.partCount,
      sha256: snapshot.sha256,
      ...(snapshot.md5 ? { md5: snapshot.md5 } : {}),
      manifestKey: repoKeys.snapshot(snapshot.name, snapshot.id),
      snapshot: snapshot.id,
      layout: 'chunks',
      chunks: snapshot.stats.chunks,
      newChunks: snapshot.stats.newChunks,
      bytesStored: snapshot.stats.bytesStored,
      partsUploaded: state.partsUploaded,
      partsReusedBySplit: 0,
      ...(pin.host ? { host: pin.host } : {}),
      ...(state.hostsLost ? { hostsLost: state.hostsLost } : {}),
      startedAt: state.startedAt,
      completedAt: snapshot.time,
    };
  };

  let result: BackupResult | undefined;
  try {
    await job.untilResumed();
    if (!job.paused) job.set('running');
    // On another host the split runs again; parts the store already verified are not sent again.
    result = await pin.run(chunked ? chunkSteps : fileSteps, (lost) => {
      if (chunked) {
        // Nothing a chunked backup did lives on the lost host's disk: the next host checks the source and carries on.
        Object.assign(state, { lostSource: state.source, source: undefined, hostsLost: [...(state.hostsLost ?? []), lost] });
        return;
      }
      Object.assign(state, {
        source: undefined,
        split: undefined,
        segments: undefined,
        whole: undefined,
        nextPart: 0,
        bytesUploaded: 0,
        hostsLost: [...(state.hostsLost ?? []), lost],
      });
    });
    if (result) await job.complete({ ...result });
  } catch (err) {
    // A multipart upload that will never complete is aborted, so the server keeps no orphaned parts.
    const abortUpload = async () => {
      if (state.uploadId)
        await onStore.abortObjectUpload({ backup: message.name, key: objectKeyOf(), uploadId: state.uploadId }).catch(() => undefined);
      // What a failed chunked backup stored stays for prune; only its claim on the repository goes.
      if (chunked && (state.source || markedInOneStep)) await onStore.clearPending({ jobId: message.id }).catch(() => undefined);
    };
    if (!isCancellation(err)) await CancellationScope.nonCancellable(abortUpload);
    // A cancelled backup takes its staging data with it; verified parts in the store stay.
    return job.fail(err, async () => {
      await abortUpload();
      await pin.cleanup(quickStep(settings), (on) => on.discardStaging({ backup: message.name, jobId: message.id }));
    });
  }
  if (!result) return continueAsNew<typeof backup>({ message, settings, state, tracker: job.state() });
  return result;
}
