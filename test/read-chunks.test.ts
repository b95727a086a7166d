import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { FsStore } from '../src/stores/fs-store';
import { ObjectNotFoundError, type ObjectStore } from '../src/stores';
import { repoKeys } from '../src/repository/layout';
import { BufferPool } from '../src/repository/buffer-pool';
import { fetchRuns, type Placed } from '../src/repository/read-chunks';

const MiB = 1024 * 1024;

async function freshStore(): Promise<FsStore> {
  return new FsStore(await fs.mkdtemp(path.join(os.tmpdir(), 'read-chunks-')));
}

/** The real store, counting how often each object is opened for ranged reads. */
function counting(store: FsStore): { store: ObjectStore; opened: Map<string, number>; closed: () => number } {
  const opened = new Map<string, number>();
  let closed = 0;
  const counted = Object.create(store) as FsStore;
  counted.openRanges = async (key, options) => {
    opened.set(key, (opened.get(key) ?? 0) + 1);
    const reader = await store.openRanges(key, options);
    return {
      read: (range, into) => reader.read(range, into),
      close: async () => {
        closed++;
        await reader.close();
      },
    };
  };
  return { store: counted, opened, closed: () => closed };
}

/** `count` chunks of `size` bytes laid side by side in `pack`. */
const chunksIn = (pack: string, count: number, size: number): Placed[] =>
  Array.from({ length: count }, (_, i) => ({ id: `${pack}-${i}`, at: { pack, offset: i * size, length: size, raw: size } }));

describe('reading chunks from packs', () => {
  it('reads runs of at most 1 MiB, so each fits one block of the pool', async () => {
    const store = await freshStore();
    // Chunks of 100,000 bytes: ten make 1,000,000, an eleventh would pass 1 MiB.
    const pack = randomBytes(40 * 100_000);
    await store.put(repoKeys.pack('p'), Readable.from([pack]));
    const pool = new BufferPool();
    const lengths: number[] = [];
    for await (const fetched of fetchRuns(store, chunksIn('p', 40, 100_000), undefined, pool)) {
      assert.ok('bytes' in fetched);
      lengths.push(fetched.bytes.length);
      pool.give(fetched.bytes);
    }
    assert.deepEqual(lengths, [1_000_000, 1_000_000, 1_000_000, 1_000_000]);
    assert.equal(pool.madeBytes, MiB, 'one block, reused for every run');
  });

  it('opens each pack once for all its runs, and closes every pack it opened', async () => {
    const fsStore = await freshStore();
    // 48 chunks of 64 KiB per pack: three 1 MiB runs each.
    const packs = { a: randomBytes(48 * 65536), b: randomBytes(48 * 65536) };
    for (const [pack, bytes] of Object.entries(packs)) await fsStore.put(repoKeys.pack(pack), Readable.from([bytes]));
    const { store, opened, closed } = counting(fsStore);
    const chunks = [...chunksIn('a', 48, 65536), ...chunksIn('b', 48, 65536)];
    const got: Buffer[] = [];
    let runs = 0;
    for await (const fetched of fetchRuns(store, chunks)) {
      assert.ok('bytes' in fetched, 'every run is read');
      runs++;
      const first = fetched.run[0]!.at;
      const length = fetched.run.reduce((n, c) => n + c.at.length, 0);
      assert.ok(fetched.bytes.subarray(0, length).equals(packs[first.pack as 'a' | 'b'].subarray(first.offset, first.offset + length)));
      got.push(fetched.bytes.subarray(0, length));
    }
    assert.equal(runs, 6, 'runs of at most about 1 MiB');
    assert.ok(Buffer.concat(got).equals(Buffer.concat([packs.a, packs.b])));
    assert.deepEqual(Object.fromEntries(opened), { [repoKeys.pack('a')]: 1, [repoKeys.pack('b')]: 1 });
    assert.equal(closed(), 2);
  });

  it('a missing pack spoils only its own runs, and a pack shorter than its index says is reported as such', async () => {
    const fsStore = await freshStore();
    const present = randomBytes(4 * 65536);
    await fsStore.put(repoKeys.pack('here'), Readable.from([present]));
    await fsStore.put(repoKeys.pack('short'), Readable.from([randomBytes(65536)]));
    const { store, opened, closed } = counting(fsStore);
    const chunks = [...chunksIn('gone', 2, 65536), ...chunksIn('here', 4, 65536), ...chunksIn('short', 2, 65536)];
    const outcomes: string[] = [];
    for await (const fetched of fetchRuns(store, chunks)) {
      outcomes.push('missing' in fetched ? `${fetched.run[0]!.at.pack}: ${fetched.missing}` : `${fetched.run[0]!.at.pack}: read`);
    }
    assert.deepEqual(outcomes, [
      `gone: pack ${repoKeys.pack('gone')} is missing`,
      'here: read',
      `short: pack ${repoKeys.pack('short')} is shorter than its index says`,
    ]);
    assert.equal(opened.get(repoKeys.pack('gone')), 1);
    assert.equal(closed(), 2, 'the packs found are closed; the missing one was never open');
  });

  it('an object held open reads any range, short at its end; an absent one is not found', async () => {
    const store = await freshStore();
    const bytes = randomBytes(300_000);
    await store.put('obj', Readable.from([bytes]));
    const reader = await store.openRanges('obj');
    try {
      const into = Buffer.alloc(100_000);
      assert.equal(await reader.read({ start: 1_000, length: 100_000 }, into), 100_000);
      assert.ok(into.equals(bytes.subarray(1_000, 101_000)));
      assert.equal(await reader.read({ start: 250_000, length: 100_000 }, into), 50_000);
      assert.ok(into.subarray(0, 50_000).equals(bytes.subarray(250_000)));
    } finally {
      await reader.close();
    }
    await assert.rejects(store.openRanges('absent'), ObjectNotFoundError);
  });
});
