import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { BufferPool } from '../src/repository/buffer-pool';

const MiB = 1024 * 1024;

describe('buffer pool', () => {
  it('a block given back serves the next request it fits, the smallest that fits first', () => {
    const pool = new BufferPool();
    const big = pool.take(3 * MiB);
    const small = pool.take(MiB / 2);
    pool.give(big);
    pool.give(small.subarray(10, 20));
    assert.equal(pool.pooledBytes, 4 * MiB);
    const again = pool.take(100_000);
    assert.equal(again.buffer, small.buffer, 'the 1 MiB block, not the 3 MiB one');
    assert.equal(again.length, 100_000);
    assert.equal(pool.take(2 * MiB).buffer, big.buffer);
    assert.equal(pool.made, 2);
  });

  it('memory it did not make is copied before it may move to a thread, and never pooled', () => {
    const pool = new BufferPool();
    const foreign = Buffer.from('not the pool’s');
    const moved = pool.movable(foreign);
    assert.notEqual(moved.buffer, foreign.buffer);
    assert.ok(moved.equals(foreign));
    assert.equal(pool.movable(moved), moved, 'a pooled block moves as it is');
    pool.give(foreign);
    assert.equal(pool.pooledBytes, 0);
  });

  it('keeps no more than its limit, and lets everything go once idle', async () => {
    const pool = new BufferPool(2 * MiB, 50);
    const blocks = [pool.take(MiB), pool.take(MiB), pool.take(MiB)];
    for (const block of blocks) pool.give(block);
    pool.give(blocks[0]!);
    assert.equal(pool.pooledBytes, 2 * MiB, 'the third block and a second give of the first are dropped');
    await sleep(150);
    assert.equal(pool.pooledBytes, 0);
    pool.take(MiB);
    assert.equal(pool.made, 4, 'after the trim a new block is made');
  });
});
