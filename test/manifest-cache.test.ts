import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, createDeps } from '../src/activities';
import { loadConfig, type Config } from '../src/config';
import { partKey } from '../src/jobs/keys';
import { putManifest } from '../src/kinds/backup/manifest';
import type { ObjectStore } from '../src/stores';

const MiB = 1024 * 1024;
const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A backup as courier wrote them before snapshots: its parts under the name and one manifest, replaced by the next backup. */
async function legacyBackup(store: ObjectStore, name: string, data: Buffer): Promise<void> {
  const parts = [0, 1].map((index) => {
    const bytes = data.subarray(index * MiB, (index + 1) * MiB);
    return { index, key: partKey(name, index), offset: index * MiB, size: bytes.length, sha256: sha(bytes), bytes };
  });
  for (const part of parts) await store.put(part.key, Readable.from([part.bytes]));
  await putManifest(store, {
    version: 1,
    jobId: `backup-${name}-${sha(data).slice(0, 8)}`,
    name,
    message: { kind: 'backup', name, source: '/var/backups/legacy' },
    source: '/var/backups/legacy',
    size: data.length,
    sha256: sha(data),
    partSize: MiB,
    layout: 'parts',
    parts: parts.map(({ bytes: _bytes, ...part }) => part),
    startedAt: '2026-01-01T00:00:00.000Z',
    completedAt: '2026-01-01T00:00:01.000Z',
  });
}

describe('the manifest cache of a backup made before snapshots, on two workers', () => {
  let base: string;
  let config: Config;

  before(async () => {
    base = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP ?? os.tmpdir(), 'manifest-cache-'));
    config = loadConfig({ COURIER_DATA_DIR: path.join(base, 'data'), COURIER_RESTORE_ROOTS: base, COURIER_HOST: 'cache-host' });
  });
  after(() => fs.rm(base, { recursive: true, force: true }));

  it("a part restored by a worker that cached the name's earlier manifest is read from the manifest the restore began with", async () => {
    const one = createDeps(config);
    const other = createDeps(config);
    const [first, second] = [createActivities(one), createActivities(other)];
    const env = new MockActivityEnvironment();
    const restoreWith = async (
      loads: typeof first,
      parts: typeof first,
      dest: string,
    ): Promise<{ error?: Error; manifest: { sha256: string; partCount: number } }> => {
      // The manifest is loaded where the job starts; its parts may run on any worker.
      const manifest = (await env.run(() => loads.loadManifest('legacy'))) as { sha256: string; partCount: number; size: number };
      const { tempPath } = (await env.run(() => loads.prepareRestore({ jobId: dest, dest, size: manifest.size }))) as { tempPath: string };
      try {
        for (let index = 0; index < manifest.partCount; index++)
          await env.run(() => parts.restorePart({ backup: 'legacy', index, tempPath, sha256: manifest.sha256 }));
        await env.run(() => loads.finishRestore({ tempPath, dest, size: manifest.size, sha256: manifest.sha256 }));
        return { manifest };
      } catch (error) {
        return { error: error as Error, manifest };
      }
    };

    const older = randomBytes(2 * MiB);
    await legacyBackup(one.store, 'legacy', older);
    const a = await restoreWith(first, first, path.join(base, 'a.out'));
    assert.equal(a.error, undefined);
    assert.equal(sha(await fs.readFile(path.join(base, 'a.out'))), sha(older));

    // The name is backed up again; the next restore starts on the other worker, its parts run on the first.
    const newer = randomBytes(2 * MiB);
    await legacyBackup(one.store, 'legacy', newer);
    const b = await restoreWith(second, first, path.join(base, 'b.out'));
    assert.equal(b.error, undefined, `the restore of the newer backup: ${b.error?.message}`);
    assert.equal(sha(await fs.readFile(path.join(base, 'b.out'))), sha(newer));
    await Promise.all([one.close(), other.close()]);
  });
});
