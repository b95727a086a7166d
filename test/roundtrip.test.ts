import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { submit, waitForJob } from '../src/client';
import type { BackupResult } from '../src/kinds/backup/contract';
import type { JobProgress } from '../src/kinds/registry';
import type { RestoreResult } from '../src/kinds/restore/contract';
import { snapshotsOf } from './helpers/repository';
import { createStack, randomFile, sha256File, type Stack } from './helpers/stack';

const MiB = 1024 * 1024;
const PART = 1 * MiB;

describe('backup and restore round trips', () => {
  let stack: Stack;
  let dir: string;

  before(async () => {
    stack = await createStack({ COURIER_PART_SIZE: String(PART) });
    dir = await fs.mkdtemp(path.join(stack.config.dataDir, '..', 'files-'));
    await stack.startWorker();
  });
  after(() => stack.close());

  async function roundTrip(name: string, size: number, extra: Record<string, unknown> = {}) {
    const source = await randomFile(dir, name, size);
    const backup = await submit(stack.client, stack.config, { kind: 'backup', name, source, ...extra });
    const seen: JobProgress[] = [];
    const backed = (await waitForJob(stack.client, backup.jobId, (p) => seen.push(p), 100)) as BackupResult;
    const dest = path.join(dir, `${name}.restored`);
    const restore = await submit(stack.client, stack.config, { kind: 'restore', name, dest });
    const restored = (await waitForJob(stack.client, restore.jobId)) as RestoreResult;
    const expected = await sha256File(source);
    assert.equal(backed.sha256, expected, 'the manifest records the source sha256');
    assert.equal(restored.sha256, expected);
    assert.equal(await sha256File(dest), expected, 'the restored file is byte-identical');
    assert.equal((await fs.stat(dest)).size, size);
    const staging = path.join(stack.config.stagingDir, name);
    await assert.rejects(fs.stat(staging), 'the staging dir is removed after a verified backup');
    const leftovers = (await fs.readdir(dir)).filter((f) => f.includes('.partial'));
    assert.deepEqual(leftovers, [], 'no restore temp file is left behind');
    return { backed, restored, seen };
  }

  it('an empty file: no parts, an empty restore', async () => {
    const { backed } = await roundTrip('empty', 0);
    assert.equal(backed.partCount, 0);
  });

  it('one byte', async () => {
    const { backed } = await roundTrip('one-byte', 1);
    assert.equal(backed.partCount, 1);
  });

  it('exactly N parts', async () => {
    const { backed } = await roundTrip('exact', 5 * PART);
    assert.equal(backed.partCount, 5);
  });

  it('N parts plus one byte', async () => {
    const { backed } = await roundTrip('plus-one', 5 * PART + 1);
    assert.equal(backed.partCount, 6);
    const [snapshot] = (await snapshotsOf(stack.config, 'plus-one')).filter((s) => s.id === backed.snapshot);
    assert.deepEqual(
      snapshot!.segments.map((s) => s.size),
      [PART, PART, PART, PART, PART, 1],
    );
  });

  it('md5 checksums when asked, beside sha256', async () => {
    const { backed } = await roundTrip('with-md5', 3 * PART + 17, { checksums: 'sha256+md5' });
    assert.match(backed.md5 ?? '', /^[0-9a-f]{32}$/);
  });

  it('a few hundred MiB in 64 MiB parts, with progress reported along the way', async () => {
    const { backed, seen } = await roundTrip('large', 300 * MiB + 12345, { partSize: 64 * MiB });
    assert.equal(backed.partCount, 5);
    const uploads = seen.filter((p) => p.kind === 'backup' && p.phase === 'upload');
    assert.ok(uploads.length > 0, 'the progress query reported the upload phase');
    assert.ok(uploads.every((p) => p.kind === 'backup' && p.partsTotal === 5 && p.bytesTotal === 300 * MiB + 12345));
  });
});
