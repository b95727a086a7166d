import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JobFailedError, submit, waitForJob } from '../src/client';
import type { BackupResult } from '../src/kinds/backup/contract';
import { partKey } from '../src/jobs/keys';
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

  it('a part whose bytes changed on the store disk fails naming the part', async () => {
    await backUp('bitrot');
    const object = path.join(stack.config.storeDir, 'objects', partKey('bitrot', 1));
    const handle = await fs.open(object, 'r+');
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, 4096);
    byte[0] ^= 0xff;
    await handle.write(byte, 0, 1, 4096);
    await handle.close();
    await restoreFails('bitrot', /part 1 of backup bitrot is corrupt/);
  });

  it('a part missing from the store fails naming the part', async () => {
    await backUp('missing-object');
    await fs.rm(path.join(stack.config.storeDir, 'objects', partKey('missing-object', 2)));
    await restoreFails('missing-object', /part 2 of backup missing-object is missing/);
  });

  it('an unknown backup name fails with a clear cause', async () => {
    await restoreFails('never-backed-up', /no backup named "never-backed-up"/);
  });
});
