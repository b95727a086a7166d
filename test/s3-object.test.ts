import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { cancelJob, JobFailedError, queryProgress, submit, waitForJob } from '../src/client';
import type { BackupResult } from '../src/kinds/backup/contract';
import { snapshotObjectKey } from '../src/repository/layout';
import { S3Store } from '../src/stores/s3-store';
import { startS3Server, type S3Server } from './helpers/s3-server';
import { createStack, randomFile, sha256File, spawnWorker, uploadsBegun, waitUntil, type Stack } from './helpers/stack';

const MiB = 1024 * 1024;
const BUCKET = 'courier-object';

describe('S3 store, object layout: one object through a resumable multipart upload', () => {
  let s3: S3Server;
  let stack: Stack;
  let store: S3Store;
  let dir: string;

  before(async () => {
    s3 = await startS3Server();
    await s3.createBucket(BUCKET);
    stack = await createStack({ ...s3.envFor(BUCKET), COURIER_S3_LAYOUT: 'object', COURIER_PART_SIZE: '5MiB', COURIER_CONCURRENCY: '2' });
    store = new S3Store({
      bucket: BUCKET,
      prefix: 'courier/',
      pathStyle: true,
      aws: { endpoint: s3.endpoint, region: 'us-east-1', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 's3-object-'));
  });
  afterEach(() => stack.stopWorker());
  after(async () => {
    await stack?.close();
    await s3?.stop();
  });

  async function restoreMatches(name: string, source: string) {
    const dest = path.join(dir, `${name}.out`);
    await waitForJob(stack.client, (await submit(stack.client, stack.config, { kind: 'restore', name, dest })).jobId);
    assert.equal(await sha256File(dest), await sha256File(source), `${name}: restore is byte-identical`);
  }

  for (const [label, size] of [
    ['an empty file', 0],
    ['one part', 3 * MiB],
    ['many parts', 3 * 5 * MiB + 123],
  ] as const) {
    it(`backs up ${label} as one object and restores it byte-identically`, async () => {
      await stack.startWorker();
      const name = `object-${label.replace(/ /g, '-')}`;
      const source = await randomFile(dir, name, size);
      const result = (await waitForJob(
        stack.client,
        (await submit(stack.client, stack.config, { kind: 'backup', name, source })).jobId,
      )) as BackupResult;
      assert.equal(result.objectKey, snapshotObjectKey(name, result.snapshot!));
      const object = await store.head(result.objectKey!);
      assert.equal(object?.size, size, 'one object holds the whole file');
      assert.deepEqual(
        (await store.list(`backups/${name}`)).map((o) => o.key),
        [result.objectKey],
        'one plain object per snapshot, nothing else',
      );
      await restoreMatches(name, source);
      // A second backup of the name is a second object: the first is not overwritten.
      const again = (await waitForJob(
        stack.client,
        (await submit(stack.client, stack.config, { kind: 'backup', name, source, id: `${name}-again` })).jobId,
      )) as BackupResult;
      assert.notEqual(again.objectKey, result.objectKey);
      assert.equal((await store.head(result.objectKey!))?.size, size, 'the first snapshot keeps its object');
    });
  }

  it('bytes corrupted inside the object on the server disk fail the restore naming the part', async () => {
    await stack.startWorker();
    const name = 'object-bitrot';
    const source = await randomFile(dir, name, 3 * 5 * MiB);
    const backed = (await waitForJob(
      stack.client,
      (await submit(stack.client, stack.config, { kind: 'backup', name, source })).jobId,
    )) as BackupResult;
    const handle = await fs.open(path.join(s3.root, BUCKET, 'courier', backed.objectKey!), 'r+');
    await handle.write(Buffer.from('rot'), 0, 3, 5 * MiB + 1000);
    await handle.close();
    const dest = path.join(dir, `${name}.out`);
    const restore = await submit(stack.client, stack.config, { kind: 'restore', name, dest });
    await assert.rejects(waitForJob(stack.client, restore.jobId), /part 1 of backup object-bitrot is corrupt/);
    await assert.rejects(fs.stat(dest), /ENOENT/, 'the target is untouched');
  });

  it('after the worker is killed mid-upload, the resumed job uploads only the parts the upload lacks', async () => {
    const name = 'object-resume';
    const source = await randomFile(dir, name, 60 * 5 * MiB);
    const child = spawnWorker({ ...stack.env, COURIER_CONCURRENCY: '1' });
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name, source });
    await waitUntil(
      'some parts uploaded',
      async () => {
        const progress = await queryProgress(stack.client, jobId, 1000);
        return progress?.kind === 'backup' && progress.phase === 'upload' && progress.partsDone >= 5;
      },
      120_000,
    );
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const [upload] = await store.listMultipartUploads(`backups/${name}`);
    assert.ok(upload, 'the multipart upload is open');
    const before = new Set((await store.listParts(upload.key, upload.uploadId)).map((p) => p.partNumber - 1));
    assert.ok(before.size >= 5 && before.size < 60, `killed mid-upload with ${before.size} parts in the upload`);

    const sentAfter = new Set<number>();
    await stack.startWorker({
      wrapActivities: (real) => ({
        ...real,
        async uploadObjectPart(ref) {
          const result = await real.uploadObjectPart(ref);
          if (result.uploaded) sentAfter.add(ref.index);
          return result;
        },
      }),
    });
    const result = (await waitForJob(stack.client, jobId)) as BackupResult;
    assert.equal(result.partCount, 60);
    assert.deepEqual(
      [...sentAfter].filter((index) => before.has(index)),
      [],
      'no part the upload held was sent again',
    );
    assert.equal(before.size + sentAfter.size, 60, 'every missing part was sent once');
    assert.deepEqual(await store.listMultipartUploads(`backups/${name}`), [], 'the upload is completed');
    await restoreMatches(name, source);
  });

  it('a worker lost after the server assembled the object: the retried step finds it and the job completes', async () => {
    const name = 'object-assembled-twice';
    const source = await randomFile(dir, name, 2 * 5 * MiB + 77);
    let attempts = 0;
    await stack.startWorker({
      wrapActivities: (real) => ({
        ...real,
        async completeObjectUpload(input) {
          const key = await real.completeObjectUpload(input);
          // The server has assembled the object (and forgotten the upload); the answer is lost on the way back.
          if (++attempts === 1) throw new Error('connection reset after the object was assembled');
          return key;
        },
      }),
    });
    const result = (await waitForJob(
      stack.client,
      (await submit(stack.client, stack.config, { kind: 'backup', name, source })).jobId,
    )) as BackupResult;
    assert.equal(attempts, 2, 'the step ran again');
    assert.equal((await store.head(result.objectKey!))?.size, 2 * 5 * MiB + 77);
    await restoreMatches(name, source);
  });

  it('cancel mid-upload aborts the multipart upload: no parts are left on the server', async () => {
    await stack.startWorker({
      wrapActivities: (real) => ({
        ...real,
        async uploadObjectPart(ref) {
          await new Promise((resolve) => setTimeout(resolve, 300));
          return real.uploadObjectPart(ref);
        },
      }),
    });
    const name = 'object-cancel';
    const source = await randomFile(dir, name, 12 * 5 * MiB);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name, source });
    await uploadsBegun(stack.client, jobId, 2);
    const uploads = await store.listMultipartUploads(`backups/${name}`);
    assert.equal(uploads.length, 1);
    await cancelJob(stack.client, jobId);
    await assert.rejects(waitForJob(stack.client, jobId), (err: unknown) => err instanceof JobFailedError && err.status === 'cancelled');
    assert.deepEqual(await store.listMultipartUploads(`backups/${name}`), []);
    assert.equal(await store.head(uploads[0]!.key), undefined);
  });

  it('refuses a part size below the 5 MiB multipart minimum with a clear message', async () => {
    const small = await createStack({ ...s3.envFor(BUCKET), COURIER_S3_LAYOUT: 'object', COURIER_PART_SIZE: '1MiB' });
    try {
      await small.startWorker();
      const source = await randomFile(dir, 'object-small-parts', 3 * MiB);
      const { jobId } = await submit(small.client, small.config, { kind: 'backup', name: 'object-small-parts', source });
      await assert.rejects(waitForJob(small.client, jobId), /below S3's 5 MiB multipart minimum; use COURIER_PART_SIZE=5MiB/);
    } finally {
      await small.close();
    }
  });
});
