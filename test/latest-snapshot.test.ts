import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { openRepository } from '../src/repository/repository';
import { latestSnapshotId, listSnapshots, putSnapshot, type Snapshot } from '../src/repository/snapshots';
import { FsStore } from '../src/stores/fs-store';

const snapshot = (id: string, time: string): Snapshot => ({
  version: 2,
  id,
  name: 'db',
  jobId: `job-${id}`,
  source: '/data/db.dump',
  size: 0,
  sha256: '0'.repeat(64),
  startedAt: time,
  time,
  message: { kind: 'backup', name: 'db', source: '/data/db.dump' },
  layout: 'chunks',
  segments: [],
  stats: { chunks: 0, newChunks: 0, bytesNew: 0, bytesStored: 0 },
});

describe('the latest snapshot of a name', () => {
  it('of two backups started in the same second, is the one written last, whatever the random tails of their ids', async () => {
    const root = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'latest-'));
    const repo = await openRepository(new FsStore(root), { autoInit: 'none' });
    // The id's tail is random: here the later backup's tail sorts first.
    await putSnapshot(repo, snapshot('20261202T091203Z-ffffffff', '2026-12-02T09:12:03.200Z'));
    await putSnapshot(repo, snapshot('20261202T091203Z-00000000', '2026-12-02T09:12:03.900Z'));
    assert.equal(await latestSnapshotId(repo, 'db'), '20261202T091203Z-00000000');
    assert.equal((await listSnapshots(repo, 'db')).at(-1)!.id, '20261202T091203Z-00000000', 'the same one `courier snapshots` lists last');

    await putSnapshot(repo, snapshot('20261202T091204Z-11111111', '2026-12-02T09:12:04.100Z'));
    assert.equal(await latestSnapshotId(repo, 'db'), '20261202T091204Z-11111111', 'a later second wins');
    assert.equal(await latestSnapshotId(repo, 'other'), undefined);
  });
});
