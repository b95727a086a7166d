import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { cancelJob, getJob, listJobs, pauseJob, queryProgress, resumeJob, statusLogOf, submit, waitForJob } from '../src/client';
import type { BackupResult } from '../src/kinds/backup/contract';
import { jobRecordKey } from '../src/jobs/keys';
import { repoKeys } from '../src/repository/layout';
import { snapshotsOf } from './helpers/repository';
import { FsStore } from '../src/stores/fs-store';
import { StagingDir } from '../src/activities/staging';
import { createStack, randomFile, runCli, transferProgress, uploadsBegun, waitUntil, slowSegments, type Stack } from './helpers/stack';

const KiB = 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const store = (stack: Stack) => new FsStore(stack.config.storeDir);

async function searchStatus(stack: Stack, jobId: string): Promise<unknown> {
  const description = await stack.client.workflow.getHandle(jobId).describe();
  return description.searchAttributes.CourierStatus?.[0];
}

describe('pause, resume, cancel and search attributes on running jobs', () => {
  let stack: Stack;
  let dir: string;

  before(async () => {
    stack = await createStack({ COURIER_PART_SIZE: '64KiB', COURIER_CONCURRENCY: '2' });
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'control-'));
  });
  afterEach(() => stack.stopWorker());
  after(() => stack.close());

  /** Real uploads, each held back a little so a test can act while the job runs. */
  const slowUploads = () => stack.startWorker(slowSegments(250));

  it('a step that keeps failing for a while is retried, and the job shows the step and its last error until it passes', async () => {
    let failures = 0;
    await stack.startWorker({
      wrapActivities: (real) => ({
        ...real,
        // A file of one segment: the whole backup is this one step.
        async backupIfSmall(input) {
          if (failures < 3) {
            failures++;
            throw new Error('store unreachable (simulated outage)');
          }
          return real.backupIfSmall(input);
        },
      }),
    });
    const source = await randomFile(dir, 'outage', 64 * KiB);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'outage', source });
    const shown = await waitUntil('the job to show the failing step', async () => (await getJob(stack.client, jobId)).retrying?.[0], 30_000);
    assert.equal(shown.step, 'backupIfSmall');
    assert.ok(shown.attempt >= 2);
    assert.match(shown.lastError ?? '', /store unreachable \(simulated outage\)/);
    const status = await runCli(['status', jobId], stack.env);
    assert.match(status.stdout, /retrying backupIfSmall \(attempt \d+.*\): store unreachable/);
    assert.equal(((await waitForJob(stack.client, jobId)) as BackupResult).size, 64 * KiB);
    assert.equal(failures, 3);
    assert.equal((await getJob(stack.client, jobId)).retrying, undefined, 'nothing waits once it completed');
  });

  it('pause stops new uploads once those in flight finish; resume lets the job complete', async () => {
    await slowUploads();
    const source = await randomFile(dir, 'pausable', 16 * 64 * KiB);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'pausable', source });
    await uploadsBegun(stack.client, jobId, 2);
    await pauseJob(stack.client, jobId);

    await waitUntil('the job to show paused', async () => (await queryProgress(stack.client, jobId))?.status === 'paused');
    await sleep(1000); // the uploads in flight finish
    const settled = (await transferProgress(stack.client, jobId))!.partsDone;
    await sleep(1500);
    const later = (await transferProgress(stack.client, jobId))!;
    assert.equal(later.partsDone, settled, 'no new part starts while paused');
    assert.ok(later.partsDone < 16, 'the pause came before the end');
    assert.equal(await searchStatus(stack, jobId), 'paused');

    await resumeJob(stack.client, jobId);
    const result = (await waitForJob(stack.client, jobId)) as BackupResult;
    assert.equal(result.partCount, 16);
    const log = await statusLogOf(stack.client, jobId);
    assert.deepEqual(
      log.map((e) => e.status),
      ['running', 'paused', 'running', 'completed'],
    );
    assert.equal(log[2].note, 'resumed');
    assert.ok(
      log.every((e, i) => i === 0 || e.at >= log[i - 1].at),
      'times in order',
    );
  });

  it('cancel stops the job, removes its staging data, and leaves only verified objects in the store', async () => {
    await slowUploads();
    const name = 'cancellable';
    const source = await randomFile(dir, name, 20 * 64 * KiB);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name, source });
    await uploadsBegun(stack.client, jobId, 2);
    await cancelJob(stack.client, jobId);

    await assert.rejects(waitForJob(stack.client, jobId), (err: unknown) => {
      assert.equal((err as { status?: string }).status, 'cancelled');
      return true;
    });
    await assert.rejects(
      stack.client.workflow.getHandle(jobId).result(),
      (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure,
    );
    const staging = new StagingDir(stack.config.stagingDir, name);
    await assert.rejects(fs.stat(staging.dir), /ENOENT/, 'staging dir removed');

    const store = new FsStore(stack.config.storeDir);
    assert.deepEqual(await snapshotsOf(stack.config, name), [], 'no snapshot: the backup is not visible as complete');
    assert.deepEqual(await store.list(repoKeys.pendingPrefix), [], 'its claim on the repository is withdrawn');
    const packs = await store.list(repoKeys.packsPrefix);
    const objects = await fs
      .readdir(path.join(stack.config.storeDir, 'objects', 'repo', 'packs'), { recursive: true, withFileTypes: true })
      .catch(() => []);
    assert.equal(objects.filter((e) => e.isFile()).length, packs.length, 'every object in the store has its verified checksum; none is half-written');
    assert.deepEqual(await fs.readdir(path.join(stack.config.storeDir, 'tmp')), [], 'no temp files left by the cancelled uploads');

    const record = JSON.parse(await fs.readFile(path.join(stack.config.storeDir, 'objects', jobRecordKey(jobId)), 'utf8'));
    assert.equal(record.status, 'cancelled');
    assert.equal((await statusLogOf(stack.client, jobId)).at(-1)?.status, 'cancelled');
    await waitUntil('CourierStatus cancelled', async () => (await searchStatus(stack, jobId)) === 'cancelled');
  });

  it('lists jobs by CourierStatus and CourierKind', async () => {
    await stack.startWorker();
    const source = await randomFile(dir, 'listed', 100 * KiB);
    const backup = await submit(stack.client, stack.config, { kind: 'backup', name: 'listed', source, project: 'atlas' });
    await waitForJob(stack.client, backup.jobId);
    const restore = await submit(stack.client, stack.config, { kind: 'restore', name: 'listed', dest: path.join(dir, 'listed.out') });
    await waitForJob(stack.client, restore.jobId);
    const failed = await submit(stack.client, stack.config, { kind: 'backup', name: 'listed-missing', source: path.join(dir, 'absent') });
    await waitForJob(stack.client, failed.jobId).catch(() => undefined);

    const taskQueue = stack.config.taskQueue;
    const ids = async (filter: Parameters<typeof listJobs>[1]) => (await listJobs(stack.client, { ...filter, taskQueue })).map((j) => j.jobId).sort();
    await waitUntil('visibility to catch up', async () => (await ids({ kind: 'restore', status: 'completed' })).length === 1);
    assert.deepEqual(await ids({ kind: 'restore', status: 'completed' }), [restore.jobId]);
    assert.deepEqual(await ids({ kind: 'backup', status: 'failed' }), [failed.jobId]);
    assert.ok((await ids({ kind: 'backup', status: 'completed' })).includes(backup.jobId));
    assert.ok(!(await ids({ kind: 'backup', status: 'completed' })).includes(failed.jobId));
    assert.deepEqual(await ids({ project: 'atlas' }), [backup.jobId]);
    const cancelled = await ids({ status: 'cancelled' });
    assert.equal(cancelled.length, 1, 'the backup cancelled in the test before');
    assert.match(cancelled[0], /^backup-cancellable-/);
  });

  it('a job asked to stop ends cancelled even when a step fails as it stops', async () => {
    let failedWhileStopping = 0;
    await stack.startWorker({
      wrapActivities: (real) => ({
        ...real,
        // Parts after the first two wait for the cancel, then fail past the worker's own boundary: a plain failure, not a
        // cancellation, as a store call cut short might report.
        async backupSegment(ref) {
          if (ref.index < 2) return real.backupSegment(ref);
          const context = Context.current();
          for (let waited = 0; !context.cancellationSignal.aborted && waited < 60_000; waited += 100) {
            context.heartbeat();
            await sleep(100);
          }
          failedWhileStopping++;
          throw new Error('store connection closed while stopping (simulated)');
        },
      }),
    });
    const name = 'stopped-mid-failure';
    const source = await randomFile(dir, name, 40 * 64 * KiB);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name, source });
    await uploadsBegun(stack.client, jobId, 2);
    await cancelJob(stack.client, jobId);
    await assert.rejects(
      stack.client.workflow.getHandle(jobId).result(),
      (err: unknown) => err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure,
    );
    assert.ok(failedWhileStopping >= 1, 'a step failed as it stopped');
    assert.equal((await stack.client.workflow.getHandle(jobId).describe()).status.name, 'CANCELLED');
    const log = await statusLogOf(stack.client, jobId);
    assert.equal(log.at(-1)?.status, 'cancelled');
    assert.match(log.at(-1)?.note ?? '', /a step failed as it stopped: .*store connection closed while stopping/, 'the status log keeps the failure');
    await assert.rejects(fs.stat(new StagingDir(stack.config.stagingDir, name).dir), /ENOENT/, 'staging dir removed');
    assert.deepEqual(await store(stack).list(repoKeys.pendingPrefix), [], 'its claim on the repository is withdrawn');
    await waitUntil('CourierStatus cancelled', async () => (await searchStatus(stack, jobId)) === 'cancelled');
  });
});
