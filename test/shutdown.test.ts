import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getJob, submit, waitForJob } from '../src/client';
import { repoKeys } from '../src/repository/layout';
import { PackIndex } from '../src/repository/pack-index';
import { repositoryOf } from './helpers/repository';
import { type BackupResult } from '../src/kinds/backup/contract';
import { S3Store } from '../src/stores/s3-store';
import { startS3Server, type S3Server } from './helpers/s3-server';
import { freePort } from '../src/dev-server/free-port';
import { createStack, randomFile, sha256File, spawnWorker, waitUntil, type Stack } from './helpers/stack';

const MiB = 1024 * 1024;
const BUCKET = 'courier-shutdown';

describe('graceful shutdown: SIGTERM lets running uploads finish, then the worker exits 0', () => {
  let s3: S3Server;
  let stack: Stack;
  let store: S3Store;

  before(async () => {
    s3 = await startS3Server();
    await s3.createBucket(BUCKET);
    stack = await createStack({ ...s3.envFor(BUCKET), COURIER_PART_SIZE: '8MiB', COURIER_CONCURRENCY: '2', COURIER_SHUTDOWN_GRACE: '60s' });
    store = new S3Store({
      bucket: BUCKET,
      prefix: 'courier/',
      pathStyle: true,
      aws: { endpoint: s3.endpoint, region: 'us-east-1', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
  });
  after(async () => {
    await stack?.close();
    await s3?.stop();
  });

  it('a worker stopped mid-backup exits 0 and the next worker completes the job without storing any chunk twice', async () => {
    const name = 'shutdown-mid-backup';
    const dir = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'shutdown-'));
    const source = await randomFile(dir, `${name}.bin`, 40 * 8 * MiB);
    let jobIdOf: string | undefined;
    const child = spawnWorker(stack.env);
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name, source });
      jobIdOf = jobId;
      await waitUntil(
        'uploads under way',
        async () => {
          if (child.exitCode !== null) throw new Error(`the worker exited early (${child.exitCode}): ${stderr.slice(-2000)}`);
          const job = await getJob(stack.client, jobId);
          if (job.status !== 'running')
            throw new Error(`the job is ${job.status} before the worker was stopped: ${JSON.stringify(job).slice(0, 1000)}`);
          return job.progress?.kind === 'backup' && job.progress.phase === 'upload' && job.progress.partsDone >= 3;
        },
        120_000,
      );
      child.kill('SIGTERM');
      assert.equal(await exited, 0, `the worker exits 0 after SIGTERM; stderr: ${stderr.slice(-2000)}`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const jobId = jobIdOf!;

    const packsAtStop = (await store.list(repoKeys.packsPrefix)).length;
    assert.ok(packsAtStop >= 1, `stopped mid-backup with ${packsAtStop} pack(s) stored`);

    const byNext: { index: number; newChunks: number; chunks: number }[] = [];
    await stack.startWorker({
      wrapActivities: (real) => ({
        ...real,
        async backupSegment(ref) {
          const result = await real.backupSegment(ref);
          byNext.push({ index: ref.index, newChunks: result.newChunks, chunks: result.chunks });
          return result;
        },
      }),
    });
    const result = (await waitForJob(stack.client, jobId)) as BackupResult;
    assert.equal(result.partCount, 40);
    assert.ok(byNext.length > 0 && byNext.length < 40, `the next worker ran the ${byNext.length} segment(s) left`);
    assert.deepEqual(
      byNext.filter((s) => s.newChunks !== s.chunks).map((s) => s.index),
      [],
      'no segment the stopped worker had finished ran again: every chunk the next worker met was new',
    );
    const index = await new PackIndex().refresh(await repositoryOf(stack.config));
    const ids = index.packs().flatMap((t) => t.chunks.map(([id]) => id));
    assert.equal(new Set(ids).size, ids.length, 'no chunk was stored twice');

    const dest = path.join(dir, `${name}.out`);
    await waitForJob(stack.client, (await submit(stack.client, stack.config, { kind: 'restore', name, dest })).jobId);
    assert.equal(await sha256File(dest), await sha256File(source));
    await fs.rm(source);
  });

  it('with COURIER_METRICS_ADDRESS the worker serves the SDK metrics in Prometheus text', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const child = spawnWorker({ ...stack.env, COURIER_METRICS_ADDRESS: address });
    try {
      const text = await waitUntil(
        'the metrics endpoint',
        async () => {
          const response = await fetch(`http://${address}/metrics`).catch(() => undefined);
          const body = response?.ok ? await response.text() : '';
          return /^temporal_num_pollers\{.*\} \d+/m.test(body) ? body : undefined;
        },
        60_000,
      );
      assert.match(text, /^# TYPE temporal_num_pollers gauge$/m);
      assert.match(text, new RegExp(`task_queue="${stack.config.taskQueue}"`), 'labelled with the task queue');
    } finally {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    }
  });
});
