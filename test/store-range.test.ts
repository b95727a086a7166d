import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { scratchDir } from './helpers/scratch';
import { ChunkThreads } from '../src/repository/chunk-threads';
import { PackIndex } from '../src/repository/pack-index';
import { PackWriter } from '../src/repository/pack-writer';
import { openRepository } from '../src/repository/repository';
import { storeRange } from '../src/repository/store-range';
import { FsStore } from '../src/stores/fs-store';

const MiB = 1024 * 1024;
const dir = scratchDir('store-range');
const threads = new ChunkThreads(2);
after(() => threads.close());

describe('storing a range of a file as chunks', () => {
  it('a second pass over stored bytes sends nothing and takes no new buffers: every window goes back to the pool', async () => {
    const repo = await openRepository(new FsStore(path.join(dir, 'store')), { autoInit: 'brotli' });
    const file = path.join(dir, 'source.bin');
    fs.writeFileSync(file, randomBytes(24 * MiB));
    const fd = fs.openSync(file, 'r');
    const index = new PackIndex();
    const pass = async () => {
      const writer = new PackWriter(repo, await index.refresh(repo), undefined, threads.pool);
      const progress: number[] = [];
      const list = await storeRange({ threads, recipe: repo.recipe, fd, start: 0, end: 24 * MiB, writer, onProgress: (done) => progress.push(done) });
      return { list, stats: await writer.finish(), progress };
    };
    try {
      const first = await pass();
      assert.equal(first.stats.bytesNew, 24 * MiB, 'the first pass stores every byte');
      assert.equal(first.progress.at(-1), 24 * MiB);
      assert.equal(threads.pool.madeBytes, threads.pool.made * MiB, 'a window, and the sealed batch of a window, each fit one 1 MiB block');
      const made = threads.pool.made;
      const second = await pass();
      assert.equal(second.stats.newChunks, 0, 'every chunk is known');
      assert.deepEqual(second.list, first.list, 'the same chunks, in the same order');
      // Two dozen 1 MiB windows: dropping them would make a block for each.
      assert.equal(threads.pool.made, made, 'the windows of the second pass are the blocks of the first');
    } finally {
      fs.closeSync(fd);
    }
  });
});
