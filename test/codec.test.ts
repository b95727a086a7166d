/**
 * Payloads encrypted the Temporal way: with the codec keys set, what Temporal
 * stores (read raw, bytes searched) holds no source path, host name, e-mail
 * address or failure text; courier's CLI and API still show them; the codec server
 * decodes what the web UI would send it. The same jobs without the codec show
 * the markers, so the search can fail.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { temporal } from '@temporalio/proto';
import { getJob, submit, waitForJob } from '../src/client';
import { startHttpServer } from '../src/http/start';
import { createLogger } from '../src/logger';
import { AesGcmCodec } from '../src/security/codec';
import { createCodecServer } from '../src/security/codec-server';
import { COLUMNS, writePipelines } from './helpers/etl';
import { startSmtp, type SmtpReceiver } from './helpers/receivers';
import { createStack, randomFile, runCli, waitUntil, type Stack } from './helpers/stack';

const marker = `sekrit${process.pid}`;

describe('payload encryption', () => {
  const key = randomBytes(32).toString('base64');
  let smtp: SmtpReceiver;
  let encrypted: Stack;
  let plain: Stack;
  let dir: string;

  before(async () => {
    smtp = await startSmtp();
    dir = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, `${marker}-`));
    await writePipelines(path.join(dir, 'etl'), {
      locations: { local: { kind: 'sqlite', path: 'etl.sqlite' } },
      pipelines: { orders: { columns: COLUMNS, key: ['id'], table: 'codec_orders', batchSize: 10, locations: ['local'] } },
    });
    const env = { COURIER_SMTP_URL: smtp.url, COURIER_HEARTBEAT_TIMEOUT: '5s', COURIER_ETL_ROOT: path.join(dir, 'etl') };
    encrypted = await createStack({ ...env, COURIER_CODEC_KEYS: `k1:${key}` });
    plain = await createStack(env);
    await encrypted.startWorker();
    await plain.startWorker();
  });
  after(async () => {
    await encrypted?.close();
    await plain?.close();
    await smtp?.close();
  });

  /** A completed backup and a failed one, with the marker in the paths and a mail address (a name shows in the job id, which Temporal keeps in clear). */
  async function jobsOn(stack: Stack, tag: string) {
    const source = await randomFile(dir, `${tag}-${marker}.bin`, 200_000);
    const done = await submit(stack.client, stack.config, {
      kind: 'backup',
      name: `${tag}-done`,
      source,
      notify: { email: [`${marker}@ops.example`] },
    });
    await waitForJob(stack.client, done.jobId);
    const failed = await submit(stack.client, stack.config, { kind: 'backup', name: `${tag}-missing`, source: path.join(dir, `missing-${marker}`) });
    await assert.rejects(
      waitForJob(stack.client, failed.jobId),
      new RegExp(`missing-${marker}" does not exist`),
      'the client still reads the failure text',
    );
    // A push this host cannot take (it has no delivery root), and an ETL file that does not validate.
    const push = await submit(stack.client, stack.config, {
      kind: 'push',
      name: `${tag}-push`,
      file: source,
      dest: '/x',
      hosts: [stack.config.host],
    });
    await assert.rejects(waitForJob(stack.client, push.jobId), /takes no deliveries/);
    const etlSource = path.join(dir, `${tag}-${marker}.csv`);
    await fs.writeFile(etlSource, 'wrong,header\n1,2\n');
    const etl = await submit(stack.client, stack.config, { kind: 'etl', pipeline: 'orders', source: etlSource });
    await assert.rejects(waitForJob(stack.client, etl.jobId), /does not match the pipeline/);
    const raw = async (jobId: string) =>
      Buffer.from(temporal.api.history.v1.History.encode(await stack.client.workflow.getHandle(jobId).fetchHistory()).finish());
    const ids = [done.jobId, failed.jobId, push.jobId, etl.jobId];
    return { source, done, failed, raw: Buffer.concat(await Promise.all(ids.map(raw))) };
  }

  it('with the codec on, stored histories hold no path, address or failure text; courier still shows them', async () => {
    const control = await jobsOn(plain, 'plain');
    assert.ok(control.raw.includes(marker), 'without the codec the marker is in the raw history (the search works)');
    for (const text of ['does not exist', 'takes no deliveries', 'does not match the pipeline'])
      assert.ok(control.raw.includes(text), `and so is the failure text: ${text}`);

    const { source, done, failed, raw } = await jobsOn(encrypted, 'enc');
    assert.ok(!raw.includes(marker), 'no path or address in plaintext');
    for (const text of ['does not exist', 'takes no deliveries', 'does not match the pipeline'])
      assert.ok(!raw.includes(text), `no failure text in plaintext: ${text}`);
    assert.ok(raw.includes('binary/encrypted'), 'the payloads are there, encrypted');
    // Queue names, worker identities and the CourierHost attribute carry a keyed tag, not the host's name.
    assert.ok(control.raw.includes(plain.config.host), 'without the codec the host name is in the raw history');
    assert.ok(!raw.includes(encrypted.config.host), 'with it, the host name is not');
    // A job that names its host finds it by the same tag; listing by the host's name finds the job.
    const named = await submit(encrypted.client, encrypted.config, { kind: 'backup', name: 'enc-named', source, host: encrypted.config.host });
    const result = await waitForJob(encrypted.client, named.jobId);
    assert.equal(
      result.kind === 'backup' && result.host !== encrypted.config.host && /^h[0-9a-f]{24}$/.test(result.host ?? ''),
      true,
      'pinned by its tag',
    );
    await waitUntil('courier list --host NAME to find it', async () => {
      const listed = await runCli(['list', '--host', encrypted.config.host, '--json'], encrypted.env);
      return (JSON.parse(listed.stdout) as { jobId: string }[]).some((j) => j.jobId === named.jobId);
    });

    const view = await getJob(encrypted.client, done.jobId);
    assert.equal(view.result?.kind === 'backup' && view.result.name, 'enc-done');
    assert.match(JSON.stringify(view.statusLog), /completed/);
    const status = await runCli(['status', failed.jobId], encrypted.env);
    assert.match(status.stdout, new RegExp(`missing-${marker}" does not exist`), 'the CLI shows the decoded cause');
    const httpConfig = { ...encrypted.config, http: { ...encrypted.config.http, port: 0 } };
    const { app, url } = await startHttpServer({ config: httpConfig, client: encrypted.client, logger: createLogger(httpConfig) });
    try {
      const shown = (await (await fetch(`${url}/v1/jobs/${failed.jobId}`)).json()) as { error?: string };
      assert.match(shown.error ?? '', new RegExp(`missing-${marker}" does not exist`), 'the HTTP API shows the decoded cause');
    } finally {
      await app.close();
    }
    assert.ok(source.includes(marker));
  });

  it('the codec server decodes what the web UI sends it, and answers its CORS preflight', async () => {
    const { done } = await jobsOn(encrypted, 'served');
    const history = await encrypted.client.workflow.getHandle(done.jobId).fetchHistory();
    const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    assert.ok(input);
    const server = createCodecServer(new AesGcmCodec(encrypted.config.codecKeys!), ['http://localhost:8233']);
    const url = await server.listen({ port: 0, host: '127.0.0.1' });
    try {
      const preflight = await fetch(`${url}/decode`, {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost:8233', 'access-control-request-method': 'POST' },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://localhost:8233');
      const asSent = {
        payloads: [
          {
            metadata: Object.fromEntries(Object.entries(input.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
            data: Buffer.from(input.data ?? []).toString('base64'),
          },
        ],
      };
      const decoded = (await (
        await fetch(`${url}/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(asSent) })
      ).json()) as {
        payloads: { data: string }[];
      };
      assert.match(Buffer.from(decoded.payloads[0].data, 'base64').toString(), new RegExp(`served-${marker}\\.bin`), 'the source path, decoded');
      const wrongKey = createCodecServer(new AesGcmCodec([{ id: 'k1', key: randomBytes(32) }]), []);
      const refused = await wrongKey.inject({ method: 'POST', url: '/decode', payload: asSent });
      assert.equal(refused.statusCode, 400, 'a wrong key cannot read it');
    } finally {
      await server.close();
    }
  });
});
