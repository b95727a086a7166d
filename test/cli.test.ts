import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createStack, randomFile, runCli, sha256File, type Stack } from './helpers/stack';

describe('the courier command', () => {
  let stack: Stack;
  let dir: string;

  before(async () => {
    stack = await createStack({ COURIER_PART_SIZE: '512KiB' });
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'files-'));
    await stack.startWorker();
  });
  after(() => stack.close());

  it('backup without --wait prints the job id alone on its last line; status --wait and --json follow it', async () => {
    const source = await randomFile(dir, 'cli.bin', 3 * 1024 * 1024 + 7);
    const started = await runCli(['backup', source], stack.env);
    assert.equal(started.code, 0, started.stderr);
    const jobId = started.stdout.trim().split('\n').pop()!;
    assert.match(jobId, /^backup-cli\.bin-[0-9a-f]{12}$/);

    const waited = await runCli(['status', jobId, '--wait'], stack.env);
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stdout, /backup cli\.bin: 3\.0 MiB in 7 part\(s\)/);

    const status = await runCli(['status', jobId, '--json'], stack.env);
    assert.equal(status.code, 0);
    const view = JSON.parse(status.stdout) as { status: string; result: { sha256: string; partCount: number } };
    assert.equal(view.status, 'completed');
    assert.equal(view.result.sha256, await sha256File(source));

    const human = await runCli(['status', jobId], stack.env);
    assert.match(human.stdout, new RegExp(`job ${jobId} \\(backup\\): completed`));
  });

  it('backup --wait shows progress and the summary; restore writes an identical file', async () => {
    const source = await randomFile(dir, 'waited.bin', 2 * 1024 * 1024);
    const backup = await runCli(['backup', source, '--name', 'waited', '--wait'], stack.env);
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stdout, /backup waited: 2\.0 MiB in 4 part\(s\), sha256 [0-9a-f]{64}/);
    assert.match(backup.stderr, /upload|split|prepare/, 'progress is shown while waiting');

    const dest = path.join(dir, 'waited.out');
    const restore = await runCli(['restore', 'waited', dest], stack.env);
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stdout, /restored waited \(snapshot \S+\) to .*waited\.out: 2\.0 MiB/);
    assert.equal(await sha256File(dest), await sha256File(source));
  });

  it('restore and status exit non-zero with the cause when the job fails or does not exist', async () => {
    const restore = await runCli(['restore', 'nothing-here', path.join(dir, 'x')], stack.env);
    assert.equal(restore.code, 1);
    assert.match(restore.stderr, /no backup named "nothing-here"/);
    const jobId = restore.stderr.match(/job (\S+) failed/)?.[1];
    assert.ok(jobId, restore.stderr);
    const status = await runCli(['status', jobId, '--wait'], stack.env);
    assert.equal(status.code, 1);
    const unknown = await runCli(['status', 'no-such-job'], stack.env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no job with id "no-such-job"/);
  });

  it('invalid configuration is refused at start, naming the variable', async () => {
    const run = await runCli(['backup', '/etc/hostname'], { ...stack.env, COURIER_PART_SIZE: 'lots', COURIER_CONCURRENCY: '0' });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /COURIER_PART_SIZE="lots"/);
    assert.match(run.stderr, /COURIER_CONCURRENCY="0"/);
  });

  it('an unreachable server is reported with what to do', async () => {
    const run = await runCli(['status', 'whatever'], { ...stack.env, TEMPORAL_ADDRESS: '127.0.0.1:1', COURIER_CONNECT_TIMEOUT: '5s' });
    assert.equal(run.code, 3);
    assert.match(run.stderr, /cannot reach the Temporal server at 127\.0\.0\.1:1 \(namespace default\): no answer after \d+ attempts? over [\d.]+ s/);
    assert.match(run.stderr, /waiting for the Temporal server at 127\.0\.0\.1:1/, 'the wait is said while it happens');
    assert.match(run.stderr, /COURIER_CONNECT_TIMEOUT/);
  });

  it('show, logs, list and retry do what the HTTP routes do, with tables for people and --json for scripts', async () => {
    const later = path.join(dir, 'appears-later.bin');
    const started = await runCli(['backup', later, '--name', 'cli-retried'], stack.env);
    const jobId = started.stdout.trim().split('\n').pop()!;
    assert.equal((await runCli(['status', jobId, '--wait'], stack.env)).code, 1, 'fails: the source is missing');

    const shown = await runCli(['show', jobId, '--json'], stack.env);
    assert.equal(JSON.parse(shown.stdout).status, 'failed');
    const logs = await runCli(['logs', jobId], stack.env);
    assert.match(logs.stdout, /^TIME\s+STATUS\s+NOTE$/m);
    assert.match(logs.stdout, /\bfailed\s+.*appears-later\.bin/);
    assert.deepEqual(
      JSON.parse((await runCli(['logs', jobId, '--json'], stack.env)).stdout).map((e: { status: string }) => e.status),
      ['running', 'failed'],
    );
    const listed = JSON.parse((await runCli(['list', '--status', 'failed', '--json'], stack.env)).stdout) as { jobId: string }[];
    assert.ok(
      listed.some((j) => j.jobId === jobId),
      'list --status failed finds it',
    );

    const refused = await runCli(['retry', 'no-such-job'], stack.env);
    assert.notEqual(refused.code, 0);
    await fs.writeFile(later, 'here now');
    const retried = await runCli(['retry', jobId, '--json'], stack.env);
    assert.equal(retried.code, 0, retried.stderr);
    assert.equal(JSON.parse(retried.stdout).jobId, jobId);
    assert.equal((await runCli(['status', jobId, '--wait'], stack.env)).code, 0, 'the new run completes');
    const again = await runCli(['retry', jobId], stack.env);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /completed; submit a new message/);
  });
});
