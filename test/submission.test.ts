import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getJob, submit, waitForJob } from '../src/client';
import { createStack, randomFile, runCli, waitUntil, type Stack } from './helpers/stack';

describe('submission: duplicates and bad messages', () => {
  let stack: Stack;
  let dir: string;

  before(async () => {
    stack = await createStack({ COURIER_PART_SIZE: '256KiB' });
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'files-'));
    await stack.startWorker();
  });
  after(() => stack.close());

  async function executionsOf(jobId: string): Promise<number> {
    let count = 0;
    for await (const _ of stack.client.workflow.list({ query: `WorkflowId = "${jobId}"` })) count++;
    return count;
  }

  it('the same backup submitted concurrently, and again after it completed, is one workflow', async () => {
    const source = await randomFile(dir, 'twice', 1024 * 1024);
    const message = { kind: 'backup', name: 'twice', source };
    const submissions = await Promise.all([1, 2, 3, 4, 5].map(() => submit(stack.client, stack.config, message)));
    const ids = new Set(submissions.map((s) => s.jobId));
    assert.equal(ids.size, 1);
    const [jobId] = ids;
    await waitForJob(stack.client, jobId);
    const again = await submit(stack.client, stack.config, message);
    assert.equal(again.jobId, jobId);
    assert.equal(again.alreadyFinished, true);
    await waitUntil('visibility to list the job', async () => (await executionsOf(jobId)) > 0);
    assert.equal(await executionsOf(jobId), 1);
  });

  it("a message's id is its job's workflow id; without one, the id is derived from what it asks for", async () => {
    const source = await randomFile(dir, 'named', 1024);
    const named = await submit(stack.client, stack.config, { kind: 'backup', id: `nightly-${process.pid}`, name: 'named', source });
    assert.equal(named.jobId, `nightly-${process.pid}`);
    assert.equal((await stack.client.workflow.getHandle(named.jobId).describe()).workflowId, `nightly-${process.pid}`);
    const derived = await submit(stack.client, stack.config, { kind: 'backup', name: 'named-too', source });
    assert.match(derived.jobId, /^backup-named-too-[0-9a-f]{12}$/);
    await Promise.all([waitForJob(stack.client, named.jobId), waitForJob(stack.client, derived.jobId)]);
  });

  it('invalid JSON is refused before anything starts', async () => {
    const file = path.join(dir, 'broken.json');
    await fs.writeFile(file, '{"kind": "backup", ');
    const run = await runCli(['submit', file], stack.env);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /broken\.json is not valid JSON/);
  });

  it('wrong types name every bad field', async () => {
    const run = await runCli(['submit', '-'], stack.env, JSON.stringify({ kind: 'backup', name: 5, source: true }));
    assert.equal(run.code, 2);
    assert.match(run.stderr, /name:/);
    assert.match(run.stderr, /source:/);
    const unknown = await runCli(['submit', '-'], stack.env, JSON.stringify({ kind: 'teleport' }));
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /kind/);
  });

  it('"../" in a backup name is refused', async () => {
    const source = await randomFile(dir, 'escape', 10);
    const run = await runCli(['backup', source, '--name', '../../etc/passwd'], stack.env);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /name: .*"\/"/);
    const dots = await runCli(['backup', source, '--name', 'a..b'], stack.env);
    assert.equal(dots.code, 2);
    assert.match(dots.stderr, /must not contain "\.\."/);
  });

  it('a missing source, a directory and a path outside the source roots fail the job with the cause; the worker lives on', async () => {
    const missing = await runCli(['backup', path.join(dir, 'no-such-file'), '--wait'], stack.env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /source ".*\/no-such-file" does not exist/);

    const directory = await runCli(['backup', dir, '--name', 'a-directory', '--wait'], stack.env);
    assert.equal(directory.code, 1);
    assert.match(directory.stderr, /is a directory/);

    const outside = await randomFile(dir, 'outside', 10);
    const roots = await runCli(['backup', outside, '--wait'], { ...stack.env, COURIER_SOURCE_ROOTS: '/srv/none:/opt/none' });
    assert.equal(roots.code, 0, "source roots are enforced by the worker, whose configuration allows the suite's files");
    const limited = await createStack({ COURIER_SOURCE_ROOTS: '/srv/none' });
    try {
      await limited.startWorker();
      const refused = await runCli(['backup', outside, '--name', 'refused', '--wait'], limited.env);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /source ".*\/outside" is outside the allowed roots; allowed: \/srv\/none \(COURIER_SOURCE_ROOTS\)/);
    } finally {
      await limited.close();
    }

    const jobId = missing.stderr.match(/job (\S+) failed/)?.[1];
    assert.ok(jobId, missing.stderr);
    const view = await getJob(stack.client, jobId);
    assert.equal(view.status, 'failed');

    const good = await randomFile(dir, 'after-bad-input', 300_000);
    const ok = await runCli(['backup', good, '--wait'], stack.env);
    assert.equal(ok.code, 0, ok.stderr);
  });
});
