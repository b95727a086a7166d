import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '../src/logger';
import { startHttpServer } from '../src/http/start';
import { loadConfig } from '../src/config';
import { createStack, randomFile, waitUntil, slowSegments, type Stack } from './helpers/stack';

const TOKEN = 'test-token-0123456789';
const READ_TOKEN = 'read-only-token-0123456789';
const KiB = 1024;

/** Every sample line of Prometheus text: name, labels, value. */
function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) {
      assert.ok(line === '' || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*/.test(line), `comment line: ${line}`);
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)(?: \d+)?$/.exec(line);
    assert.ok(match, `sample line parses: ${line}`);
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

describe('HTTP API against the real stack', () => {
  let stack: Stack;
  let app: FastifyInstance;
  let base: string;
  let dir: string;

  before(async () => {
    stack = await createStack({
      COURIER_HTTP_TOKEN: TOKEN,
      COURIER_HTTP_READ_TOKEN: READ_TOKEN,
      COURIER_HTTP_PORT: '0',
      COURIER_HTTP_HOST: '127.0.0.1',
      COURIER_HTTP_BODY_LIMIT: '64KiB',
      COURIER_PART_SIZE: '64KiB',
    });
    // Parts of jobs named slow-* take a while, so pause and cancel find them running.
    await stack.startWorker(slowSegments(200, (name) => name.startsWith('slow-')));
    ({ app, url: base } = await startHttpServer({
      config: stack.config,
      client: stack.client,
      logger: createLogger(stack.config),
      worker: { startedAt: new Date() },
    }));
    dir = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'http-'));
  });
  after(async () => {
    await app?.close();
    await stack?.close();
  });

  const call = async (method: string, route: string, body?: unknown, token: string | null = TOKEN) => {
    const response = await fetch(`${base}${route}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
    };
  };
  const finished = (jobId: string) =>
    waitUntil(`job ${jobId} to end`, async () => {
      const { body } = await call('GET', `/v1/jobs/${jobId}`);
      return body.status !== 'running' ? body : undefined;
    });

  it('describes itself at /openapi.json, with the message schema and every route', async () => {
    const { status, body } = await call('GET', '/openapi.json');
    assert.equal(status, 200);
    assert.equal(body.openapi, '3.1.0');
    for (const route of [
      '/v1/jobs',
      '/v1/jobs/{id}',
      '/v1/jobs/{id}/cancel',
      '/v1/jobs/{id}/pause',
      '/v1/jobs/{id}/resume',
      '/v1/jobs/{id}/retry',
      '/v1/queues',
      '/healthz',
      '/metrics',
    ]) {
      assert.ok(body.paths[route], `documents ${route}`);
    }
    assert.ok(JSON.stringify(body.components.schemas.Message).includes('"backup"'), 'the message schema lists the kinds');
  });

  it('refuses mutating routes without the bearer token, bad bodies with their fields, oversized bodies, unknown routes and methods', async () => {
    const source = await randomFile(dir, 'refused.bin', 10);
    for (const token of [null, 'wrong-token']) {
      const denied = await call('POST', '/v1/jobs', { kind: 'backup', name: 'refused', source }, token);
      assert.equal(denied.status, 401);
      assert.equal(denied.body.error, 'Unauthorized');
    }
    const bad = await call('POST', '/v1/jobs', { kind: 'backup', name: 'no source', partSize: -1 });
    assert.equal(bad.status, 400);
    assert.ok(
      bad.body.fields.includes('source') && bad.body.fields.includes('name') && bad.body.fields.includes('partSize'),
      JSON.stringify(bad.body),
    );
    assert.equal((await call('POST', '/v1/jobs', '{not json')).status, 400);
    const big = await call('POST', '/v1/jobs', { kind: 'backup', name: 'big', source, project: 'x'.repeat(100 * KiB) });
    assert.equal(big.status, 413);
    assert.equal(big.body.error, 'PayloadTooLarge');
    const unknown = await call('GET', '/v1/nothing');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error, 'NotFound');
    const wrongMethod = await call('DELETE', '/v1/jobs');
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'GET, POST');
    const missing = await call('GET', '/v1/jobs/no-such-job');
    assert.equal(missing.status, 404);
    assert.match(missing.body.message, /no-such-job/);
  });

  it('with a token set, every route but /healthz needs one; the read-only token may look but not act', async () => {
    for (const route of ['/v1/jobs', '/v1/queues', '/metrics', '/openapi.json', '/v1/jobs/whatever']) {
      for (const token of [null, 'wrong-token-0123456789']) {
        const denied = await call('GET', route, undefined, token);
        assert.equal(denied.status, 401, `GET ${route} with ${token ?? 'no token'}`);
        assert.match(denied.body.message, /COURIER_HTTP_TOKEN or COURIER_HTTP_READ_TOKEN/);
      }
    }
    assert.equal((await call('GET', '/v1/jobs', undefined, READ_TOKEN)).status, 200);
    assert.equal((await call('GET', '/openapi.json', undefined, READ_TOKEN)).status, 200);
    const source = await randomFile(dir, 'read-only.bin', 10);
    const acting = await call('POST', '/v1/jobs', { kind: 'backup', name: 'read-only', source }, READ_TOKEN);
    assert.equal(acting.status, 403);
    assert.match(acting.body.message, /may look but not act/);
    assert.equal((await call('GET', '/healthz', undefined, null)).status, 200, 'health stays open for probes');
  });

  it('submits, shows and lists jobs with filters and paging', async () => {
    const ids: string[] = [];
    for (const name of ['listed-a', 'listed-b', 'listed-c']) {
      const source = await randomFile(dir, `${name}.bin`, 150 * KiB);
      const { status, body } = await call('POST', '/v1/jobs', { kind: 'backup', name, source, project: 'http-list' });
      assert.equal(status, 200);
      ids.push(body.jobId);
    }
    for (const id of ids) {
      const job = await finished(id);
      assert.equal(job.status, 'completed');
      assert.equal(job.result.partCount, 3);
      assert.deepEqual(
        job.statusLog.map((e: { status: string }) => e.status),
        ['running', 'completed'],
      );
    }
    await waitUntil(
      'visibility to list the three',
      async () => (await call('GET', '/v1/jobs?project=http-list&status=completed')).body.jobs?.length === 3,
    );
    const first = await call('GET', '/v1/jobs?project=http-list&kind=backup&pageSize=2');
    assert.equal(first.body.jobs.length, 2);
    assert.ok(first.body.nextPageToken, 'a token for the next page');
    const second = await call('GET', `/v1/jobs?project=http-list&kind=backup&pageSize=2&pageToken=${first.body.nextPageToken}`);
    assert.equal(second.body.jobs.length, 1);
    assert.deepEqual([...first.body.jobs, ...second.body.jobs].map((j: { jobId: string }) => j.jobId).sort(), [...ids].sort());
    assert.equal((await call('GET', '/v1/jobs?kind=nonsense')).status, 400);
  });

  it('the same message posted concurrently is one job', async () => {
    const source = await randomFile(dir, 'raced.bin', 100 * KiB);
    const message = { kind: 'backup', name: 'raced', source, project: 'http-race' };
    const answers = await Promise.all(Array.from({ length: 6 }, () => call('POST', '/v1/jobs', message)));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
    assert.equal(new Set(answers.map((a) => a.body.jobId)).size, 1);
    await finished(answers[0].body.jobId);
    const runs = await stack.client.workflow.count(`WorkflowId = '${answers[0].body.jobId}'`);
    assert.equal(runs.count, 1, 'one workflow run');
    const again = await call('POST', '/v1/jobs', message);
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'completed', 'submitting it again shows the existing job');
  });

  it('pauses, resumes and cancels a running job, and retries a failed one as a new run of the same id', async () => {
    const slow = await randomFile(dir, 'slow.bin', 30 * 64 * KiB);
    const { body: job } = await call('POST', '/v1/jobs', { kind: 'backup', name: 'slow-pause', source: slow });
    await waitUntil('uploads', async () => (await call('GET', `/v1/jobs/${job.jobId}`)).body.progress?.phase === 'upload');
    assert.equal((await call('POST', `/v1/jobs/${job.jobId}/pause`, undefined, null)).status, 401);
    assert.equal((await call('POST', `/v1/jobs/${job.jobId}/pause`)).status, 200);
    await waitUntil('paused', async () => (await call('GET', `/v1/jobs/${job.jobId}`)).body.progress?.status === 'paused');
    assert.equal((await call('POST', `/v1/jobs/${job.jobId}/resume`)).status, 200);
    assert.equal((await finished(job.jobId)).status, 'completed');

    const { body: doomed } = await call('POST', '/v1/jobs', { kind: 'backup', name: 'slow-cancel', source: slow });
    await waitUntil('uploads', async () => (await call('GET', `/v1/jobs/${doomed.jobId}`)).body.progress?.phase === 'upload');
    assert.equal((await call('POST', `/v1/jobs/${doomed.jobId}/cancel`)).status, 200);
    assert.equal((await finished(doomed.jobId)).status, 'cancelled');

    const later = path.join(dir, 'appears-later.bin');
    const { body: failing } = await call('POST', '/v1/jobs', { kind: 'backup', name: 'retried', source: later });
    const failed = await finished(failing.jobId);
    assert.equal(failed.status, 'failed');
    assert.equal((await call('POST', `/v1/jobs/${job.jobId}/retry`)).status, 409, 'a completed job is not retried');
    await fs.writeFile(later, 'now it exists');
    const retried = await call('POST', `/v1/jobs/${failing.jobId}/retry`);
    assert.equal(retried.status, 200);
    assert.equal(retried.body.jobId, failing.jobId);
    const done = await finished(failing.jobId);
    assert.equal(done.status, 'completed');
    assert.equal((await stack.client.workflow.count(`WorkflowId = '${failing.jobId}'`)).count, 2, 'two runs of the same id');
  });

  it('lists the task queues with their pollers, reports health, and serves metrics that move with the jobs', async () => {
    const { body } = await call('GET', '/v1/queues');
    const control = body.queues.find((q: { role: string }) => q.role === 'control');
    assert.equal(control.name, stack.config.taskQueue);
    assert.ok(control.workflowPollers.length >= 1 && control.activityPollers.length >= 1, 'the in-process worker polls');
    assert.equal(typeof control.backlog, 'number');
    assert.ok(body.queues.some((q: { role: string; topic?: string }) => q.role === 'dispatch' && q.topic === 'archive'));

    const health = await call('GET', '/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.body.temporal.reachable, true);
    assert.equal(health.body.worker.running, true);

    const value = (samples: ReturnType<typeof parsePrometheus>, name: string, labels: Record<string, string> = {}) =>
      samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
    const before = parsePrometheus((await call('GET', '/metrics')).body);
    const source = await randomFile(dir, 'metered.bin', 200 * KiB);
    const { body: job } = await call('POST', '/v1/jobs', { kind: 'backup', name: 'metered', source });
    await finished(job.jobId);
    const afterJob = parsePrometheus((await call('GET', '/metrics')).body);
    assert.equal(
      value(afterJob, 'courier_jobs_finished_total', { kind: 'backup', outcome: 'completed' }) -
        value(before, 'courier_jobs_finished_total', { kind: 'backup', outcome: 'completed' }),
      1,
    );
    assert.equal(value(afterJob, 'courier_bytes_uploaded_total') - value(before, 'courier_bytes_uploaded_total'), 200 * KiB);
    assert.ok(value(afterJob, 'courier_bytes_verified_total') - value(before, 'courier_bytes_verified_total') >= 200 * KiB);
  });

  it('without a token it binds to loopback only', async () => {
    const config = loadConfig({
      ...stack.env,
      COURIER_HTTP_PORT: '0',
      COURIER_HTTP_HOST: '0.0.0.0',
      COURIER_HTTP_TOKEN: '',
      COURIER_HTTP_READ_TOKEN: '',
    });
    const open = await startHttpServer({ config, client: stack.client, logger: createLogger(config) });
    try {
      const address = open.app.server.address();
      assert.ok(address && typeof address === 'object' && address.address === '127.0.0.1', JSON.stringify(address));
      const submitted = await fetch(`${open.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(submitted.status, 400, 'no token needed on loopback');
    } finally {
      await open.app.close();
    }
  });
});
