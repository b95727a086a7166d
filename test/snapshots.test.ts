import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { cancelJob, getJob, JobFailedError, pauseJob, queryProgress, resumeJob, submit, waitForJob } from '../src/client';
import { createHttpServer } from '../src/http/server';
import { createLogger } from '../src/logger';
import { partKey } from '../src/jobs/keys';
import type { BackupResult } from '../src/kinds/backup/contract';
import { putManifest } from '../src/kinds/backup/manifest';
import type { CheckResult } from '../src/kinds/check/contract';
import type { PruneResult } from '../src/kinds/prune/contract';
import { openStore } from '../src/stores';
import { bytesOnDisk, chunkOnDisk, flipByte, snapshotsOf } from './helpers/repository';
import { startSmtp, type SmtpReceiver } from './helpers/receivers';
import { createStack, randomFile, runCli, sha256File, slowSegments, spawnWorker, waitUntil, type Stack } from './helpers/stack';

const MiB = 1024 * 1024;

/** A copy of `source` with `total` random bytes inserted at `places` spread evenly (no place at the very start). */
async function withInserts(source: string, dest: string, places: number, total: number): Promise<void> {
  const data = await fs.readFile(source);
  const each = Math.floor(total / places);
  const pieces: Buffer[] = [];
  let from = 0;
  for (let i = 1; i <= places; i++) {
    const at = Math.floor((i * data.length) / (places + 1));
    pieces.push(data.subarray(from, at), randomBytes(each));
    from = at;
  }
  pieces.push(data.subarray(from));
  await fs.writeFile(dest, Buffer.concat(pieces));
}

