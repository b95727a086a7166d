import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JobFailedError, submit, waitForJob } from '../src/client';
import type { BackupResult } from '../src/kinds/backup/contract';
import { chunkOnDisk, flipByte, snapshotsOf } from './helpers/repository';
import { startS3Server, type S3Server } from './helpers/s3-server';
import { createStack, randomFile, runCli, sha256File, type Stack } from './helpers/stack';

const MiB = 1024 * 1024;

describe('S3 store, encrypted chunks, against a real S3 server (versitygw)', () => {
  let s3: S3Server;
  let stack: Stack;
  let dir: string;

  before(async () => {
    s3 = await startS3Server();
    await s3.createBucket('courier-parts');
    const keys = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP ?? '/tmp', 's3-key-'));
    const keyFile = path.join(keys, 'repo.key');
    stack = await createStack({ ...s3.envFor('courier-parts'), COURIER_PART_SIZE: '1MiB', COURIER_REPO_KEY_FILE: keyFile });
    // As the compose stack's one-shot step does it: the key made on first run, the repository made once.
    const init = await runCli(['store', 'init', '--key-file', keyFile, '--new-key', '--if-missing'], stack.env);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /encrypted/);
    assert.equal((await fs.stat(keyFile)).mode & 0o777, 0o600, 'the key file is readable by its owner only');
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
        const [snapshot] = await snapshotsOf(stack.config, name);
        const where = await chunkOnDisk(stack.config, snapshot!, 0, path.join(s3.root, 'courier-parts', 'courier'));
        assert.ok((await fs.stat(where.file)).size > 0, 'its pack is an object in the bucket');
      }
      const dest = path.join(dir, `${name}.out`);
      const restore = await submit(stack.client, stack.config, { kind: 'restore', name, dest });
      await waitForJob(stack.client, restore.jobId);
      assert.equal(await sha256File(dest), await sha256File(source));
    });
  }

  it('a chunk corrupted on the server disk fails the restore naming the chunk', async () => {
    const name = 's3-bitrot';
    const source = await randomFile(dir, name, 3 * MiB);
    await waitForJob(stack.client, (await submit(stack.client, stack.config, { kind: 'backup', name, source })).jobId);
    const [snapshot] = await snapshotsOf(stack.config, name);
    const where = await chunkOnDisk(stack.config, snapshot!, 1, path.join(s3.root, 'courier-parts', 'courier'));
    await flipByte(where.file, where.offset + 1000);
    const dest = path.join(dir, `${name}.out`);
    const restore = await submit(stack.client, stack.config, { kind: 'restore', name, dest });
    await assert.rejects(waitForJob(stack.client, restore.jobId), (err: unknown) => {
      assert.ok(err instanceof JobFailedError);
      assert.match(
        err.message,
        new RegExp(`chunk ${where.chunk} \\(pack ${where.pack}\\) of snapshot ${snapshot!.id} of s3-bitrot is damaged: authentication failed`),
      );
      return true;
    });
    await assert.rejects(fs.stat(dest), /ENOENT/, 'the target is untouched');
  });

  it('wrong credentials and a missing bucket fail the job with a clear error', async () => {
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
      } finally {
        await broken.close();
      }
    }
  });
});
