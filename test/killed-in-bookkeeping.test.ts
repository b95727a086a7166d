import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { submit, waitForJob } from '../src/client';
import type { BackupResult } from '../src/kinds/backup/contract';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy';
import { startS3Server, type S3Server } from './helpers/s3-server';
import { createStack, randomFile, sha256File, spawnWorker, waitUntil, type Stack } from './helpers/stack';

const MiB = 1024 * 1024;
const HEARTBEAT_S = 2;

describe('a worker killed inside a bookkeeping step', () => {
  let s3: S3Server;
  let proxy: FaultProxy;
  let stack: Stack;
  let dir: string;

  before(async () => {
    s3 = await startS3Server();
    await s3.createBucket('bookkeeping');
    proxy = await startFaultProxy(s3.endpoint);
    stack = await createStack({
      ...s3.envFor('bookkeeping'),
      AWS_ENDPOINT_URL: proxy.endpoint,
      COURIER_PART_SIZE: '1MiB',
      COURIER_HEARTBEAT_TIMEOUT: `${HEARTBEAT_S}s`,
    });
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'files-'));
  });
  after(async () => {
    await stack?.close();
    await proxy?.close();
    await s3?.stop();
  });

  it('is retried by another worker within the heartbeat timeout, not at the end of its five-minute start-to-close', async () => {
    const source = await randomFile(dir, 'bookkept', 3 * MiB + 5);
    // The snapshot write hangs at the store: the worker is inside writeSnapshot when it is killed.
    proxy.faults.hang = (method, url) => method === 'PUT' && url.includes('/snapshots/bookkept/');
    const first = spawnWorker(stack.env);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'bookkept', source });
    await waitUntil('the snapshot write under way', async () => proxy.injected.hang > 0, 120_000);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const killedAt = Date.now();
    proxy.faults.hang = undefined;

    await stack.startWorker();
    const result = (await waitForJob(stack.client, jobId)) as BackupResult;
    const stalledS = (Date.now() - killedAt) / 1000;
    // Before, the step's only timeout was its start-to-close: five minutes.
    assert.ok(stalledS < HEARTBEAT_S + 20, `the job went on ${stalledS.toFixed(1)} s after the kill`);
    assert.equal(result.partCount, 4);
    const dest = path.join(dir, 'bookkept.out');
    await waitForJob(stack.client, (await submit(stack.client, stack.config, { kind: 'restore', name: 'bookkept', dest })).jobId);
    assert.equal(await sha256File(dest), await sha256File(source));
  });
});
