import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tar from 'tar';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, createDeps } from '../src/activities';
import type { ArchiveOutcome } from '../src/kinds/etl/activities/cleanup';
import { waitForJob } from '../src/client';
import type { CleanupResult } from '../src/kinds/etl/contract';
import type { CleanupScheduleView } from '../src/operations/cleanup-schedule';
import { startSmtp, type SmtpReceiver } from './helpers/receivers';
import { createStack, runCli, type Stack } from './helpers/stack';
import { COLUMNS, filesIn, writePipelines } from './helpers/etl';

describe('etl cleanup on a Temporal Schedule', () => {
  let stack: Stack;
  let smtp: SmtpReceiver;
  let root: string;
  const scheduleId = `etl-cleanup-${process.pid}-${Date.now()}`;

  async function put(file: string, body: string, ageDays = 0) {
    const target = path.join(root, file);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, body);
    if (ageDays) {
      const then = new Date(Date.now() - ageDays * 86_400_000);
      await fs.utimes(target, then, then);
    }
  }

  before(async () => {
    smtp = await startSmtp();
    root = path.join(await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'cleanup-')), 'etl');
    await writePipelines(root, {
      notify: ['etl-ops@example.com'],
      locations: { local: { kind: 'sqlite', path: 'db/etl.sqlite' } },
      pipelines: { orders: { columns: COLUMNS, key: ['id'], table: 'orders', locations: ['local'] } },
    });
    stack = await createStack({ COURIER_ETL_ROOT: root, COURIER_SMTP_URL: smtp.url });
    await stack.startWorker();
  });
  after(async () => {
    await runCli(['schedule', 'delete', scheduleId], stack.env).catch(() => undefined);
    await stack?.close();
    await smtp?.close();
  });

  it('courier schedule creates, lists, triggers and deletes the cleanup; a run archives exactly the resolved files, removes them, and mails once about stale files', async () => {
    const created = await runCli(['schedule', 'create', scheduleId, '--every', '1d', '--older-than', '3d'], stack.env);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, new RegExp(`schedule ${scheduleId} created: cleanup every 1d`));
    const listedAt = Date.now();
    const listed = await runCli(['schedule', 'list', '--json'], stack.env);
    const views = JSON.parse(listed.stdout) as CleanupScheduleView[];
    // Every field against a value known without the listing: what was asked for, nothing run yet, and the next
    // three runs of an interval of one day, which Temporal counts from the epoch: the coming UTC midnights.
    const day = 86_400_000;
    const nextMidnight = Math.ceil(listedAt / day) * day;
    assert.deepEqual(
      views.find((v) => v.id === scheduleId),
      {
        id: scheduleId,
        runs: 'etl-cleanup',
        every: '86400s',
        olderThanMs: 3 * day,
        paused: false,
        nextRuns: [0, 1, 2].map((n) => new Date(nextMidnight + n * day).toISOString()),
        recentRuns: [],
      },
    );

    const resolved = [
      'E/resolved/a.11111111.csv',
      'T/resolved/a.11111111.csv',
      'L/resolved/a.11111111.b000001.json',
      'L/resolved/a.11111111.b000002.json',
    ];
    for (const file of resolved) await put(file, `contents of ${file}\n`);
    await put('E/failed/old-bad.22222222.csv', 'id\n', 10);
    await put('T/work_in_process/stuck.33333333.csv', 'id\n', 5);
    await put('L/pg/failed/old.44444444.b000001.json', '{}', 4);
    await put('E/failed/fresh-bad.55555555.csv', 'id\n', 1);

    const triggered = await runCli(['schedule', 'trigger', scheduleId], stack.env);
    assert.equal(triggered.code, 0, triggered.stderr);
    const runId = triggered.stdout.trim();
    const result = (await waitForJob(stack.client, runId)) as CleanupResult;
    assert.equal(result.archivesBuilt, 1);
    assert.equal(result.filesArchived, 4);
    assert.deepEqual([...result.staleFiles].sort(), [
      'E/failed/old-bad.22222222.csv',
      'L/pg/failed/old.44444444.b000001.json',
      'T/work_in_process/stuck.33333333.csv',
    ]);

    const archive = path.join(root, result.archive!);
    assert.match(result.archive!, /^archive\/resolved-\d{4}-\d{2}-\d{2}T\d{6}Z-[0-9a-f-]{8}\.tar\.gz$/);
    const entries = new Map<string, string>();
    await tar.list({
      file: archive,
      onReadEntry: (entry) => {
        let body = '';
        entry.on('data', (d: Buffer) => (body += d));
        entry.on('end', () => entries.set(entry.path, body));
      },
    });
    assert.deepEqual([...entries.keys()].sort(), [...resolved].sort(), 'exactly the resolved files');
    for (const file of resolved) assert.equal(entries.get(file), `contents of ${file}\n`);
    for (const dir of ['E/resolved', 'T/resolved', 'L/resolved']) assert.deepEqual(await filesIn(root, dir), [], `${dir} emptied`);
    assert.deepEqual(await filesIn(root, 'E/failed'), ['fresh-bad.55555555.csv', 'old-bad.22222222.csv'], 'failed files are reported, never removed');

    const staleMail = () => smtp.mails.filter((m) => /file\(s\) waiting longer than 3 day/.test(m.subject));
    const mail = await smtp.waitFor('the stale-file mail', (m) => /3 file\(s\) waiting longer than 3 day/.test(m.subject));
    assert.deepEqual(mail.to, ['etl-ops@example.com']);
    assert.match(mail.text, /E\/failed\/old-bad\.22222222\.csv {2}\(10 day\(s\) old\)/);
    assert.doesNotMatch(mail.text, /fresh-bad/);
    assert.equal(staleMail().length, 1, 'one mail for the run');

    // A second run: nothing resolved, so no archive; the stale files are still there, so one more mail.
    const second = (await waitForJob(stack.client, (await runCli(['schedule', 'trigger', scheduleId], stack.env)).stdout.trim())) as CleanupResult;
    assert.equal(second.archivesBuilt, 0, 'nothing resolved: no archive (0 is an answer)');
    assert.equal((await fs.readdir(path.join(root, 'archive'))).length, 1);
    await smtp.waitFor('the second stale-file mail', () => staleMail().length === 2);

    const deleted = await runCli(['schedule', 'delete', scheduleId], stack.env);
    assert.equal(deleted.code, 0, deleted.stderr);
    const missing = await runCli(['schedule', 'trigger', scheduleId], stack.env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, new RegExp(`no schedule "${scheduleId}"`));
  });

  it('a retried archive step finds the archive its first attempt verified and only finishes the removal', async () => {
    const resolved = ['E/resolved/r.66666666.csv', 'L/resolved/r.66666666.b000001.json'];
    for (const file of resolved) await put(file, `retry ${file}\n`);
    const { archiveResolved } = createActivities(createDeps(stack.config));
    const input = { runId: 'retried-run-0000', startedAt: '2026-11-23T10:00:00.000Z' };
    const env = new MockActivityEnvironment();
    const first = (await env.run(archiveResolved, input)) as ArchiveOutcome;
    assert.equal(first.files, 2);
    // The first attempt's worker died after the archive was in place, before the files were gone.
    for (const file of resolved) await put(file, `retry ${file}\n`);
    const archivesBefore = await fs.readdir(path.join(root, 'archive'));
    // A retry comes at least a second later (the retry policy's first interval).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = (await env.run(archiveResolved, input)) as ArchiveOutcome;
    assert.deepEqual(second, first, 'the same archive, reported the same way');
    assert.deepEqual(await fs.readdir(path.join(root, 'archive')), archivesBefore, 'no second archive of the same files');
    for (const dir of ['E/resolved', 'L/resolved']) assert.deepEqual(await filesIn(root, dir), [], `${dir} emptied by the retry`);
  });
});
