import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { queryProgress, submit, waitForJob } from '../src/client';
import type { BackupResult } from '../src/kinds/backup/contract';
import { snapshotsOf, storedTwice } from './helpers/repository';
import { createStack, randomFile, sha256File, spawnWorker, waitUntil, type Stack } from './helpers/stack';

const MiB = 1024 * 1024;

describe('a worker killed with SIGKILL', () => {
  let stack: Stack;
  let dir: string;

  before(async () => {
    stack = await createStack({ COURIER_PART_SIZE: '1MiB', COURIER_CONCURRENCY: '2', COURIER_HEARTBEAT_TIMEOUT: '2s' });
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'files-'));
  });
  after(() => stack.close());

  it('in the middle of a deduplicating backup: a second worker finishes it, at most the packs in flight are sent again, nothing is lost', async () => {
    const base = await randomFile(dir, 'killed-base', 24 * MiB);
    const backed = await submit(stack.client, stack.config, { kind: 'backup', name: 'killed-mid-upload', source: base });
    await stack.startWorker();
    await waitForJob(stack.client, backed.jobId);
    await stack.stopWorker();
    // The second version shares its first 24 MiB with the first: those chunks are found, the rest is new.
    const source = path.join(dir, 'killed-mid-upload');
    await fs.writeFile(source, Buffer.concat([await fs.readFile(base), await fs.readFile(await randomFile(dir, 'killed-tail', 96 * MiB + 5))]));
    const first = spawnWorker(stack.env);
    const { jobId } = await submit(stack.client, { ...stack.config, partSize: 4 * MiB }, { kind: 'backup', name: 'killed-mid-upload', source });
    const atKill = await waitUntil('segments under way', async () => {
      const p = await queryProgress(stack.client, jobId, 1000);
      return p?.kind === 'backup' && p.phase === 'upload' && p.partsDone >= 10 ? p : undefined;
    });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    assert.ok(atKill.partsDone < atKill.partsTotal, 'the worker died before the backup finished');

    await stack.startWorker();
    const result = (await waitForJob(stack.client, jobId)) as BackupResult;
    assert.equal(result.partCount, 31);
    const twice = await storedTwice(stack.config);
    // Two segments run at once; each has at most one pack stored but not yet in its table when the worker dies.
    assert.ok(twice.bytes <= 2 * 16 * MiB, `${twice.bytes} bytes stored twice`);
    const dest = path.join(dir, 'killed-mid-upload.restored');
    const restore = await submit(stack.client, stack.config, { kind: 'restore', name: 'killed-mid-upload', dest });
    await waitForJob(stack.client, restore.jobId);
    assert.equal(await sha256File(dest), await sha256File(source), 'restore is identical');
    const earlier = (await snapshotsOf(stack.config, 'killed-mid-upload'))[0]!;
    const old = path.join(dir, 'killed-base.restored');
    await waitForJob(
      stack.client,
      (await submit(stack.client, stack.config, { kind: 'restore', name: 'killed-mid-upload', dest: old, snapshot: earlier.id })).jobId,
    );
    assert.equal(await sha256File(old), await sha256File(base), 'the earlier snapshot is untouched');
    await stack.stopWorker();
  });

  it('in the middle of a restore: a second worker finishes it and, not having seen every segment land, reads the whole file again to check it', async () => {
    const source = await randomFile(dir, 'restore-killed', 60 * MiB + 7);
    await stack.startWorker();
    await waitForJob(
      stack.client,
      (await submit(stack.client, { ...stack.config, partSize: 2 * MiB }, { kind: 'backup', name: 'restore-killed', source })).jobId,
    );
    await stack.stopWorker();

    const first = spawnWorker(stack.env);
    const dest = path.join(dir, 'restore-killed.restored');
    // One segment at a time, so the kill lands between segments written by the first worker and those left to the second.
    const { jobId } = await submit(stack.client, { ...stack.config, concurrency: 1 }, { kind: 'restore', name: 'restore-killed', dest });
    const atKill = await waitUntil('segments restored', async () => {
      const p = await queryProgress(stack.client, jobId, 1000);
      return p?.kind === 'restore' && p.partsDone >= 4 ? p : undefined;
    });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    assert.ok(atKill.partsDone < atKill.partsTotal, 'the worker died before the restore finished');

    const second = spawnWorker({ ...stack.env, COURIER_LOG_LEVEL: 'info' });
    let log = '';
    second.stdout!.on('data', (d: Buffer) => (log += d));
    try {
      await waitForJob(stack.client, jobId);
      assert.equal(await sha256File(dest), await sha256File(source), 'restore is identical');
      const checks = log.split('\n').filter((line) => line.includes('whole file hashed'));
      assert.equal(checks.length, 1, log.slice(-2000));
      assert.match(checks[0]!, /"asWritten":false/, 'segments the first worker wrote were hashed by nobody alive: the file is read again');
      const again = path.join(dir, 'restore-killed.again');
      await waitForJob(stack.client, (await submit(stack.client, stack.config, { kind: 'restore', name: 'restore-killed', dest: again })).jobId);
      assert.equal(await sha256File(again), await sha256File(source));
      const last = log.split('\n').filter((line) => line.includes('whole file hashed'))[1];
      assert.match(last ?? '', /"asWritten":true/, 'a restore this worker wrote whole was hashed as it landed');
    } finally {
      second.kill('SIGTERM');
      await new Promise((resolve) => second.once('exit', resolve));
    }
  });
});
