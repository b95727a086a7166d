import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoKeys } from '../src/repository/layout';
import { PackIndex, writePackTable, type PackTable } from '../src/repository/pack-index';
import { openRepository } from '../src/repository/repository';
import { FsStore } from '../src/stores/fs-store';

const id = () => randomBytes(32).toString('hex');
const packOf = (chunks: number): PackTable => ({ pack: id(), chunks: Array.from({ length: chunks }, (_, i) => [id(), i * 1000, 1000, 2000]) });

describe('the pack index a worker keeps', () => {
  it('keeps a pack this worker adds while a listing is under way, and forgets one removed from the store', async () => {
    const dir = fs.mkdtempSync(path.join(process.env.COURIER_TEST_TMP ?? '/tmp', 'pack-index-'));
    const store = new FsStore(dir);
    const repo = await openRepository(store, { autoInit: 'none' });
    const index = new PackIndex();
    const first = packOf(3);
    await writePackTable(repo, first);
    await index.refresh(repo);
    assert.ok(index.has(first.chunks[0]![0]));

    // Another segment on this worker commits a pack after the listing was taken, before the refresh ends.
    const during = packOf(3);
    const list = store.list.bind(store);
    store.list = async (prefix) => {
      const listed = await list(prefix);
      if (prefix === repoKeys.indexPrefix) {
        await writePackTable(repo, during);
        index.add(during);
      }
      return listed;
    };
    await index.refresh(repo);
    store.list = list;
    assert.equal(index.packCount, 2);
    for (const [chunk] of [...first.chunks, ...during.chunks]) assert.ok(index.has(chunk), `chunk ${chunk} is still known`);

    await store.delete(repoKeys.index(first.pack));
    await index.refresh(repo);
    assert.equal(index.packCount, 1);
    assert.ok(!index.has(first.chunks[0]![0]), 'a removed pack is forgotten');
    assert.deepEqual(index.locate(during.chunks[2]![0]), { pack: during.pack, offset: 2000, length: 1000, raw: 2000 });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('locates a list of chunks in order, reading the tables again only for a pack another worker stored', async () => {
    const dir = fs.mkdtempSync(path.join(process.env.COURIER_TEST_TMP ?? '/tmp', 'pack-index-'));
    const store = new FsStore(dir);
    const repo = await openRepository(store, { autoInit: 'none' });
    const index = new PackIndex();
    const known = packOf(2);
    await writePackTable(repo, known);
    await index.refresh(repo);
    let listings = 0;
    const list = store.list.bind(store);
    store.list = (prefix) => {
      if (prefix === repoKeys.indexPrefix) listings++;
      return list(prefix);
    };
    const ids = known.chunks.map(([chunk]) => chunk);
    assert.deepEqual(
      (await index.locateAll(repo, ids)).map((at) => at?.pack),
      [known.pack, known.pack],
    );
    assert.equal(listings, 0, 'all known: no listing');
    const elsewhere = packOf(1);
    await writePackTable(repo, elsewhere);
    const absent = id();
    const found = await index.locateAll(repo, [elsewhere.chunks[0]![0], ids[1]!, absent]);
    assert.deepEqual(found, [{ pack: elsewhere.pack, offset: 0, length: 1000, raw: 2000 }, index.locate(ids[1]!), undefined]);
    assert.equal(listings, 1, 'one listing for the unknown pack');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
