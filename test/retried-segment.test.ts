import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDeps } from '../src/activities';
import { loadConfig, type Config } from '../src/config';
import { backupSegment } from '../src/kinds/backup/activities/chunked-backup';
import type { SourceInfo } from '../src/kinds/backup/contract';
import { prepareBackup } from '../src/kinds/backup/activities/prepare-backup';
import { settingsFor } from '../src/kinds/settings';
import { storedTwice } from './helpers/repository';

const MiB = 1024 * 1024;

describe('a segment retried on another worker', () => {
  let base: string;
  let config: Config;

  before(async () => {
    base = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP ?? os.tmpdir(), 'retried-segment-'));
    config = loadConfig({ COURIER_DATA_DIR: path.join(base, 'data'), COURIER_SOURCE_ROOTS: base, COURIER_HOST: 'retry-host' });
  });
  after(() => fs.rm(base, { recursive: true, force: true }));

  it('sends none of the chunks the dead attempt stored, though this worker listed the packs a moment before they were', async () => {
    const dead = createDeps(config);
    const retrying = createDeps(config);
    try {
      const file = path.join(base, 'source.bin');
      await fs.writeFile(file, randomBytes(6 * MiB));
      const message = { kind: 'backup' as const, id: 'retried', name: 'retried', source: file };
      const settings = settingsFor(config);
      const source: SourceInfo = await new MockActivityEnvironment().run(() => prepareBackup(retrying, { message, settings }));
      const ref = { jobId: 'backup-retried', name: 'retried', snapshotId: 'snapshot-retried', source, index: 0, segmentSize: 8 * MiB };
      // The retrying worker is busy with the same job: its index was listed just now, before the other attempt stored its packs.
      await retrying.packIndex.refresh(await retrying.repository());
      // The first attempt stores the segment's packs, then its worker dies before the workflow hears of it.
      await new MockActivityEnvironment({ attempt: 1 }).run(() => backupSegment(dead, ref));
      await new MockActivityEnvironment({ attempt: 2 }).run(() => backupSegment(retrying, ref));
      assert.equal((await storedTwice(config)).bytes, 0, 'chunk bytes stored twice');
    } finally {
      await Promise.all([dead.close(), retrying.close()]);
    }
  });
});