describe('backups as snapshots over a content-addressed store', () => {
  let stack: Stack;
  let smtp: SmtpReceiver;
  let dir: string;

  before(async () => {
    smtp = await startSmtp();
    stack = await createStack({
      COURIER_PART_SIZE: '8MiB',
      COURIER_CONCURRENCY: '2',
      COURIER_SMTP_URL: smtp.url,
      COURIER_NOTIFY_EMAIL: 'ops@example.com',
    });
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'files-'));
    await stack.startWorker();
  });
  after(async () => {
    await stack.close();
    await smtp.close();
  });

  async function backUp(name: string, source: string): Promise<BackupResult> {
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name, source });
    return (await waitForJob(stack.client, jobId)) as BackupResult;
  }

  async function restored(name: string, snapshot?: string): Promise<string> {
    const dest = path.join(dir, `${name}-${snapshot ?? 'latest'}-${Date.now()}.out`);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'restore', name, dest, ...(snapshot ? { snapshot } : {}) });
    await waitForJob(stack.client, jobId);
    return sha256File(dest);
  }

  it('a second backup under a used name, cancelled midway, leaves the first restorable; both stay restorable by snapshot', async () => {
    const a = await randomFile(dir, 'db-a', 10 * MiB + 7);
    const b = await randomFile(dir, 'db-b', 64 * MiB);
    const first = await backUp('db', a);
    assert.match(first.snapshot ?? '', /^\d{8}T\d{6}Z-[0-9a-f]{8}$/);

    const { jobId } = await submit(stack.client, { ...stack.config, partSize: 1 * MiB }, { kind: 'backup', name: 'db', source: b });
    await waitUntil('the second backup to store some segments', async () => {
      const p = await queryProgress(stack.client, jobId, 1000);
      return p?.kind === 'backup' && p.partsDone >= 2;
    });
    await cancelJob(stack.client, jobId);
    await assert.rejects(waitForJob(stack.client, jobId), JobFailedError);
    assert.equal(await restored('db'), await sha256File(a), 'the first backup is what `restore db` gives');

    const second = await backUp('db', b);
    assert.equal(await restored('db'), await sha256File(b), 'the latest snapshot by default');
    assert.equal(await restored('db', first.snapshot), await sha256File(a), 'the first snapshot by its id');
    const listed = await runCli(['snapshots', 'db', '--json'], stack.env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as { id: string }[]).map((s) => s.id),
      [first.snapshot, second.snapshot],
    );
  });

  it('dedup: a second version and a second name send only what is new, counted from the store', async () => {
    const v1 = await randomFile(dir, 'dedup-v1', 24 * MiB);
    const before = await bytesOnDisk(stack.config);
    await backUp('dedup', v1);
    const afterFirst = await bytesOnDisk(stack.config);
    assert.ok(afterFirst - before >= 24 * MiB, `the first backup stores the file (${afterFirst - before} bytes)`);

    const other = await backUp('dedup-other-name', v1);
    assert.equal(await bytesOnDisk(stack.config), afterFirst, 'the same file under another name adds no pack bytes');
    assert.equal(other.newChunks, 0);

    const v2 = path.join(dir, 'dedup-v2');
    const data = await fs.readFile(v1);
    randomBytes(64 * 1024).copy(data, 12 * MiB);
    await fs.writeFile(v2, data);
    await backUp('dedup', v2);
    const sent = (await bytesOnDisk(stack.config)) - afterFirst;
    // The chunks the change touches and their neighbours: at most 64 KiB + two 128 KiB chunks on either side.
    assert.ok(sent < 512 * 1024, `a 64 KiB change sends ${sent} bytes`);
    assert.equal(await restored('dedup'), await sha256File(v2));
  });

  it('a compressible file is stored compressed', async () => {
    const source = path.join(dir, 'table.csv');
    const rows = Array.from(
      { length: 200_000 },
      (_, i) => `${i},customer-${i % 977},${(i * 7919) % 100000},2026-11-${String((i % 28) + 1).padStart(2, '0')}\n`,
    );
    await fs.writeFile(source, rows.join(''));
    const before = await bytesOnDisk(stack.config);
    await backUp('csv', source);
    const stored = (await bytesOnDisk(stack.config)) - before;
    const size = (await fs.stat(source)).size;
    assert.ok(stored < size / 2, `${size} bytes stored as ${stored}`);
    assert.equal(await restored('csv'), await sha256File(source));
  });

  it('a backup made before snapshots still restores, and lists as legacy', async () => {
    const source = await randomFile(dir, 'old-style', 3 * MiB + 5);
    const data = await fs.readFile(source);
    const store = openStore(stack.config);
    const { createHash } = await import('node:crypto');
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const parts = [0, 1, 2, 3].map((index) => {
      const bytes = data.subarray(index * MiB, Math.min(data.length, (index + 1) * MiB));
      return { index, key: partKey('legacy', index), offset: index * MiB, size: bytes.length, sha256: sha(bytes), bytes };
    });
    for (const part of parts) await store.put(part.key, Readable.from([part.bytes]));
    await putManifest(store, {
      version: 1,
      jobId: 'backup-legacy-old',
      name: 'legacy',
      message: { kind: 'backup', name: 'legacy', source },
      source,
      size: data.length,
      sha256: sha(data),
      partSize: MiB,
      layout: 'parts',
      parts: parts.map(({ bytes: _bytes, ...part }) => part),
      startedAt: '2026-01-01T00:00:00.000Z',
      completedAt: '2026-01-01T00:00:01.000Z',
    });
    assert.equal(await restored('legacy'), await sha256File(source));
    const listed = await runCli(['snapshots', 'legacy'], stack.env);
    assert.match(listed.stdout, /^legacy\s+2026-01-01T00:00:01.000Z/m);
  });

  it('forget keeps what the rules name; the CLI and the HTTP API list what is left', async () => {
    const files = await Promise.all([1, 2, 3].map((i) => randomFile(dir, `kept-${i}`, 256 * 1024)));
    const made: string[] = [];
    for (const file of files) made.push((await backUp('kept', file)).snapshot!);
    const refused = await runCli(['forget', 'kept'], stack.env);
    assert.equal(refused.code, 2, 'no keep rule is refused before anything runs');
    assert.match(refused.stderr, /at least one keep rule/);
    const forgot = await runCli(['forget', 'kept', '--keep-last', '1'], stack.env);
    assert.equal(forgot.code, 0, forgot.stderr);
    assert.match(forgot.stdout, /kept 1, removed 2/);
    assert.deepEqual(
      (await snapshotsOf(stack.config, 'kept')).map((s) => s.id),
      [made[2]],
    );
    const app = createHttpServer({ config: stack.config, client: stack.client, logger: createLogger(stack.config, 'test-http') });
    const res = await app.inject({ method: 'GET', url: '/v1/backups/kept/snapshots' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(
      (res.json() as { snapshots: { id: string }[] }).snapshots.map((s) => s.id),
      [made[2]],
    );
    assert.equal((await app.inject({ method: 'GET', url: '/v1/backups/never/snapshots' })).statusCode, 404);
    await app.close();
    assert.equal(await restored('kept'), await sha256File(files[2]!));
  });

  it('check reads a share of the chunks per run and covers all of them over the runs', async () => {
    const runs: CheckResult[] = [];
    for (let i = 0; i < 4; i++) {
      const { jobId } = await submit(stack.client, stack.config, { kind: 'check', readDataSubset: '25%' });
      runs.push((await waitForJob(stack.client, jobId)) as CheckResult);
    }
    assert.deepEqual(
      runs.map((r) => `${r.slice}/${r.of}`),
      ['1/4', '2/4', '3/4', '4/4'],
    );
    const total = runs[0]!.chunksTotal;
    assert.equal(
      runs.reduce((n, r) => n + r.chunksChecked, 0),
      total,
      'every chunk read exactly once over four runs',
    );
    for (const run of runs)
      assert.ok(run.chunksChecked > total * 0.15 && run.chunksChecked < total * 0.35, `a quarter each: ${run.chunksChecked} of ${total}`);
  });

  it('prune and check run on Temporal Schedules, started with just their message', async () => {
    for (const [kind, args] of [
      ['prune', []],
      ['check', ['--read-data-subset', '100%']],
    ] as const) {
      const id = `${kind}-schedule-${process.pid}`;
      const made = await runCli(['schedule', kind, id, '--every', '1h', ...args], stack.env);
      assert.equal(made.code, 0, made.stderr);
      try {
        const triggered = await runCli(['schedule', 'trigger', id], stack.env);
        assert.equal(triggered.code, 0, triggered.stderr);
        const result = await waitForJob(stack.client, triggered.stdout.trim());
        assert.equal(result.kind, kind);
        if (result.kind === 'check') assert.equal(result.chunksChecked, result.chunksTotal);
      } finally {
        await runCli(['schedule', 'delete', id], stack.env);
      }
    }
  });

  it('prune spares what a backup running across it relies on, removes the rest, and survives a SIGKILL while it waits', async () => {
    const y1 = await randomFile(dir, 'prune-y1', 16 * MiB);
    const y2 = await randomFile(dir, 'prune-y2', 2 * MiB);
    const x = await randomFile(dir, 'prune-x', 2 * MiB);
    await backUp('prune-x', x);
    await backUp('prune-y', y1);
    await backUp('prune-y', y2);
    // z begins with y1's bytes: while y1's snapshot is forgotten, z comes to rely on its chunks.
    const z = path.join(dir, 'prune-z');
    await fs.writeFile(z, Buffer.concat([await fs.readFile(y1), randomBytes(24 * MiB)]));
    const forgot = await runCli(['forget', 'prune-y', '--keep-last', '1'], stack.env);
    assert.equal(forgot.code, 0, forgot.stderr);

    // z's segments take a while, so the pause lands while most of y1's range is still ahead of it.
    await stack.stopWorker();
    await stack.startWorker(slowSegments(1000, (name) => name === 'prune-z'));
    const backup = await submit(stack.client, { ...stack.config, partSize: 2 * MiB }, { kind: 'backup', name: 'prune-z', source: z });
    await waitUntil('z to store a few segments', async () => {
      const p = await queryProgress(stack.client, backup.jobId, 1000);
      return p?.kind === 'backup' && p.partsDone >= 2;
    });
    await pauseJob(stack.client, backup.jobId);
    await waitUntil('the pause to hold', async () => (await queryProgress(stack.client, backup.jobId, 1000))?.status === 'paused');
    await new Promise((resolve) => setTimeout(resolve, 2500)); // the segments in flight finish
    const settled = await queryProgress(stack.client, backup.jobId, 1000);
    // Two done and two in flight at most: z has relied on y1's first pack only, and meets the second after the mark.
    assert.ok(settled?.kind === 'backup' && settled.partsDone <= 4, `z paused within y1's first 8 MiB (${JSON.stringify(settled)})`);

    // The prune runs in a worker process of its own, killed while it waits for z.
    await stack.stopWorker();
    const first = spawnWorker(stack.env);
    const pruning = await submit(stack.client, stack.config, { kind: 'prune' });
    await waitUntil('prune to wait for the running backup', async () => {
      const p = await queryProgress(stack.client, pruning.jobId, 1000);
      if (p?.phase === 'failed' || p?.phase === 'completed')
        throw new Error(`prune ended early: ${JSON.stringify(await getJob(stack.client, pruning.jobId))}`);
      return p?.kind === 'prune' && p.waitingFor === 1;
    });
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    await stack.startWorker();
    await resumeJob(stack.client, backup.jobId);
    await waitForJob(stack.client, backup.jobId);
    const pruned = (await waitForJob(stack.client, pruning.jobId)) as PruneResult;
    assert.deepEqual(pruned.waitedFor, [backup.jobId]);
    assert.ok(pruned.packsSpared >= 1, `packs z relies on are spared (${JSON.stringify(pruned)})`);
    assert.ok(pruned.bytesFreed > 0 || pruned.packsRepacked > 0, `something of y1 alone goes (${JSON.stringify(pruned)})`);

    for (const [name, file] of [
      ['prune-z', z],
      ['prune-y', y2],
      ['prune-x', x],
      ['dedup', path.join(dir, 'dedup-v2')],
    ] as const) {
      assert.equal(await restored(name), await sha256File(file), `${name} restores after prune`);
    }
    const again = await submit(stack.client, stack.config, { kind: 'prune' });
    const second = (await waitForJob(stack.client, again.jobId)) as PruneResult;
    assert.equal(second.packsDeleted, 0, 'a second prune finds nothing more');
    const checked = await submit(stack.client, stack.config, { kind: 'check', readDataSubset: '100%' });
    const all = (await waitForJob(stack.client, checked.jobId)) as CheckResult;
    assert.equal(all.chunksChecked, all.chunksTotal);
  });

  it('a tampered chunk is found by check, which mails it with the snapshots that need it, and by restore', async () => {
    const source = await randomFile(dir, 'tampered', 3 * MiB);
    const made = await backUp('tampered', source);
    const [snapshot] = (await snapshotsOf(stack.config, 'tampered')).slice(-1);
    const where = await chunkOnDisk(stack.config, snapshot!);
    await flipByte(where.file, where.offset + Math.floor(where.length / 2));

    const { jobId } = await submit(stack.client, stack.config, { kind: 'check', readDataSubset: '100%' });
    await assert.rejects(waitForJob(stack.client, jobId), (err: unknown) => {
      assert.ok(err instanceof JobFailedError);
      assert.match(err.message, new RegExp(`chunk ${where.chunk} in pack ${where.pack}: .*needed by tampered@${made.snapshot}`));
      return true;
    });
    const mail = await smtp.waitFor('the check failure mail', (m) => m.text.includes(where.chunk));
    assert.match(mail.text, new RegExp(`tampered@${made.snapshot}`));

    const dest = path.join(dir, 'tampered.out');
    const restore = await submit(stack.client, stack.config, { kind: 'restore', name: 'tampered', dest });
    await assert.rejects(waitForJob(stack.client, restore.jobId), (err: unknown) => {
      assert.ok(err instanceof JobFailedError);
      assert.match(err.message, new RegExp(`chunk ${where.chunk} \\(pack ${where.pack}\\) of snapshot ${made.snapshot} of tampered is damaged`));
      return true;
    });
    await assert.rejects(fs.stat(dest), 'nothing is written where the restore was to go');
  });
});

