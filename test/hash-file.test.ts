import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { scratchDir } from './helpers/scratch';
import { hashFile, runningHash } from '../src/hashing/hash-file';
import { ChunkThreads } from '../src/repository/chunk-threads';
import { DEFAULT_CHUNKER } from '../src/repository/chunker';
import type { RepositoryRecipe } from '../src/repository/recipe';

const MiB = 1024 * 1024;
const dir = scratchDir('hash-file');
const threads = new ChunkThreads(2);
after(() => threads.close());

const digest = (algorithm: string, bytes: Buffer) => createHash(algorithm).update(bytes).digest('hex');

describe('hashing files on the chunk threads', () => {
  // Larger than two of the 16 MiB pieces a request hashes, and not a multiple of them.
  const data = randomBytes(40 * MiB + 12345);
  const file = path.join(dir, 'data.bin');
  fs.writeFileSync(file, data);

  it('a whole file, a range across pieces, an empty range and a range past the end hash as node hashes those bytes', async () => {
    const progress: number[] = [];
    const whole = await hashFile({ file, algorithms: ['sha256', 'md5'] }, { threads, onProgress: (n) => progress.push(n) });
    assert.deepEqual(whole, { size: data.length, digests: { sha256: digest('sha256', data), md5: digest('md5', data) } });
    assert.ok(progress.length >= 3 && progress.at(-1) === data.length, `progress came piece by piece: ${progress.join(', ')}`);

    const range = await hashFile({ file, start: 16 * MiB - 7, length: 17 * MiB + 3, algorithms: ['sha256'] }, { threads });
    assert.deepEqual(range, { size: 17 * MiB + 3, digests: { sha256: digest('sha256', data.subarray(16 * MiB - 7, 33 * MiB - 4)) } });

    assert.equal(
      (await hashFile({ file, start: 5, length: 0, algorithms: ['sha256'] }, { threads })).digests.sha256,
      digest('sha256', Buffer.alloc(0)),
    );

    const past = await hashFile({ file, start: data.length - 10, length: 32 * MiB, algorithms: ['sha256'] }, { threads });
    assert.deepEqual(
      past,
      { size: 10, digests: { sha256: digest('sha256', data.subarray(data.length - 10)) } },
      'the size says the file ended early',
    );
  });

  it('a missing file fails naming it, with its code; a cancelled hash stops with its reason and the threads go on hashing', async () => {
    const missing = path.join(dir, 'missing.bin');
    await assert.rejects(hashFile({ file: missing, algorithms: ['sha256'] }, { threads }), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'ENOENT');
      assert.match(err.message, /hashing .*missing\.bin/);
      return true;
    });
    const stop = new AbortController();
    const reason = new Error('the job was cancelled');
    const cancelled = hashFile(
      { file, algorithms: ['sha256'] },
      { threads, signal: stop.signal, onProgress: (n) => n >= 16 * MiB && stop.abort(reason) },
    );
    await assert.rejects(cancelled, (err) => err === reason);
    assert.equal((await hashFile({ file, algorithms: ['sha256'] }, { threads })).digests.sha256, digest('sha256', data));
  });

  it('a long hash leaves its thread between pieces: another request on the same one thread is answered before the hash ends', async () => {
    const one = new ChunkThreads(1);
    try {
      const recipe: RepositoryRecipe = { id: 'hash-file-test', chunker: DEFAULT_CHUNKER, compression: 'none' };
      const order: string[] = [];
      const hashing = hashFile({ file, algorithms: ['sha256'] }, { threads: one }).then(() => order.push('hash'));
      const fd = fs.openSync(file, 'r');
      const cutting = one.cut(recipe, fd, 0, 4 * MiB).then((cut) => {
        order.push('cut');
        one.pool.give(cut.bytes);
      });
      await Promise.all([hashing, cutting]);
      fs.closeSync(fd);
      assert.deepEqual(order, ['cut', 'hash']);
      assert.equal(one.running, 1);
    } finally {
      await one.close();
    }
  });

  it('many hashes at once run on the threads there are, no thread of their own each', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => hashFile({ file, start: i * MiB, length: 20 * MiB, algorithms: ['sha256'] }, { threads })),
    );
    results.forEach((r, i) => assert.equal(r.digests.sha256, digest('sha256', data.subarray(i * MiB, (i + 20) * MiB))));
    assert.ok(threads.running <= 2, `${threads.running} threads`);
  });

  it('hash streams are spread by how many each thread holds, not by what waits there now, and leave when they end', async () => {
    const two = new ChunkThreads(2);
    try {
      const trail = runningHash(file, two);
      await trail.append(0, MiB);
      assert.deepEqual(two.streamsPerThread, [1], 'the trail holds its thread while it waits for its next part');
      const whole = hashFile({ file, algorithms: ['sha256'] }, { threads: two });
      assert.deepEqual(two.streamsPerThread, [1, 1], 'the new stream went to a thread of its own, though the first had nothing waiting');
      assert.equal((await whole).digests.sha256, digest('sha256', data));
      trail.close();
      await hashFile({ file, length: 1, algorithms: ['sha256'] }, { threads: two });
      assert.deepEqual(two.streamsPerThread, [0, 0]);
    } finally {
      await two.close();
    }
  });

  it('a running hash takes ranges larger than a piece, queued one after another, and fails for good once one comes up short', async () => {
    const hash = runningHash(file, threads);
    const appends = [hash.append(0, 20 * MiB), hash.append(20 * MiB, 18 * MiB), hash.append(38 * MiB, data.length - 38 * MiB)];
    await Promise.all(appends);
    assert.equal(await hash.digest(), digest('sha256', data));

    const short = runningHash(file, threads);
    await assert.rejects(short.append(data.length - 5, 10), /ended at byte/);
    await assert.rejects(short.append(0, 10), /ended at byte/, 'what follows a gap cannot be hashed into the same stream');
    await assert.rejects(short.digest(), /ended at byte/);
    short.close();
  });
});
