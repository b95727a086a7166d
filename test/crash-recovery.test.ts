import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { queryProgress, submit, waitForJob } from '../src/client';
import type { BackupResult } from '../src/kinds/backup/contract';
import { partKey } from '../src/jobs/keys';
import { openStore } from '../src/stores';
import { createStack, randomFile, sha256File, spawnWorker, waitUntil, type Stack } from './helpers/stack';
import { watchPartCommits, type PartCommits } from './helpers/store-commits';

const MiB = 1024 * 1024;

describe('a worker killed with SIGKILL', () => {
  let stack: Stack;
  let dir: string;

  before(async () => {
    stack = await createStack({ COURIER_PART_SIZE: '1MiB', COURIER_CONCURRENCY: '2', COURIER_HEARTBEAT_TIMEOUT: '2s' });
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'files-'));
  });
  after(() => stack.close());

  async function assertStoredExactlyOnce(result: BackupResult, source: string, commits: PartCommits) {
    // Listing the store cannot show a second copy: part keys are fixed, so a part stored twice is still one object.
    // The commits counted from outside the workers can: a part the recovering worker stores again (one the killed
    // worker had already stored) is committed a second time, and the count of that part goes above one.
    const parts = Array.from({ length: result.partCount }, (_, index) => index);
    await waitUntil('the watcher to see every part committed', async () => commits.counts().size >= result.partCount, 10_000).catch(() => undefined);
    commits.close();
    assert.deepEqual(commits.errors, [], 'the watcher saw every commit');
    const counts = commits.counts();
    const notOnce = [...new Set([...parts, ...counts.keys()])].filter((index) => counts.get(index) !== 1);
    assert.deepEqual(
      notOnce.map((index) => `part ${index}: committed ${counts.get(index) ?? 0} time(s)`),
      [],
      'every part was committed to the store exactly once, by the killed worker or by the one that finished the job',
    );

    const store = openStore(stack.config);
    const stored = await store.list(`backups/${result.name}/parts`);
    assert.equal(stored.length, result.partCount, 'one object per part, no stray keys');
    const manifest = JSON.parse(await fs.readFile(path.join(stack.config.storeDir, 'objects', result.manifestKey), 'utf8')) as {
      parts: { index: number; sha256: string; size: number }[];
    };
    for (const part of manifest.parts) {
      const info = stored[part.index];
      assert.equal(info.key, partKey(result.name, part.index));
      assert.equal(info.sha256, part.sha256, `part ${part.index} checksum`);
    }
    await assert.rejects(fs.stat(path.join(stack.config.stagingDir, result.name)), 'staging removed');
    const dest = path.join(dir, `${result.name}.restored`);
    const restore = await submit(stack.client, stack.config, { kind: 'restore', name: result.name, dest });
    await waitForJob(stack.client, restore.jobId);
    assert.equal(await sha256File(dest), await sha256File(source), 'restore is identical');
  }

  it('in the middle of uploads: a second worker finishes the job, every part stored once', async () => {
    const source = await randomFile(dir, 'killed-mid-upload', 120 * MiB + 5);
    const commits = await watchPartCommits(stack.config.storeDir, 'killed-mid-upload');
    const first = spawnWorker(stack.env);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'killed-mid-upload', source });
    const atKill = await waitUntil('uploads under way', async () => {
      const p = await queryProgress(stack.client, jobId, 1000);
      return p?.kind === 'backup' && p.phase === 'upload' && p.partsDone >= 10 ? p : undefined;
    });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    assert.ok(atKill.partsDone < atKill.partsTotal, 'the worker died before the upload finished');

    await stack.startWorker();
    const result = (await waitForJob(stack.client, jobId)) as BackupResult;
    assert.equal(result.partCount, 121);
    // A lower bound only (partsUploaded counts one result per part, so it cannot show a second upload): every part
    // counts as uploaded by this job except the ones in flight at the kill, which the retry found already stored.
    assert.ok(result.partsUploaded >= result.partCount - 2, 'every part but the ones in flight at the kill counts as uploaded by this job');
    await assertStoredExactlyOnce(result, source, commits);
    await stack.stopWorker();
  });

  it('in the middle of the split: the retried split keeps the verified parts and writes the rest', async () => {
    const source = await randomFile(dir, 'killed-mid-split', 400 * MiB);
    const commits = await watchPartCommits(stack.config.storeDir, 'killed-mid-split');
    const env = { ...stack.env, COURIER_PART_SIZE: '8MiB' };
    const first = spawnWorker(env);
    const { jobId } = await submit(stack.client, { ...stack.config, partSize: 8 * MiB }, { kind: 'backup', name: 'killed-mid-split', source });
    const staged = path.join(stack.config.stagingDir, 'killed-mid-split');
    await waitUntil('a few parts split', async () => {
      const names = await fs.readdir(staged).catch(() => []);
      return names.filter((n) => /^part-\d+\.json$/.test(n)).length >= 3;
    });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    await stack.startWorker();
    const result = (await waitForJob(stack.client, jobId)) as BackupResult;
    assert.equal(result.partCount, 50);
    assert.ok(result.partsReusedBySplit >= 3, `the split kept finished parts (kept ${result.partsReusedBySplit})`);
    await assertStoredExactlyOnce(result, source, commits);
  });
});
