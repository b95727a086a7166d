/**
 * A backup that fits in one segment is one activity and two workflow tasks
 * (issue 18, small jobs), and keeps what a step-by-step backup guarantees:
 * status log, search attributes, done record, a retry that writes nothing twice,
 * and a host hold the job knows of.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { JobFailedError, queryProgress, statusLogOf, submit, waitForJob } from '../src/client';
import { jobRecordKey } from '../src/jobs/keys';
import type { BackupResult } from '../src/kinds/backup/contract';
import { placeHold, releaseHold } from '../src/operations/holds';
import { CourierHost, CourierStatus } from '../src/search-attributes';
import { openStore } from '../src/stores';
import { repoKeys } from '../src/repository/layout';
import { PackIndex } from '../src/repository/pack-index';
import { repositoryOf, snapshotsOf } from './helpers/repository';
import { createStack, randomFile, scheduledActivities, sha256File, waitUntil, workflowBundle, type Stack } from './helpers/stack';

const KiB = 1024;

describe('small jobs: a backup of one segment in one step', { timeout: 240_000 }, () => {
  let stack: Stack;
  let dir: string;
  const ctx = () => ({ client: stack.client, config: stack.config, store: openStore(stack.config) });

  before(async () => {
    stack = await createStack({ COURIER_PART_SIZE: '256KiB' });
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'small-'));
  });
  afterEach(() => stack.stopWorker());
  after(() => stack.close());

  /** Restores the name beside the source and checks the bytes; gives the restore's job id. */
  const restoredMatches = async (name: string, source: string) => {
    const dest = path.join(dir, `${name}.out`);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'restore', name, dest });
    await waitForJob(stack.client, jobId);
    assert.equal(await sha256File(dest), await sha256File(source));
    return jobId;
  };
  const activitiesOf = (jobId: string) => scheduledActivities(stack.client, jobId);

  it('runs one activity in two workflow tasks, with its status log, search attributes and done record', async () => {
    await stack.startWorker();
    const source = await randomFile(dir, 'one-step', 100 * KiB);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'one-step', source });
    const result = (await waitForJob(stack.client, jobId)) as BackupResult;
    assert.equal(result.size, 100 * KiB);
    assert.equal(result.partCount, 1);
    assert.equal(result.host, stack.env.COURIER_HOST);
    assert.equal(result.sha256, await sha256File(source));

    const handle = stack.client.workflow.getHandle(jobId);
    const events = (await handle.fetchHistory()).events ?? [];
    assert.deepEqual(await activitiesOf(jobId), ['backupIfSmall'], 'one activity does the whole backup');
    assert.equal(events.filter((e) => e.workflowTaskCompletedEventAttributes).length, 2, 'two workflow tasks');
    const localActivities = events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
    assert.ok(localActivities.length >= 1, 'the done record is written by a local activity');

    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(CourierStatus), 'completed');
    assert.equal(description.typedSearchAttributes.get(CourierHost), stack.env.COURIER_HOST);
    assert.deepEqual(
      (await statusLogOf(stack.client, jobId)).map((e) => e.status),
      ['running', 'completed'],
    );
    const record = JSON.parse(await fs.readFile(path.join(stack.config.storeDir, 'objects', jobRecordKey(jobId)), 'utf8')) as { status: string };
    assert.equal(record.status, 'completed');
    const restoreId = await restoredMatches('one-step', source);
    assert.deepEqual(await activitiesOf(restoreId), ['restoreIfSmall'], 'one activity does the whole restore');

    // One patch marker for every change the job takes, so one TemporalChangeVersion upsert (it was three of each).
    for (const id of [jobId, restoreId]) {
      const history = await stack.client.workflow.getHandle(id).fetchHistory();
      const patches = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
      assert.equal(patches.length, 1, `${id}: one patch marker`);
      const upserts = (history.events ?? []).filter((e) => e.upsertWorkflowSearchAttributesEventAttributes);
      const versionUpserts = upserts.filter(
        (e) => e.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes?.indexedFields?.TemporalChangeVersion,
      );
      assert.equal(versionUpserts.length, 1, `${id}: one TemporalChangeVersion upsert`);
      // A history made by this code replays against it.
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'small-jobs-replay' }, history, id);
    }
    // The last task sets the host and the final status in one upsert: each upsert is an event and a visibility write.
    const backupHistory = (await handle.fetchHistory()).events ?? [];
    const ours = backupHistory
      .map((e) => Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}).sort())
      .filter((keys) => keys.length > 0 && !keys.includes('TemporalChangeVersion'));
    assert.deepEqual(ours, [['CourierStatus'], ['CourierHost', 'CourierStatus']], 'running, then host and completed together');
    assert.ok(
      backupHistory.length <= 16,
      `a small backup's history has ${backupHistory.length} events (21 before its patches shared one marker, 17 before one upsert per task)`,
    );
  });

  it('a file of several segments still goes step by step, and restores part by part', async () => {
    await stack.startWorker();
    const source = await randomFile(dir, 'three-segments', 600 * KiB);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'three-segments', source });
    const result = (await waitForJob(stack.client, jobId)) as BackupResult;
    assert.equal(result.partCount, 3);
    const steps = await activitiesOf(jobId);
    assert.equal(steps[0], 'backupIfSmall', 'the first step prepares');
    assert.equal(steps.filter((s) => s === 'backupSegment').length, 3);
    assert.ok(steps.includes('hashSource') && steps.includes('writeSnapshot'));
    const restoreSteps = await activitiesOf(await restoredMatches('three-segments', source));
    assert.equal(restoreSteps.filter((s) => s === 'restorePart').length, 3);
    assert.equal(restoreSteps.at(-1), 'finishRestore');
  });

  it('a step that crashed after writing its snapshot is retried and finds it: one snapshot, the same one', async () => {
    let crashed = 0;
    await stack.startWorker({
      wrapActivities: (real) => ({
        ...real,
        async backupIfSmall(input) {
          const outcome = await real.backupIfSmall(input);
          if (crashed++ === 0) throw new Error('simulated crash after the snapshot was written, before the step reported');
          return outcome;
        },
      }),
    });
    const source = await randomFile(dir, 'retried', 50 * KiB);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'retried', source });
    const result = (await waitForJob(stack.client, jobId)) as BackupResult;
    assert.equal(crashed, 2, 'the step ran twice');
    const index = await new PackIndex().refresh(await repositoryOf(stack.config));
    const ids = index.packs().flatMap((t) => t.chunks.map(([id]) => id));
    assert.equal(new Set(ids).size, ids.length, 'the retry found every chunk stored, and stored none twice');
    const snapshots = await snapshotsOf(stack.config, 'retried');
    assert.deepEqual(
      snapshots.map((s) => s.id),
      [result.snapshot],
    );
    await restoredMatches('retried', source);
  });

  it('a step that fails after marking the job pending leaves no pending mark behind (prune would wait for it)', async () => {
    await stack.startWorker({
      wrapActivities: (real) => ({
        ...real,
        async backupIfSmall(input) {
          await real.markPending({ jobId: input.jobId, snapshotId: input.snapshotId, startedAt: input.startedAt });
          throw ApplicationFailure.nonRetryable('source changed while it was being backed up (simulated)', 'SourceChanged');
        },
      }),
    });
    const source = await randomFile(dir, 'changed', 10 * KiB);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'changed', source });
    await assert.rejects(waitForJob(stack.client, jobId), JobFailedError);
    assert.equal(await openStore(stack.config).head(repoKeys.pending(jobId)), undefined, 'the pending mark was cleared');
    assert.deepEqual(await snapshotsOf(stack.config, 'changed'), []);
  });

  it('on a host the job knows is held, the step only prepares; the job waits for the release', async () => {
    await stack.startWorker();
    const host = stack.env.COURIER_HOST!;
    await placeHold(ctx(), { scope: 'host', name: host });
    try {
      const source = await randomFile(dir, 'held-host', 20 * KiB);
      const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'held-host', source });
      await waitUntil('the backup to wait for the host', async () => (await queryProgress(stack.client, jobId))?.holds?.includes(`host:${host}`));
      assert.deepEqual(await snapshotsOf(stack.config, 'held-host'), [], 'nothing was backed up on the held host');
      await releaseHold(ctx(), { scope: 'host', name: host });
      const result = (await waitForJob(stack.client, jobId)) as BackupResult;
      assert.equal(result.size, 20 * KiB);
      await restoredMatches('held-host', source);
    } finally {
      await releaseHold(ctx(), { scope: 'host', name: host }).catch(() => undefined);
    }
  });
});
