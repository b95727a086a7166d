import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Chunker, DEFAULT_CHUNKER, gearTable } from '../src/repository/chunker';

const MiB = 1024 * 1024;

function chunksOf(chunker: Chunker, data: Buffer): Map<string, number> {
  const found = new Map<string, number>();
  for (let start = 0; start < data.length;) {
    const length = chunker.cut(data, start, data.length - start);
    found.set(
      createHash('sha256')
        .update(data.subarray(start, start + length))
        .digest('hex'),
      length,
    );
    start += length;
  }
  return found;
}

describe('content-defined chunking', () => {
  it('cuts where it always has: boundaries are part of the store format (a moved boundary would store known data again)', () => {
    // 4 MiB of fixed bytes and a fixed gear seed; the digest was taken from the chunker as it stood before the loop was tuned.
    const data = Buffer.concat(Array.from({ length: 131072 }, (_, i) => createHash('sha256').update(String(i)).digest()));
    const chunker = new Chunker(DEFAULT_CHUNKER, gearTable('golden'));
    const lengths: number[] = [];
    for (let start = 0; start < data.length;) {
      const length = chunker.cut(data, start, data.length - start);
      lengths.push(length);
      start += length;
    }
    // Cuts that start mid-buffer, with less than the maximum left.
    for (const [start, available] of [
      [1000, 5000],
      [77, 200000],
      [3_000_000, 131072],
      [12345, 140000],
    ])
      lengths.push(chunker.cut(data, start!, available!));
    assert.equal(lengths.length, 119);
    assert.equal(createHash('sha256').update(lengths.join(',')).digest('hex'), 'e6f6988e9d07aa79ce0c5cf18ff423c8216a683a56596781e42b58d51dd8a1a0');
  });

  it('keeps chunk sizes within bounds and near the average', () => {
    const chunker = new Chunker(DEFAULT_CHUNKER, gearTable());
    const data = randomBytes(64 * MiB);
    const lengths: number[] = [];
    for (let start = 0; start < data.length;) {
      const length = chunker.cut(data, start, data.length - start);
      lengths.push(length);
      start += length;
    }
    assert.ok(lengths.slice(0, -1).every((n) => n >= DEFAULT_CHUNKER.min && n <= DEFAULT_CHUNKER.max));
    const mean = data.length / lengths.length;
    assert.ok(mean > DEFAULT_CHUNKER.avg * 0.9 && mean < DEFAULT_CHUNKER.avg * 1.5, `mean chunk ${mean}`);
  });

  it('with the default sizes, 1 % inserted at 100 places in 1 GiB changes at most 3 % of the bytes', () => {
    const chunker = new Chunker(DEFAULT_CHUNKER, gearTable());
    const size = 1024 * MiB;
    const data = randomBytes(size);
    const before = chunksOf(chunker, data);
    const pieces: Buffer[] = [];
    let from = 0;
    for (let i = 1; i <= 100; i++) {
      const at = Math.floor((i * size) / 101);
      pieces.push(data.subarray(from, at), randomBytes(Math.floor(size / 100 / 100)));
      from = at;
    }
    pieces.push(data.subarray(from));
    const after = chunksOf(chunker, Buffer.concat(pieces));
    let sent = 0;
    for (const [id, length] of after) if (!before.has(id)) sent += length;
    assert.ok(sent <= 0.03 * size, `${((100 * sent) / size).toFixed(2)} % of the file is in new chunks`);
  });

  it('a keyed gear table moves the boundaries: they reveal nothing of the content to whoever lacks the key', () => {
    const data = randomBytes(8 * MiB);
    const plain = [...chunksOf(new Chunker(DEFAULT_CHUNKER, gearTable()), data).keys()];
    const keyed = new Set(chunksOf(new Chunker(DEFAULT_CHUNKER, gearTable(randomBytes(32))), data).keys());
    assert.ok(plain.filter((id) => keyed.has(id)).length < plain.length / 10);
  });
});
