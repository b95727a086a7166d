import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { scratchDir } from './helpers/scratch';
import { TrailingHashes } from '../src/hashing/trailing-hash';

const MiB = 1024 * 1024;
const dir = scratchDir('trailing');

/** `data` written to `file` part by part in the given order, as a restore's segments land; `each` after each part. */
function writeParts(file: string, data: Buffer, partSize: number, order: number[], each: (index: number, size: number) => void): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (const index of order) {
      const start = index * partSize;
      const size = Math.min(partSize, data.length - start);
      fs.writeSync(fd, data, start, size, start);
      each(index, size);
    }
  } finally {
    fs.closeSync(fd);
  }
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('trailing hashes', () => {
  const partSize = 3 * MiB;

  it('parts written out of order give the sha256 of the whole file', async () => {
    const hashes = new TrailingHashes();
    const file = path.join(dir, 'out-of-order.bin');
    const data = randomBytes(6 * partSize - 12345);
    writeParts(file, data, partSize, [3, 0, 2, 5, 1, 4], (i, size) => hashes.written(file, i * partSize, size));
    assert.equal(await hashes.digest(file, data.length), sha256(data));
    hashes.close();
  });

  it('cannot tell when a part was not seen here, or was written twice: the caller hashes the file itself', async () => {
    const hashes = new TrailingHashes();
    const data = randomBytes(4 * partSize - 12345);
    const missing = path.join(dir, 'missing.bin');
    writeParts(missing, data, partSize, [0, 1, 2, 3], (i, size) => i !== 1 && hashes.written(missing, i * partSize, size));
    assert.equal(await hashes.digest(missing, data.length), undefined, 'part 1 was written by another process');

    const twice = path.join(dir, 'twice.bin');
    writeParts(twice, data, partSize, [0, 1, 2, 3, 1], (i, size) => hashes.written(twice, i * partSize, size));
    assert.equal(await hashes.digest(twice, data.length), undefined, 'part 1 may differ from what was hashed');

    assert.equal(await hashes.digest(path.join(dir, 'never.bin'), data.length), undefined);
    hashes.close();
  });

  it('hashes what is in the file, not what was meant to be written', async () => {
    const hashes = new TrailingHashes();
    const file = path.join(dir, 'damaged.bin');
    const data = randomBytes(2 * partSize);
    fs.writeFileSync(file, data);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([data[100]! ^ 1]), 0, 1, 100);
    fs.closeSync(fd);
    hashes.written(file, partSize, partSize);
    hashes.written(file, 0, partSize);
    const got = await hashes.digest(file, data.length);
    assert.ok(got && got !== sha256(data), 'the flipped byte shows in the digest');
    hashes.close();
  });
});