describe('a repository of small chunks', () => {
  let stack: Stack;
  let dir: string;

  before(async () => {
    stack = await createStack({ COURIER_PART_SIZE: '8MiB', COURIER_CONCURRENCY: '2' });
    // 2 KiB chunks let a 64 MiB file show what the default 32 KiB chunks show on 1 GiB (test/chunker.test.ts and the bench measure that).
    const init = await runCli(['store', 'init', '--chunk-size', '2KiB'], stack.env);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /not encrypted, compression brotli, chunks 2 KiB/);
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'files-'));
    await stack.startWorker();
  });
  after(() => stack.close());

  async function backUp(name: string, source: string): Promise<BackupResult> {
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name, source });
    return (await waitForJob(stack.client, jobId)) as BackupResult;
  }

  async function restored(name: string): Promise<string> {
    const dest = path.join(dir, `${name}-${Date.now()}.out`);
    await waitForJob(stack.client, (await submit(stack.client, stack.config, { kind: 'restore', name, dest })).jobId);
    return sha256File(dest);
  }

  it('a 1 % change made of inserts at 100 scattered places sends at most 3 % of the file again', async () => {
    const v1 = await randomFile(dir, 'inserts-v1', 64 * MiB);
    const v2 = path.join(dir, 'inserts-v2');
    await withInserts(v1, v2, 100, Math.floor(0.01 * 64 * MiB));
    await backUp('inserts', v1);
    const before = await bytesOnDisk(stack.config);
    await backUp('inserts', v2);
    const sent = (await bytesOnDisk(stack.config)) - before;
    const size = (await fs.stat(v2)).size;
    assert.ok(sent <= 0.03 * size, `sent ${sent} bytes, ${((100 * sent) / size).toFixed(2)} % of the file`);
    assert.equal(await restored('inserts'), await sha256File(v2));
  });
});

