import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { submit, waitForJob } from '../src/client';
import type { BackupResult } from '../src/kinds/backup/contract';
import { bytesOnDisk } from './helpers/repository';
import { createStack, randomFile, sha256File, type Stack } from './helpers/stack';

const MiB = 1024 * 1024;

describe('a segment retried after its packs were stored', () => {
  let stack: Stack;
  let dir: string;

  before(async () => {
    stack = await createStack({ COURIER_PART_SIZE: '1MiB' });
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'files-'));
  });
  afterEach(() => stack.stopWorker());
  after(() => stack.close());

  it('finds its chunks in the repository and sends nothing again (a crash after the upload, before the step reported)', async () => {
    let crashed = false;
    const retried: { newChunks: number; chunks: number }[] = [];
    await stack.startWorker({
      wrapActivities: (real) => ({
        ...real,
        async backupSegment(ref) {
          const result = await real.backupSegment(ref);
          if (ref.index === 2 && crashed) retried.push(result);
          if (ref.index === 2 && !crashed) {
            crashed = true;
            throw new Error('simulated crash after the segment stored its packs and list');
          }
          return result;
        },
      }),
    });
    const source = await randomFile(dir, 'found-in-store', 4 * MiB + 3);
    const before = await bytesOnDisk(stack.config);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'found-in-store', source });
    const result = (await waitForJob(stack.client, jobId)) as BackupResult;
    assert.ok(crashed);
    assert.equal(result.partCount, 5);
    assert.equal(retried.length, 1);
    assert.equal(retried[0]!.newChunks, 0, 'the retried segment found every chunk stored');
    assert.ok(retried[0]!.chunks > 0);
    const stored = (await bytesOnDisk(stack.config)) - before;
    assert.ok(stored < 4 * MiB + 64 * 1024, `the file's bytes are stored once: ${stored} bytes of packs for ${4 * MiB + 3}`);
    const dest = path.join(dir, 'found-in-store.out');
    await waitForJob(stack.client, (await submit(stack.client, stack.config, { kind: 'restore', name: 'found-in-store', dest })).jobId);
    assert.equal(await sha256File(dest), await sha256File(source));
  });
});
