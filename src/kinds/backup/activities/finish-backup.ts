import fs from 'node:fs/promises';
import { log } from '@temporalio/activity';
import type { BackupInput, BackupResult, SplitSummary } from '../contract';
import { partKey } from '../../../jobs/keys';
import type { ActivityDeps } from '../../../activities/deps';
import { permanent } from '../../../activities/failures';
import { putManifest, type Manifest } from '../manifest';
import { StagingDir } from '../../../activities/staging';
import { putSnapshot } from '../../../repository/snapshots';

export interface ManifestInput {
  jobId: string;
  message: BackupInput['message'];
  settings: BackupInput['settings'];
  sourcePath: string;
  split: SplitSummary;
  startedAt: string;
  partsUploaded: number;
  /** Set for the object layout: every part is a range of this object. */
  objectKey?: string;
  /** Written as this snapshot; absent for jobs started before snapshots, which write the name's one manifest. */
  snapshotId?: string;
  host?: string;
}

/** Builds the manifest from the part records split left in staging, and stores it. */
export async function uploadManifest(deps: ActivityDeps, input: ManifestInput): Promise<Omit<BackupResult, 'kind'>> {
  const { message, split } = input;
  const staging = new StagingDir(deps.config.stagingDir, message.name);
  const parts: Manifest['parts'] = [];
  for (let index = 0; index < split.partCount; index++) {
    const record = await staging.readRecord(index);
    if (!record) {
      throw permanent('PartLost', `part ${index} of backup ${message.name} has no record in ${staging.dir}; cannot write the manifest`);
    }
    parts.push({ ...record, key: input.objectKey ?? partKey(message.name, index) });
  }
  const completedAt = new Date().toISOString();
  if (input.snapshotId && input.objectKey) {
    const repo = await deps.repository();
    const { key, snapshot } = await putSnapshot(repo, {
      version: 2,
      id: input.snapshotId,
      name: message.name,
      jobId: input.jobId,
      ...(input.host ? { host: input.host } : {}),
      source: input.sourcePath,
      size: split.size,
      sha256: split.sha256,
      ...(split.md5 ? { md5: split.md5 } : {}),
      startedAt: input.startedAt,
      time: completedAt,
      message,
      layout: 'object',
      segments: [],
      object: {
        key: input.objectKey,
        parts: parts.map(({ index, offset, size, sha256, md5 }) => ({ index, offset, size, sha256, ...(md5 ? { md5 } : {}) })),
      },
      stats: { chunks: 0, newChunks: 0, bytesNew: split.size, bytesStored: split.size },
    });
    return { ...resultOf(input, completedAt), manifestKey: key, snapshot: snapshot.id, layout: 'object', completedAt: snapshot.time };
  }
  const manifest: Manifest = {
    version: 1,
    jobId: input.jobId,
    name: message.name,
    message,
    source: input.sourcePath,
    size: split.size,
    sha256: split.sha256,
    ...(split.md5 ? { md5: split.md5 } : {}),
    partSize: input.settings.partSize,
    layout: input.objectKey ? 'object' : 'parts',
    parts,
    startedAt: input.startedAt,
    completedAt,
  };
  const stored = await putManifest(deps.store, manifest);
  return { ...resultOf(input, completedAt), manifestKey: stored.key };
}

/** What a backup's result says of its file and parts, whether it wrote a snapshot or the name's one manifest. */
function resultOf(input: ManifestInput, completedAt: string): Omit<BackupResult, 'kind' | 'manifestKey'> {
  const { split } = input;
  return {
    jobId: input.jobId,
    name: input.message.name,
    size: split.size,
    partCount: split.partCount,
    sha256: split.sha256,
    ...(split.md5 ? { md5: split.md5 } : {}),
    ...(input.objectKey ? { objectKey: input.objectKey } : {}),
    partsUploaded: input.partsUploaded,
    partsReusedBySplit: split.partsReused,
    startedAt: input.startedAt,
    completedAt,
  };
}

/**
 * Removes the staging dir once the manifest is stored. A part file still on
 * disk means its upload was never verified, so the dir is kept and the job fails loudly.
 */
export async function removeStaging(deps: ActivityDeps, input: { backup: string; partCount: number }): Promise<void> {
  const staging = new StagingDir(deps.config.stagingDir, input.backup);
  for (let index = 0; index < input.partCount; index++) {
    if ((await staging.partSize(index)) !== undefined) {
      throw permanent('PartLost', `part ${index} is still in ${staging.dir} although the upload finished; staging kept for inspection`);
    }
  }
  await fs.rm(staging.dir, { recursive: true, force: true });
  log.info('staging removed', { dir: staging.dir });
}

/**
 * A cancelled backup's cleanup: its staging dir goes, parts and all. What was
 * already uploaded and verified stays in the store; the store never shows a
 * half-written object, and without a manifest nothing refers to the parts.
 */
export async function discardStaging(deps: ActivityDeps, input: { backup: string; jobId: string }): Promise<void> {
  const staging = new StagingDir(deps.config.stagingDir, input.backup);
  const request = await staging.readRequest();
  // Another job's staging under the same name is not this job's to remove.
  if (request && request.jobId !== input.jobId) return;
  await fs.rm(staging.dir, { recursive: true, force: true });
  log.info('staging removed after cancellation', { dir: staging.dir });
}
