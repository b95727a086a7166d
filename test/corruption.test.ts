import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JobFailedError, submit, waitForJob } from '../src/client';
import type { BackupResult } from '../src/kinds/backup/contract';
import { chunkOnDisk, flipByte, snapshotsOf } from './helpers/repository';
import { createStack, randomFile, type Stack } from './helpers/stack';

const MiB = 1024 * 1024;

describe('restore from a damaged store', () => {
  let stack: Stack;
  let dir: string;

  before(async () => {
    stack = await createStack({ COURIER_PART_SIZE: '1MiB' });
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'files-'));
    await stack.startWorker();
  });
  after(() => stack.close());

  async function backUp(name: string): Promise<BackupResult> {
    const source = await randomFile(dir, name, 3 * MiB + 100);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name, source });
    return (await waitForJob(stack.client, jobId)) as BackupResult;
  }

  async function restoreFails(name: string, pattern: RegExp) {
    const dest = path.join(dir, `${name}.target`);
    await fs.writeFile(dest, 'the previous contents');
    const { jobId } = await submit(stack.client, stack.config, { kind: 'restore', name, dest });
    await assert.rejects(waitForJob(stack.client, jobId), (err: unknown) => {
      assert.ok(err instanceof JobFailedError);
      assert.match(err.message, pattern);
      return true;
    });
    assert.equal(await fs.readFile(dest, 'utf8'), 'the previous contents', 'the target is untouched');
    const partials = (await fs.readdir(dir)).filter((f) => f.endsWith('.partial'));
    assert.deepEqual(partials, [], 'no half-written temp file is left');
  }

  it('a chunk whose bytes changed on the store disk fails naming the chunk, its pack and the snapshot', async () => {
    const backed = await backUp('bitrot');
    const [snapshot] = await snapshotsOf(stack.config, 'bitrot');
    const where = await chunkOnDisk(stack.config, snapshot!, 1);
    await flipByte(where.file, where.offset + 100);
    await restoreFails('bitrot', new RegExp(`chunk ${where.chunk} \\(pack ${where.pack}\\) of snapshot ${backed.snapshot} of bitrot is damaged`));
  });

  it('a pack missing from the store fails naming the pack', async () => {
    await backUp('missing-object');
    const [snapshot] = await snapshotsOf(stack.config, 'missing-object');
    const where = await chunkOnDisk(stack.config, snapshot!, 2);
    await fs.rm(where.file);
    await restoreFails('missing-object', new RegExp(`pack ${where.pack}|${where.pack}.* is missing`));
  });

  it('an unknown backup name fails with a clear cause', async () => {
    await restoreFails('never-backed-up', /no backup named "never-backed-up"/);
  });
});
