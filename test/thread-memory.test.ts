import assert from 'node:assert/strict';
import v8 from 'node:v8';
import { describe, it } from 'node:test';
import { requestCollector } from '../src/repository/thread-memory';

const MiB = 1024 * 1024;
const external = () => v8.getHeapStatistics().external_memory;
/** V8 frees a collected buffer's memory on a task after the collection, as a thread does between requests. */
const settled = () => new Promise((resolve) => setTimeout(resolve, 100));

describe('a chunk thread collecting after each request', () => {
  it('frees buffers that outlived young collections once its external memory passes the limit, and only then', async () => {
    const youngOnly = requestCollector(Number.MAX_SAFE_INTEGER);
    youngOnly();
    const base = external();
    // Buffers held across two young collections are promoted: once dropped, only a full collection frees their memory.
    let held: Buffer[] | undefined = Array.from({ length: 24 }, () => Buffer.alloc(MiB, 1));
    youngOnly();
    youngOnly();
    assert.equal(held.length, 24);
    held = undefined;
    youngOnly();
    await settled();
    assert.ok(
      external() - base >= 20 * MiB,
      `young collections leave the dropped buffers' memory held: ${((external() - base) / MiB).toFixed(1)} MiB`,
    );

    const belowLimit = requestCollector(base + 32 * MiB);
    for (let request = 0; request < 2; request++) {
      belowLimit();
      await settled();
    }
    assert.ok(external() - base >= 20 * MiB, 'below the limit, no full collection runs');

    const pastLimit = requestCollector(base + 8 * MiB);
    for (let request = 0; request < 2; request++) {
      pastLimit();
      await settled();
    }
    assert.ok(external() - base < 8 * MiB, `past the limit a full collection frees them: ${((external() - base) / MiB).toFixed(1)} MiB left`);
  });
});
