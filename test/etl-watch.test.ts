import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JobFailedError, waitForJob } from '../src/client';
import { createLogger } from '../src/logger';
import type { EtlResult } from '../src/kinds/etl/contract';
import { dropJobId, watchEtlInbox } from '../src/kinds/etl/drop-folder';
import { watchBackupDrop, backupDropFolder } from '../src/kinds/backup/drop-folder';
import type { Inbox } from '../src/watch/inbox';
import type { BackupResult } from '../src/kinds/backup/contract';
import { placeHold, releaseHold } from '../src/operations/holds';
import { openStore } from '../src/stores';
import { createStack, sha256File, waitUntil, type Stack } from './helpers/stack';
import { COLUMNS, csv, dropTables, filesIn, idsIn, uniqueTable, writePipelines } from './helpers/etl';

describe('drop folders: files dropped into an inbox start jobs', () => {
  let stack: Stack;
  let base: string;
  let root: string;
  let inbox: string;
  let watcher: Inbox;
  const table = uniqueTable('dropped');
  const pipelines = (columns: object[]) => ({
    locations: { local: { kind: 'sqlite', path: 'db/etl.sqlite' } },
    pipelines: { orders: { columns, key: ['id'], table, batchSize: 10, locations: ['local'] } },
  });
  const sqlite = () => ({ file: path.join(root, 'db', 'etl.sqlite'), table });

  before(async () => {
    base = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'drop-'));
    root = path.join(base, 'etl');
    inbox = path.join(base, 'inbox');
    await writePipelines(root, pipelines(COLUMNS));
    stack = await createStack({ COURIER_ETL_ROOT: root, COURIER_WATCH_STABLE: '300ms' });
    await stack.startWorker();
    watcher = await watchEtlInbox(inbox, 'orders', { config: stack.config, client: stack.client, logger: createLogger(stack.config, 'test-watch') });
  });
  after(async () => {
    await watcher?.close();
    await stack?.close();
    await dropTables([table]);
  });

  it('starts a job for a dropped file, only once it is complete, and the same content dropped again is the same job', async () => {
    const target = path.join(inbox, 'first.csv');
    const body = csv(Array.from({ length: 30 }, (_, i) => [i + 1, `c${i + 1}`, i, 'yes']));
    const handle = await fs.open(target, 'w');
    await handle.write(body.slice(0, body.length / 2));
    // Longer than the stability window: size alone would call it complete; the open writer says otherwise.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(await fs.readdir(inbox), ['first.csv'], 'the half-written file is still in the inbox');
    assert.deepEqual(await filesIn(root, 'E/working'), []);
    await handle.write(body.slice(body.length / 2));
    await handle.close();

    const jobId = dropJobId('orders', await sha256File(target));
    const result = (await waitUntil(
      'the dropped file to be loaded',
      async () => waitForJob(stack.client, jobId).catch(() => undefined),
      60_000,
    )) as EtlResult;
    const firstRun = (await stack.client.workflow.getHandle(jobId).describe()).runId;
    assert.equal(result.transformsStarted, 1);
    assert.deepEqual(await fs.readdir(inbox), [], 'the job took the file out of the inbox');
    assert.equal((await idsIn({ sqlite: sqlite() })).sqlite?.length, 30, 'every record of the complete file is loaded');

    await fs.writeFile(path.join(inbox, 'again.csv'), body);
    await waitUntil('the duplicate to be removed', async () => (await fs.readdir(inbox)).length === 0, 30_000);
    assert.equal((await stack.client.workflow.getHandle(jobId).describe()).runId, firstRun, 'the same content is one job, run once');
  });

  it('a file that failed and is moved back from E/failed into the inbox runs again', async () => {
    // The pipeline wants a column the file lacks: the file fails into E/failed.
    await writePipelines(root, pipelines([...COLUMNS, { name: 'region', type: 'string' }]));
    const body = csv([
      [101, 'zed', 1, 'no'],
      [102, 'yan', 2, 'yes'],
    ]);
    const dropped = path.join(inbox, 'retry-me.csv');
    await fs.writeFile(dropped, body);
    const jobId = dropJobId('orders', await sha256File(dropped));
    await waitUntil(
      'the job to fail',
      async () =>
        waitForJob(stack.client, jobId)
          .then(
            () => assert.fail('the file should not load'),
            (err) => err instanceof JobFailedError && /missing region/.test(err.message),
          )
          .catch(() => false),
      60_000,
    );
    const failedRun = (await stack.client.workflow.getHandle(jobId).describe()).runId;
    const [failed] = await filesIn(root, 'E/failed');
    assert.match(failed, /^retry-me\.[0-9a-f]{8}\.csv$/);

    // The operator fixes the pipeline and moves the file back.
    await writePipelines(root, pipelines(COLUMNS));
    await fs.rename(path.join(root, 'E/failed', failed), path.join(inbox, failed));
    const result = await waitUntil(
      'the second run to complete',
      async () => {
        if ((await stack.client.workflow.getHandle(jobId).describe()).runId === failedRun) return undefined;
        return (await waitForJob(stack.client, jobId).catch(() => undefined)) as EtlResult | undefined;
      },
      60_000,
    );
    assert.equal(result.transformsStarted, 1);
    assert.deepEqual(await filesIn(root, 'E/failed'), [], 'the failed file left E/failed');
    const ids = (await idsIn({ sqlite: sqlite() })).sqlite!;
    assert.ok(ids.includes(101) && ids.includes(102), 'the retried file is loaded');
  });

  it('courier watch --etl runs until SIGTERM and starts jobs for dropped files', async () => {
    const cliInbox = path.join(base, 'cli-inbox');
    const child = spawn(process.execPath, [path.join(__dirname, '..', 'bin', 'courier'), 'watch', cliInbox, '--etl', 'orders'], {
      env: { ...process.env, ...stack.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.resume();
    try {
      await waitUntil(
        'the inbox to exist',
        async () =>
          fs.stat(cliInbox).then(
            () => true,
            () => false,
          ),
        30_000,
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const dropped = path.join(cliInbox, 'via-cli.csv');
      await fs.writeFile(dropped, csv([[301, 'ned', 1, 'yes']]));
      const jobId = dropJobId('orders', await sha256File(dropped));
      await waitUntil('the job of the dropped file', async () => waitForJob(stack.client, jobId).catch(() => undefined), 60_000);
      assert.ok((await idsIn({ sqlite: sqlite() })).sqlite!.includes(301));
    } finally {
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    }
  });

  it('backups: a dropped file is backed up once and ends in resolved/', async () => {
    const folder = path.join(base, 'backups');
    const backups = await watchBackupDrop(folder, { config: stack.config, client: stack.client, logger: createLogger(stack.config, 'test-watch') });
    try {
      const dirs = backupDropFolder(folder);
      await fs.writeFile(path.join(dirs.inbox, 'db.dump'), 'x'.repeat(100_000));
      const jobId = `backup-drop-${(await sha256File(path.join(dirs.inbox, 'db.dump'))).slice(0, 24)}`;
      await waitUntil('the dump to be resolved', async () => (await fs.readdir(dirs.resolved)).includes('db.dump'), 60_000);
      await waitForJob(stack.client, jobId);
      assert.deepEqual(await fs.readdir(dirs.inbox), []);
      assert.deepEqual(await fs.readdir(dirs.working), []);
    } finally {
      await backups.close();
    }
  });

  it('backups: two different files of one name dropped while the first is still being backed up are both kept and backed up', async () => {
    const folder = path.join(base, 'backups-same-name');
    const backups = await watchBackupDrop(folder, { config: stack.config, client: stack.client, logger: createLogger(stack.config, 'test-watch') });
    const holds = { client: stack.client, config: stack.config, store: openStore(stack.config) };
    try {
      const dirs = backupDropFolder(folder);
      // Held, the first backup is certainly still running when the second file arrives.
      await placeHold(holds, { scope: 'kind', name: 'backup' });
      const contents = ['first version '.repeat(5000), 'second version '.repeat(5000)];
      const working = async () => (await fs.readdir(dirs.working, { recursive: true })).filter((f) => f.endsWith('same.dump'));
      for (const [i, content] of contents.entries()) {
        await fs.writeFile(path.join(dirs.inbox, 'same.dump'), content);
        await waitUntil(`file ${i + 1} to be in working/`, async () => (await working()).length === i + 1, 30_000);
      }
      await releaseHold(holds, { scope: 'kind', name: 'backup' });
      await waitUntil('both files to be resolved', async () => (await fs.readdir(dirs.resolved)).length === 2, 60_000);
      const resolved = await fs.readdir(dirs.resolved);
      assert.deepEqual(resolved.sort(), ['same.dump', 'same.dump (2)']);
      const kept = await Promise.all(resolved.map((name) => fs.readFile(path.join(dirs.resolved, name), 'utf8')));
      assert.deepEqual(kept.sort(), [...contents].sort(), 'each file kept whole');
      for (const content of contents) {
        const jobId = `backup-drop-${createHash('sha256').update(content).digest('hex').slice(0, 24)}`;
        assert.equal(((await waitForJob(stack.client, jobId)) as BackupResult).size, Buffer.byteLength(content));
      }
      assert.deepEqual(await fs.readdir(dirs.working), [], 'working/ left empty');
    } finally {
      await releaseHold(holds, { scope: 'kind', name: 'backup' }).catch(() => undefined);
      await backups.close();
    }
  });
});
