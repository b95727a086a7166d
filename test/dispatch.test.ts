import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { list as listTar } from 'tar';
import { getJob, JobFailedError, statusLogOf, submit, waitForJob } from '../src/client';
import type { DispatchResult } from '../src/kinds/dispatch/contract';
import { FsStore } from '../src/stores/fs-store';
import { archiveDispatch } from './helpers/messages';
import { startSmtp, type SmtpReceiver } from './helpers/receivers';
import { createStack, randomFile, sha256File, waitUntil, type Stack } from './helpers/stack';

const ROOT = path.resolve(__dirname, '..');

async function pidAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('dispatch: topic routing, the archive handler and escalation', () => {
  let smtp: SmtpReceiver;
  let stacks: Stack[] = [];
  let spawned: number[] = [];

  before(async () => {
    smtp = await startSmtp();
  });
  afterEach(async () => {
    for (const pid of spawned) if (await pidAlive(pid)) process.kill(pid, 'SIGTERM');
    spawned = [];
    for (const stack of stacks) await stack.close();
    stacks = [];
  });
  after(() => smtp.close());

  async function stackWith(env: Record<string, string> = {}): Promise<Stack> {
    const stack = await createStack({
      COURIER_SMTP_URL: smtp.url,
      COURIER_NOTIFY_EMAIL: 'oncall@test.example',
      COURIER_DISPATCH_CHECK_INTERVAL: '1s',
      COURIER_DISPATCH_MAX_CHECKS: '2',
      COURIER_DISPATCH_DEADLINE: '30s',
      ...env,
    });
    stacks.push(stack);
    await stack.startWorker();
    return stack;
  }

  it('a worker that handles the format packs the named files into a tar.gz in the store, with its checksum', async () => {
    const stack = await stackWith();
    await stack.startHandlerWorkers(['archive']);
    const dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'pack-'));
    const files = [await randomFile(dir, 'report.pdf', 300_000), await randomFile(dir, 'report.html', 1234)];
    const { jobId } = await submit(stack.client, stack.config, archiveDispatch('report', files));
    assert.match(jobId, /^dispatch-ccap-archive-/);
    const again = await submit(stack.client, stack.config, archiveDispatch('report', files));
    assert.equal(again.jobId, jobId, 'the same message is the same job');

    const result = (await waitForJob(stack.client, jobId)) as DispatchResult;
    assert.equal(result.topic, 'archive');
    assert.equal(result.checks, 0);
    const output = result.output as { key: string; sha256: string; size: number; files: number };
    assert.equal(output.files, 2);
    const store = new FsStore(stack.config.storeDir);
    const info = await store.head(output.key);
    assert.equal(info?.sha256, output.sha256);
    const object = path.join(stack.config.storeDir, 'objects', output.key);
    assert.equal(await sha256File(object), output.sha256, 'the checksum is of the stored bytes');
    const entries: string[] = [];
    await listTar({ file: object, onReadEntry: (entry) => void entries.push(entry.path) });
    assert.deepEqual(entries.sort(), files.map((f) => path.relative('/', f)).sort());

    const log = await statusLogOf(stack.client, jobId);
    assert.deepEqual(
      log.map((e) => e.status),
      ['running', 'completed'],
    );
    assert.match(log[0].note ?? '', /worker .* took the work/);
  });

  it('with no worker for the format it escalates by mail, the spawn hook starts one, and the job completes', async () => {
    const pidFile = path.join(process.env.COURIER_TEST_TMP ?? '/tmp', `spawned-${Date.now()}.pid`);
    const stack = await stackWith();
    const env = Object.entries(stack.env)
      .map(([key, value]) => `${key}='${value}'`)
      .join(' ');
    // The hook a site would write: start a worker for the topic in the background and return.
    const hook = `${env} '${process.execPath}' '${path.join(ROOT, 'bin', 'courier')}' worker --handles "$COURIER_HOOK_TOPIC" >/dev/null 2>&1 & echo $! > '${pidFile}'; echo "worker for $COURIER_HOOK_TOPIC started"`;
    stack.config.dispatch.spawnHook = hook;
    await stack.stopWorker();
    await stack.startWorker();

    const dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'spawn-'));
    const files = [await randomFile(dir, 'manual.pdf', 5000)];
    const { jobId } = await submit(stack.client, stack.config, archiveDispatch('manual', files));

    const mail = await smtp.waitFor('the escalation mail', (m) => m.subject.includes(jobId) && m.subject.includes('waiting for a worker'));
    assert.deepEqual(mail.to, ['oncall@test.example']);
    assert.match(mail.text, /no worker for format archive/);

    const result = (await waitForJob(stack.client, jobId).catch(async (err) => {
      throw new Error(`${err.message}; status log: ${JSON.stringify(await statusLogOf(stack.client, jobId))}`);
    })) as DispatchResult;
    spawned.push(Number(await fs.readFile(pidFile, 'utf8')));
    assert.ok(result.checks >= 2, `the hook runs after COURIER_DISPATCH_MAX_CHECKS=2 checks (got ${result.checks})`);
    const log = await statusLogOf(stack.client, jobId);
    const statuses = log.map((e) => e.status);
    assert.equal(statuses[0], 'waiting-for-worker');
    assert.ok(
      log.some((e) => /spawn hook ran for topic archive: worker for archive started/.test(e.note ?? '')),
      JSON.stringify(log),
    );
    const pickedUp = log.find((e) => e.status === 'running');
    assert.match(pickedUp?.note ?? '', /took the work after \d+ checks without a worker/);
    assert.equal(statuses.at(-1), 'completed');
    assert.equal(smtp.mails.filter((m) => m.subject.includes(jobId)).length, 1, 'escalation is mailed once; completion is not mailed by default');
  });

  it('with a spawn hook that fails, the job fails at the deadline saying no worker handled the format, and mails', async () => {
    const stack = await stackWith({ COURIER_DISPATCH_DEADLINE: '4s', COURIER_SPAWN_HOOK: 'echo "no capacity for $COURIER_HOOK_FORMAT" >&2; exit 3' });
    const dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'nohook-'));
    const { jobId } = await submit(stack.client, stack.config, archiveDispatch('orphan', [await randomFile(dir, 'x.pdf', 10)]));
    await assert.rejects(waitForJob(stack.client, jobId), (err: unknown) => {
      assert.ok(err instanceof JobFailedError);
      assert.match(err.message, /no worker handled format archive \(topic archive/);
      return true;
    });
    const log = await statusLogOf(stack.client, jobId);
    assert.ok(
      log.some((e) => /spawn hook failed: .*exited 3: no capacity for archive/.test(e.note ?? '')),
      JSON.stringify(log),
    );
    assert.equal(log.at(-1)?.status, 'failed');
    const view = await getJob(stack.client, jobId);
    assert.equal(view.status, 'failed');
    await waitUntil('the CourierStatus search attribute to say failed', async () => {
      const description = await stack.client.workflow.getHandle(jobId).describe();
      return description.searchAttributes.CourierStatus?.[0] === 'failed';
    });
    const failure = await smtp.waitFor('the failure mail', (m) => m.subject.includes(jobId) && m.subject.includes('FAILED'));
    assert.match(failure.text, /no worker handled format archive/);
  });
});
