import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { getJob, JobFailedError, submit, waitForJob } from '../src/client';
import type { BackupResult } from '../src/kinds/backup/contract';
import { jobRecordKey, partKey } from '../src/jobs/keys';
import { StagingDir } from '../src/activities/staging';
import { createStack, randomFile, type Stack } from './helpers/stack';

const MiB = 1024 * 1024;

describe('parts lost between split and upload', () => {
  let stack: Stack;
  let dir: string;

  before(async () => {
    stack = await createStack({ COURIER_PART_SIZE: '1MiB' });
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'files-'));
  });
  afterEach(() => stack.stopWorker());
  after(() => stack.close());

  it('a part deleted locally after its verified upload (crash before the step reported) is found in the store', async () => {
    let crashed = false;
    await stack.startWorker({
      wrapActivities: (real) => ({
        ...real,
        async uploadPart(ref) {
          const result = await real.uploadPart(ref);
          if (ref.index === 2 && !crashed) {
            crashed = true;
            throw new Error('simulated crash after the upload was verified and the local part deleted');
          }
          return result;
        },
      }),
    });
    const source = await randomFile(dir, 'found-in-store', 4 * MiB + 3);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'found-in-store', source });
    const result = (await waitForJob(stack.client, jobId)) as BackupResult;
    assert.ok(crashed);
    assert.equal(result.partCount, 5);
    assert.equal(result.partsUploaded, 4, 'the retried part was verified in the store, not uploaded again');
  });

  it('a part missing locally and in the store fails the job naming the part, and keeps the rest', async () => {
    await stack.startWorker({
      wrapActivities: (real) => ({
        ...real,
        async uploadPart(ref) {
          if (ref.index === 1) await fs.rm(new StagingDir(stack.config.stagingDir, ref.backup).partPath(1));
          return real.uploadPart(ref);
        },
      }),
    });
    const source = await randomFile(dir, 'lost-part', 3 * MiB);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'lost-part', source });
    await assert.rejects(waitForJob(stack.client, jobId), (err: unknown) => {
      assert.ok(err instanceof JobFailedError);
      assert.equal(err.status, 'failed');
      assert.match(err.message, /part 1 of backup lost-part is lost/);
      return true;
    });
    const view = await getJob(stack.client, jobId);
    assert.equal(view.status, 'failed');
    assert.match(view.error ?? '', /part 1 of backup lost-part is lost/);
    const record = JSON.parse(await fs.readFile(path.join(stack.config.storeDir, 'objects', jobRecordKey(jobId)), 'utf8')) as {
      status: string;
      detail: { error: string };
    };
    assert.equal(record.status, 'failed', 'the done record says failed');
    assert.match(record.detail.error, /part 1/);
    // Staging is kept for a retry: the split's record of every part, with the checksum of the source's bytes, and
    // the bytes of every part but the lost one, still staged or already verified in the store.
    const staging = new StagingDir(stack.config.stagingDir, 'lost-part');
    const bytes = await fs.readFile(source);
    const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
    for (const index of [0, 1, 2]) {
      const expected = sha256(bytes.subarray(index * MiB, (index + 1) * MiB));
      assert.equal((await staging.readRecord(index))?.sha256, expected, `staging keeps the record of part ${index}`);
      if (index === 1) continue;
      const kept =
        (await fs.readFile(staging.partPath(index)).catch(() => undefined)) ??
        (await fs.readFile(path.join(stack.config.storeDir, 'objects', partKey('lost-part', index))).catch(() => undefined));
      assert.equal(kept && sha256(kept), expected, `part ${index} is still staged or verified in the store`);
    }
  });
});
