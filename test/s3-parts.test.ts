import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JobFailedError, submit, waitForJob } from '../src/client';
import type { BackupResult } from '../src/kinds/backup/contract';
import { partKey } from '../src/jobs/keys';
import { StagingDir } from '../src/activities/staging';
import { startS3Server, type S3Server } from './helpers/s3-server';
import { createStack, randomFile, sha256File, type Stack } from './helpers/stack';

const MiB = 1024 * 1024;

describe('S3 store, parts layout, against a real S3 server (versitygw)', () => {
  let s3: S3Server;
  let stack: Stack;
  let dir: string;

  before(async () => {
    s3 = await startS3Server();
    await s3.createBucket('courier-parts');
    stack = await createStack({ ...s3.envFor('courier-parts'), COURIER_PART_SIZE: '1MiB' });
    await stack.startWorker();
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 's3-files-'));
  });
  after(async () => {
    await stack?.close();
    await s3?.stop();
  });

  for (const [label, size] of [
    ['an empty file', 0],
    ['one part', 700_000],
    ['many parts', 5 * MiB + 17],
  ] as const) {
    it(`backs up and restores ${label} byte-identically`, async () => {
      const name = `s3-${label.replace(/ /g, '-')}`;
      const source = await randomFile(dir, name, size);
      const backup = await submit(stack.client, stack.config, { kind: 'backup', name, source });
      const result = (await waitForJob(stack.client, backup.jobId)) as BackupResult;
      assert.equal(result.partCount, Math.ceil(size / MiB));
      if (size > 0) {
        const onServer = path.join(s3.root, 'courier-parts', 'courier', partKey(name, 0));
        assert.ok((await fs.stat(onServer)).size > 0, 'the part is an object in the bucket');
      }
      const dest = path.join(dir, `${name}.out`);
      const restore = await submit(stack.client, stack.config, { kind: 'restore', name, dest });
      await waitForJob(stack.client, restore.jobId);
      assert.equal(await sha256File(dest), await sha256File(source));
    });
  }

  it('a part corrupted on the server disk fails the restore naming the part', async () => {
    const name = 's3-bitrot';
    const source = await randomFile(dir, name, 3 * MiB);
    await waitForJob(stack.client, (await submit(stack.client, stack.config, { kind: 'backup', name, source })).jobId);
    const onServer = path.join(s3.root, 'courier-parts', 'courier', partKey(name, 1));
    const handle = await fs.open(onServer, 'r+');
    await handle.write(Buffer.from('rot'), 0, 3, 1000);
    await handle.close();
    const dest = path.join(dir, `${name}.out`);
    const restore = await submit(stack.client, stack.config, { kind: 'restore', name, dest });
    await assert.rejects(waitForJob(stack.client, restore.jobId), (err: unknown) => {
      assert.ok(err instanceof JobFailedError);
      assert.match(err.message, /part 1 of backup s3-bitrot is corrupt/);
      return true;
    });
    await assert.rejects(fs.stat(dest), /ENOENT/, 'the target is untouched');
  });

  it('wrong credentials and a missing bucket fail the job with a clear error and keep the staged parts', async () => {
    for (const [label, env, pattern] of [
      ['wrong credentials', { ...s3.envFor('courier-parts'), AWS_SECRET_ACCESS_KEY: 'not-the-secret' }, /refused the credentials/],
      ['a missing bucket', s3.envFor('no-such-bucket'), /bucket "no-such-bucket" does not exist/],
    ] as const) {
      const broken = await createStack({ ...env, COURIER_PART_SIZE: '1MiB' });
      try {
        await broken.startWorker();
        const name = `s3-${label.replace(/ /g, '-')}`;
        const source = await randomFile(dir, name, 2 * MiB + 5);
        const { jobId } = await submit(broken.client, broken.config, { kind: 'backup', name, source });
        await assert.rejects(waitForJob(broken.client, jobId), (err: unknown) => {
          assert.ok(err instanceof JobFailedError, label);
          assert.match(err.message, pattern);
          return true;
        });
        const staging = new StagingDir(broken.config.stagingDir, name);
        for (let index = 0; index < 3; index++) assert.ok(await staging.partSize(index), `${label}: part ${index} is still staged`);
      } finally {
        await broken.close();
      }
    }
  });
});
