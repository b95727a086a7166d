import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { ChunkThreads } from '../src/repository/chunk-threads';
import { requestCollector } from '../src/repository/thread-memory';

const MiB = 1024 * 1024;

/**
 * In a thread of its own, as a chunk thread runs. Buffers held across two
 * young collections are promoted; once dropped, only a full collection frees
 * their memory (V8 may start one itself, but seldom in a quiet thread; with
 * the collector's first version, `{ type: 'major' }`, this failed every time),
 * and V8 frees it on a task after the collection, as a thread does between requests.
 */
const scenario = `
require('tsx/cjs');
const v8 = require('node:v8');
const { parentPort } = require('node:worker_threads');
const { requestCollector } = require(${JSON.stringify(path.join(__dirname, '..', 'src', 'repository', 'thread-memory.ts'))});
const MiB = ${MiB};
const external = () => v8.getHeapStatistics().external_memory;
const settled = () => new Promise((resolve) => setTimeout(resolve, 100));
const requests = async (collect) => {
  for (let request = 0; request < 2; request++) {
    collect();
    await settled();
  }
};
(async () => {
  const youngOnly = requestCollector(Number.MAX_SAFE_INTEGER);
  youngOnly();
  const base = external();
  let held = Array.from({ length: 24 }, () => Buffer.alloc(MiB, 1));
  youngOnly();
  youngOnly();
  held = undefined;
  await requests(requestCollector(base + 8 * MiB));
  parentPort.postMessage({ pastLimit: external() - base });
})();
`;

describe('a chunk thread collecting after each request', () => {
  it('collects the young generation after every request, and everything only once external memory passes the limit', () => {
    const runs: string[] = [];
    let external = 0;
    const collect = requestCollector(8 * MiB, { external: () => external, gc: (options) => runs.push(options?.type ?? 'full') });
    for (const held of [4, 8, 9, 4]) {
      external = held * MiB;
      collect();
    }
    assert.deepEqual(runs, ['minor', 'minor', 'minor', 'full', 'minor']);
  });

  it('frees buffers that outlived young collections once its external memory passes the limit', async () => {
    const worker = new Worker(scenario, { eval: true });
    const { pastLimit } = await new Promise<{ pastLimit: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    assert.ok(pastLimit < 8 * MiB, `a full collection frees them: ${(pastLimit / MiB).toFixed(1)} MiB left`);
  });
});

describe('chunk threads starting together', () => {
  it('each gets its collector: one clearing the process-wide flag does not leave another without gc', async () => {
    for (let round = 0; round < 4; round++) {
      const threads = new ChunkThreads(8);
      try {
        // Eight streams at once start eight threads at once, each fetching its collector as it loads.
        const hashed = await Promise.all(Array.from({ length: 8 }, () => threads.hashStream(['sha256']).piece(__filename, 0, 64, true)));
        assert.equal(threads.running, 8);
        for (const reply of hashed) assert.equal(reply.size, 64);
      } finally {
        await threads.close();
      }
    }
  });
});
