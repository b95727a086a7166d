import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JobFailedError, statusLogOf, submit, waitForJob } from '../src/client';
import type { StatusDocument } from '../src/jobs/status';
import { MessageError } from '../src/jobs/message-error';
import { startHttpReceiver, startSmtp, type HttpReceiver, type SmtpReceiver } from './helpers/receivers';
import { createStack, randomFile, runCli, type Stack } from './helpers/stack';

const SECRET = 'test-secret-0123456789abcdef';

describe('notifications: mail and signed callbacks', () => {
  let stack: Stack;
  let smtp: SmtpReceiver;
  let receiver: HttpReceiver;
  let dir: string;

  before(async () => {
    smtp = await startSmtp();
    receiver = await startHttpReceiver();
    stack = await createStack({
      COURIER_SMTP_URL: smtp.url,
      COURIER_MAIL_FROM: 'courier@test.example',
      COURIER_WEBHOOK_SECRET: SECRET,
      COURIER_WEBHOOK_ATTEMPTS: '3',
      COURIER_WEBHOOK_RETRY_INTERVAL: '100ms',
      COURIER_WEBHOOK_TIMEOUT: '2s',
      COURIER_PART_SIZE: '64KiB',
    });
    await stack.startWorker();
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'notify-'));
  });
  after(async () => {
    await stack.close();
    await smtp.close();
    await receiver.close();
  });

  it('a backup that fails mails the configured address with the job id and the cause', async () => {
    const source = path.join(dir, 'never-written.iso');
    const { jobId } = await submit(stack.client, stack.config, {
      kind: 'backup',
      name: 'mail-on-failure',
      source,
      notify: { email: ['ops@test.example'] },
    });
    await assert.rejects(waitForJob(stack.client, jobId), JobFailedError);
    const mail = await smtp.waitFor('the failure mail', (m) => m.subject.includes(jobId));
    assert.deepEqual(mail.to, ['ops@test.example']);
    assert.match(mail.subject, /FAILED/);
    assert.ok(mail.text.includes(jobId), 'the body names the job');
    assert.ok(mail.text.includes(source), 'the body names the cause (the missing source)');
    assert.ok(mail.text.includes(`courier status ${jobId}`), 'the body says how to look at it');
  });

  it('a completed job POSTs a status document to the callback URL with a valid HMAC-SHA256 signature', async () => {
    receiver.respondWith(200);
    const source = await randomFile(dir, 'callback-ok', 200_000);
    const { jobId } = await submit(stack.client, stack.config, {
      kind: 'backup',
      name: 'callback-ok',
      source,
      notify: { callbackUrl: receiver.url },
    });
    await waitForJob(stack.client, jobId);
    const calls = receiver.requests.filter((r) => r.body.includes(jobId));
    assert.equal(calls.length, 1, 'one callback for the one event');
    const [call] = calls;
    assert.equal(call.method, 'POST');
    const expected = `sha256=${createHmac('sha256', SECRET).update(call.body).digest('hex')}`;
    assert.equal(call.headers['x-courier-signature'], expected);
    const doc = JSON.parse(call.body) as StatusDocument;
    assert.equal(doc.event, 'completed');
    assert.equal(doc.status, 'completed');
    assert.equal(doc.jobId, jobId);
    assert.equal((doc.result as { sha256?: string }).sha256?.length, 64);
    assert.deepEqual(
      doc.statusLog.map((e) => e.status),
      ['running', 'completed'],
    );
  });

  it('a callback that keeps answering 500 is retried and reported in the status log, and the job still completes', async () => {
    receiver.respondWith(500);
    const source = await randomFile(dir, 'callback-500', 10_000);
    const { jobId } = await submit(stack.client, stack.config, {
      kind: 'backup',
      name: 'callback-500',
      source,
      notify: { callbackUrl: receiver.url, on: ['completed'] },
    });
    await waitForJob(stack.client, jobId);
    assert.equal(receiver.requests.filter((r) => r.body.includes(jobId)).length, 3, 'COURIER_WEBHOOK_ATTEMPTS=3 attempts');
    const log = await statusLogOf(stack.client, jobId);
    const report = log.find((e) => e.note?.includes('callback'));
    assert.ok(report, `the status log reports the failed callback: ${JSON.stringify(log)}`);
    assert.match(report.note!, /failed after 3 attempts: .*500/);
    assert.equal(log.at(-1)?.status, 'completed');
    receiver.respondWith(200);
  });

  it('rejects an invalid callback URL, an invalid email address and an unknown format at submission', async () => {
    const source = await randomFile(dir, 'never-submitted', 10);
    await assert.rejects(
      submit(stack.client, stack.config, { kind: 'backup', name: 'bad-url', source, notify: { callbackUrl: 'ftp://example.com/x' } }),
      (err: unknown) => err instanceof MessageError && /notify\.callbackUrl: must be an http\(s\) URL/.test(err.message),
    );
    await assert.rejects(
      submit(stack.client, stack.config, { kind: 'backup', name: 'bad-mail', source, notify: { email: ['not-an-address'] } }),
      (err: unknown) => err instanceof MessageError && /notify\.email\.0: must be an email address/.test(err.message),
    );
    const dispatch = { kind: 'dispatch', name: 'report', version: '1.0', buildType: null, format: 'docx', project: 'ccap', origin: 'test' };
    await assert.rejects(
      submit(stack.client, stack.config, dispatch),
      (err: unknown) => err instanceof MessageError && /format: "docx" is not a format/.test(err.message),
    );
    const cli = await runCli(['submit', '-'], stack.env, JSON.stringify({ ...dispatch, callbackUrl: 'not a url' }));
    assert.equal(cli.code, 2);
    assert.match(cli.stderr, /callbackUrl: must be an http\(s\) URL/);
    const listed = await stack.client.workflow.list({ query: `TaskQueue = '${stack.config.taskQueue}' AND CourierKind = 'dispatch'` });
    for await (const execution of listed) assert.fail(`nothing should have started, found ${execution.workflowId}`);
  });
});
