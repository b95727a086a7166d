/**
 * Jobs started by a client other than courier's: the Temporal CLI binary the
 * project builds, passing nothing but the message. The worker validates it,
 * gives it the settings of its own configuration and the search attributes
 * courier's client would have set; a bad message fails at once, naming the field.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ensureTemporalCli } from '../src/dev-server/temporal-cli';
import { listJobs, waitForJob } from '../src/client';
import { KINDS } from '../src/kinds/registry';
import { chunkOnDisk, flipByte, snapshotsOf } from './helpers/repository';
import { csv, dropTables, idsIn, uniqueTable, writePipelines, COLUMNS } from './helpers/etl';
import { createStack, randomFile, sha256File, temporalAddress, waitUntil, type Stack } from './helpers/stack';

const run = promisify(execFile);

describe('any Temporal client starts a job with just its message', () => {
  let stack: Stack;
  let temporal: string;
  let dir: string;
  const table = uniqueTable('anyclient');

  /** `temporal workflow start --type KIND --input MESSAGE`, as README shows it. */
  async function startWithCli(type: string, workflowId: string, message: unknown): Promise<void> {
    await run(temporal, [
      'workflow',
      'start',
      '--address',
      temporalAddress(),
      '--namespace',
      'default',
      '--task-queue',
      stack.config.taskQueue,
      '--type',
      type,
      '--workflow-id',
      workflowId,
      '--input',
      JSON.stringify(message),
    ]);
  }

  before(async () => {
    temporal = await ensureTemporalCli();
    dir = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'any-client-'));
    const etlRoot = path.join(dir, 'etl');
    await writePipelines(etlRoot, {
      locations: { local: { kind: 'sqlite', path: 'db/etl.sqlite' } },
      pipelines: { orders: { columns: COLUMNS, key: ['id'], table, batchSize: 10, locations: ['local'] } },
    });
    stack = await createStack({ COURIER_ETL_ROOT: etlRoot, COURIER_DISPATCH_FORMATS: 'archive', COURIER_DELIVERY_ROOT: path.join(dir, 'delivered') });
    await stack.startWorker();
    await stack.startHandlerWorkers(['archive']);
  });
  after(async () => {
    await stack?.close();
    await dropTables([table]);
  });

  it('every kind starts from `temporal workflow start` with only its message and completes', { timeout: 180_000 }, async () => {
    const source = await randomFile(dir, 'cli-source.bin', 3 * 1024 * 1024 + 7);
    const sha256 = await sha256File(source);
    const etlSource = path.join(dir, 'orders.csv');
    await fs.writeFile(etlSource, csv(Array.from({ length: 25 }, (_, i) => [i + 1, `c${i}`, i * 1.5, 'yes'])));
    const id = (kind: string) => `${kind}-from-temporal-cli-${process.pid}-${Date.now()}`;
    const messages: Record<string, unknown> = {
      backup: { name: `cli-${process.pid}`, source, partSize: 1024 * 1024 },
      dispatch: {
        name: 'cli',
        version: '1',
        buildType: null,
        format: 'archive',
        project: 'cli',
        origin: 'temporal-cli',
        payload: { files: [source] },
      },
      push: { name: `cli-push-${process.pid}`, file: source, dest: '/pushed.bin', hosts: [stack.config.host] },
      etl: { pipeline: 'orders', source: etlSource },
    };
    // A restore, verify, forget, prune and check need the backup first; every other kind starts at once.
    const later = ['restore', 'verify', 'forget', 'prune', 'check'];
    assert.deepEqual(KINDS.map((k) => k.name).sort(), [...Object.keys(messages), ...later].sort(), 'the test covers every kind');
    const ids = Object.fromEntries(Object.keys(messages).map((kind) => [kind, id(kind)]));
    for (const [kind, message] of Object.entries(messages)) await startWithCli(kind, ids[kind], message);

    const results = Object.fromEntries(
      await Promise.all(Object.keys(messages).map(async (kind) => [kind, await waitForJob(stack.client, ids[kind])])),
    );
    assert.equal(results.backup.kind, 'backup');
    assert.equal(results.backup.kind === 'backup' && results.backup.sha256, sha256);
    assert.equal(results.backup.kind === 'backup' && results.backup.partCount, 4, "the message's part size was used");
    assert.equal(results.dispatch.kind, 'dispatch');
    assert.equal(results.push.kind === 'push' && results.push.hosts[0].outcome, 'delivered');
    assert.equal(await sha256File(path.join(dir, 'delivered', 'pushed.bin')), sha256);
    assert.equal(results.etl.kind, 'etl');
    const loaded = await idsIn({ sqlite: { file: path.join(dir, 'etl', 'db', 'etl.sqlite'), table } });
    assert.deepEqual(
      loaded.sqlite,
      Array.from({ length: 25 }, (_, i) => i + 1),
    );

    const restoreId = id('restore');
    const dest = path.join(dir, 'restored.bin');
    await startWithCli('restore', restoreId, { name: `cli-${process.pid}`, dest });
    const restored = await waitForJob(stack.client, restoreId);
    assert.equal(restored.kind, 'restore');
    assert.equal(await sha256File(dest), sha256);

    const verifyId = id('verify');
    await startWithCli('verify', verifyId, { name: `cli-${process.pid}` });
    const verified = await waitForJob(stack.client, verifyId);
    assert.deepEqual(verified.kind === 'verify' && [verified.partCount, verified.bad], [4, []]);
    const repositoryIds: Record<string, string> = {};
    for (const [kind, message] of [
      ['forget', { name: `cli-${process.pid}`, keepLast: 1 }],
      ['prune', {}],
      ['check', { readDataSubset: '100%' }],
    ] as const) {
      repositoryIds[kind] = id(kind);
      await startWithCli(kind, repositoryIds[kind], message);
      assert.equal((await waitForJob(stack.client, repositoryIds[kind])).kind, kind);
    }
    // The same check sees a part that rotted in the store, and names it.
    const [snapshot] = await snapshotsOf(stack.config, `cli-${process.pid}`);
    const where = await chunkOnDisk(stack.config, snapshot!, 2);
    await flipByte(where.file, where.offset + 10);
    const recheck = `${verifyId}-again`;
    await startWithCli('verify', recheck, { name: `cli-${process.pid}` });
    await assert.rejects(waitForJob(stack.client, recheck), (err: Error) => /1 of 4 part\(s\) do not match: part 2:/.test(err.message));

    // The search attributes courier's client sets, the workflow set itself: listings find every job by kind.
    for (const kind of [...Object.keys(messages), ...later]) {
      const jobId = kind === 'restore' ? restoreId : kind === 'verify' ? verifyId : (repositoryIds[kind] ?? ids[kind]);
      const listed = await waitUntil(`${kind} listed`, async () =>
        (await listJobs(stack.client, { kind: kind as 'backup' })).find((j) => j.jobId === jobId),
      );
      assert.equal(listed.status, 'completed');
    }
    const dispatchListing = await listJobs(stack.client, { project: 'cli' });
    assert.ok(
      dispatchListing.some((j) => j.jobId === ids.dispatch),
      'the project search attribute came from the message',
    );
  });

  it('a message that does not validate fails the job at once, naming the field, and lists as failed', { timeout: 60_000 }, async () => {
    const jobId = `bad-backup-${process.pid}-${Date.now()}`;
    const started = Date.now();
    await startWithCli('backup', jobId, { name: 'has/slash', source: 'relative/path' });
    const failure = await stack.client.workflow
      .getHandle(jobId)
      .result()
      .then(
        () => assert.fail('a bad message must not run'),
        (err: unknown) => err,
      );
    assert.ok(failure instanceof WorkflowFailedError);
    const cause = failure.cause?.message ?? '';
    assert.match(cause, /name: use letters/);
    assert.match(cause, /source: must be an absolute path/);
    assert.ok(Date.now() - started < 15_000, 'it failed at once rather than retrying');
    const history = await stack.client.workflow.getHandle(jobId).fetchHistory();
    const failedTasks = (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes);
    assert.equal(failedTasks.length, 0, 'no workflow task failed (and retried)');
    const listed = await waitUntil('the bad job listed', async () =>
      (await listJobs(stack.client, { status: 'failed', kind: 'backup' })).find((j) => j.jobId === jobId),
    );
    assert.equal(listed.kind, 'backup');
  });

  it('input that is not a message object, or a kind that does not match the workflow, is named too', { timeout: 60_000 }, async () => {
    const notObject = `not-an-object-${process.pid}-${Date.now()}`;
    await startWithCli('restore', notObject, 'just a string');
    await assert.rejects(stack.client.workflow.getHandle(notObject).result(), (err: WorkflowFailedError) =>
      /is a JSON object \(its message\)/.test(err.cause?.message ?? ''),
    );
    const wrongKind = `wrong-kind-${process.pid}-${Date.now()}`;
    await startWithCli('restore', wrongKind, { kind: 'backup', name: 'x', dest: '/tmp/x' });
    await assert.rejects(stack.client.workflow.getHandle(wrongKind).result(), (err: WorkflowFailedError) => /kind/.test(err.cause?.message ?? ''));
  });
});