describe('an encrypted repository', () => {
  let stack: Stack;
  let dir: string;
  let keyFile: string;

  before(async () => {
    const base = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP ?? '/tmp', 'keys-'));
    keyFile = path.join(base, 'repo.key');
    await fs.writeFile(keyFile, randomBytes(32).toString('base64'));
    stack = await createStack({ COURIER_PART_SIZE: '4MiB', COURIER_REPO_KEY_FILE: keyFile });
    const noRepo = await runCli(['snapshots', 'x'], stack.env);
    assert.match(noRepo.stderr, /holds no repository yet; COURIER_REPO_KEY_FILE .* is set, so create it encrypted: run `courier store init`/);
    const init = await runCli(['store', 'init'], stack.env);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /encrypted \(key [0-9a-f]{16}\)/);
    const again = await runCli(['store', 'init', '--key-file', keyFile, '--new-key', '--if-missing'], stack.env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already in .* \(opened by key [0-9a-f]{16}\)/, 'the compose step run a second time changes nothing');
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'files-'));
    await stack.startWorker();
  });
  after(() => stack.close());

  it('round trips, and no stored object holds the plain bytes or their sha256', async () => {
    const source = await randomFile(dir, 'secret', 9 * MiB + 3);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'secret', source });
    const backed = (await waitForJob(stack.client, jobId)) as BackupResult;
    const dest = path.join(dir, 'secret.out');
    const restore = await submit(stack.client, stack.config, { kind: 'restore', name: 'secret', dest });
    await waitForJob(stack.client, restore.jobId);
    assert.equal(await sha256File(dest), await sha256File(source));

    const plain = (await fs.readFile(source)).subarray(5 * MiB, 5 * MiB + 64);
    const objects = path.join(stack.config.storeDir, 'objects', 'repo');
    for (const entry of await fs.readdir(objects, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const bytes = await fs.readFile(path.join(entry.parentPath, entry.name));
      assert.equal(bytes.indexOf(plain), -1, `${entry.name} holds none of the source's bytes`);
      assert.equal(bytes.indexOf(Buffer.from(backed.sha256)), -1, `${entry.name} does not show the file's sha256`);
      assert.equal(
        bytes.indexOf(Buffer.from('secret')) === -1 || entry.parentPath.includes('snapshots'),
        true,
        `${entry.name} does not name the backup`,
      );
    }
  });

  it('a wrong key fails the restore clearly before anything is written; a rotated key opens it', async () => {
    const source = await randomFile(dir, 'rotated', 2 * MiB);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'backup', name: 'rotated', source });
    await waitForJob(stack.client, jobId);
    await stack.stopWorker();

    const wrong = path.join(path.dirname(keyFile), 'wrong.key');
    await fs.writeFile(wrong, randomBytes(32).toString('base64'));
    const worker = spawnWorker({ ...stack.env, COURIER_REPO_KEY_FILE: wrong });
    try {
      const dest = path.join(dir, 'rotated.out');
      const restore = await submit(stack.client, stack.config, { kind: 'restore', name: 'rotated', dest });
      await assert.rejects(waitForJob(stack.client, restore.jobId), (err: unknown) => {
        assert.ok(err instanceof JobFailedError);
        assert.match(err.message, /is encrypted and COURIER_REPO_KEY_FILE .*wrong\.key opens none of its 1 keys/);
        return true;
      });
      assert.deepEqual(
        (await fs.readdir(dir)).filter((f) => f.startsWith('.rotated.out') || f === 'rotated.out'),
        [],
        'nothing written',
      );
    } finally {
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker.once('exit', resolve));
    }

    const next = path.join(path.dirname(keyFile), 'next.key');
    await fs.writeFile(next, randomBytes(32).toString('base64'));
    const before = (await runCli(['store', 'key', 'list'], stack.env)).stdout.trim().split('\n');
    const added = await runCli(['store', 'key', 'add', '--new-key-file', next], stack.env);
    assert.equal(added.code, 0, added.stderr);
    const old = before[0]!.split(' ')[0]!;
    const removed = await runCli(['store', 'key', 'remove', old], { ...stack.env, COURIER_REPO_KEY_FILE: next });
    assert.equal(removed.code, 0, removed.stderr);
    const rotated = spawnWorker({ ...stack.env, COURIER_REPO_KEY_FILE: next });
    try {
      const dest = path.join(dir, 'rotated-after.out');
      const restore = await submit(stack.client, stack.config, { kind: 'restore', name: 'rotated', dest });
      await waitForJob(stack.client, restore.jobId);
      assert.equal(await sha256File(dest), await sha256File(source), 'the new key opens data stored under the old one, nothing re-uploaded');
    } finally {
      rotated.kill('SIGTERM');
      await new Promise((resolve) => rotated.once('exit', resolve));
    }
    const refused = await runCli(['snapshots', 'rotated'], stack.env);
    assert.match(refused.stderr, /opens none of its 1 keys/, 'the removed key opens nothing any more');
  });
});
