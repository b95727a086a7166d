import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { scratchDir } from './helpers/scratch';
import { ChunkThreads } from '../src/repository/chunk-threads';
import { DEFAULT_CHUNKER } from '../src/repository/chunker';
import { toolsFrom, type RepositoryRecipe } from '../src/repository/recipe';

const MiB = 1024 * 1024;
const dir = scratchDir('chunk-threads');
const recipe: RepositoryRecipe = {
  id: randomUUID(),
  chunker: DEFAULT_CHUNKER,
  compression: 'brotli',
  gearSeed: randomBytes(32),
  keys: { encryption: randomBytes(32), mac: randomBytes(32) },
};
const { chunker, sealer } = toolsFrom(recipe);
const threads = new ChunkThreads(2);

after(() => threads.close());

/** Every chunk of a cut window, to be sealed: [offset in the window, length, id, try to compress]. */
function sealItems(cut: { ids: string[]; lengths: number[] }, tryCompress: boolean): [number, number, string, boolean][] {
  let offset = 0;
  return cut.ids.map((id, i) => [(offset += cut.lengths[i]!) - cut.lengths[i]!, cut.lengths[i]!, id, tryCompress]);
}

/** The chunks the threads cut from [start, end) of `fd`, window after window, with their bytes as cut. */
async function cutAll(fd: number, start: number, end: number) {
  const chunks: { id: string; bytes: Buffer }[] = [];
  for (let at = start; at < end;) {
    const cut = await threads.cut(recipe, fd, at, end);
    let offset = 0;
    cut.ids.forEach((id, i) => {
      chunks.push({ id, bytes: Buffer.from(cut.bytes.subarray(offset, offset + cut.lengths[i]!)) });
      offset += cut.lengths[i]!;
    });
    assert.ok(cut.consumed > 0, 'a window that consumes nothing would loop forever');
    at += cut.consumed;
  }
  return chunks;
}

describe('chunk threads', () => {
  const data = Buffer.concat([randomBytes(9 * MiB), Buffer.from('a,b,c\n'.repeat(600_000))]);
  const file = path.join(dir, 'source.bin');
  fs.writeFileSync(file, data);

  it('cut windows into the same chunks, with the same ids, as the chunker on the whole file', async () => {
    const fd = fs.openSync(file, 'r');
    try {
      const got = await cutAll(fd, 0, data.length);
      const expected: string[] = [];
      for (let at = 0; at < data.length;) {
        const length = chunker.cut(data, at, data.length - at);
        expected.push(sealer.idOf(data.subarray(at, at + length)));
        at += length;
      }
      assert.deepEqual(
        got.map((c) => c.id),
        expected,
      );
      assert.ok(Buffer.concat(got.map((c) => c.bytes)).equals(data));
    } finally {
      fs.closeSync(fd);
    }
  });

  it('seal what was cut so that it opens to the same bytes, compressing what shrinks; open writes each chunk at its place and refuses a tampered one', async () => {
    const fd = fs.openSync(file, 'r');
    const out = path.join(dir, 'restored.bin');
    const outFd = fs.openSync(out, 'w+');
    try {
      let position = 0;
      // The last 3/4 MiB: one window, which cuts to the end.
      const cut = await threads.cut(recipe, fd, data.length - (3 * MiB) / 4, data.length);
      const items = sealItems(cut, true);
      const plain = Buffer.from(cut.bytes);
      const sealed = await threads.seal(recipe, cut.bytes, items);
      assert.ok(sealed.compressed.every(Boolean), 'CSV text compresses');
      assert.ok(sealed.bytes.length < plain.length / 4);
      let at = 0;
      const placed: [number, number, string, number, number][] = items.map(([, length, id], i) => {
        const entry: [number, number, string, number, number] = [at, sealed.lengths[i]!, id, length, position];
        at += sealed.lengths[i]!;
        position += length;
        return entry;
      });
      const opened = await threads.open(recipe, outFd, Buffer.from(sealed.bytes), placed);
      assert.ok('written' in opened && opened.written, JSON.stringify(opened));
      assert.ok(fs.readFileSync(out).equals(plain));

      const tampered = Buffer.from(sealed.bytes);
      tampered[placed[1]![0] + 20]! ^= 1;
      const reply = await threads.open(recipe, outFd, tampered, placed);
      assert.ok('damaged' in reply && reply.damaged.item === 1, JSON.stringify(reply));
      assert.match(reply.damaged.reason, /authentication failed/);
    } finally {
      fs.closeSync(fd);
      fs.closeSync(outFd);
    }
  });

  it('open, in a repository without a key, refuses a chunk whose bytes are not the ones its id names', async () => {
    const plainRecipe: RepositoryRecipe = { id: randomUUID(), chunker: DEFAULT_CHUNKER, compression: 'none' };
    const plainTools = toolsFrom(plainRecipe);
    const outFd = fs.openSync(path.join(dir, 'plain.bin'), 'w+');
    try {
      const chunks = [randomBytes(40_000), randomBytes(30_000)];
      const ids = chunks.map((c) => plainTools.sealer.idOf(c));
      const sealed = chunks.map((c, i) => plainTools.sealer.sealPartsSync(c, ids[i]!, false));
      const bytes = Buffer.concat(sealed.flatMap((s) => s.parts));
      const placed: [number, number, string, number, number][] = [
        [0, sealed[0]!.length, ids[0]!, chunks[0]!.length, 0],
        [sealed[0]!.length, sealed[1]!.length, ids[1]!, chunks[1]!.length, chunks[0]!.length],
      ];
      const opened = await threads.open(plainRecipe, outFd, Buffer.from(bytes), placed);
      assert.ok('written' in opened, JSON.stringify(opened));
      // Nothing authenticates a plain chunk: only its id tells a changed byte.
      const changed = Buffer.from(bytes);
      changed[sealed[0]!.length + 100]! ^= 1;
      const reply = await threads.open(plainRecipe, outFd, changed, placed);
      assert.ok('damaged' in reply && reply.damaged.item === 1, JSON.stringify(reply));
      assert.match(reply.damaged.reason, /does not match its id/);
    } finally {
      fs.closeSync(outFd);
    }
  });

  it('windows, sealed batches and fetched runs go round through the pool: cutting and sealing the whole file again allocates nothing new', async () => {
    const fd = fs.openSync(file, 'r');
    const outFd = fs.openSync(path.join(dir, 'round.bin'), 'w');
    const pass = async () => {
      for (let at = 0; at < data.length;) {
        const cut = await threads.cut(recipe, fd, at, data.length);
        const items = sealItems(cut, true);
        const sealed = await threads.seal(recipe, cut.bytes, items);
        // A restore hands the sealed bytes to open, which gives them back; a backup writes them, then gives them back.
        let from = 0;
        const placed = items.map(([, length, id], i): [number, number, string, number, number] => {
          const entry: [number, number, string, number, number] = [from, sealed.lengths[i]!, id, length, at + items[i]![0]];
          from += sealed.lengths[i]!;
          return entry;
        });
        const opened = await threads.open(recipe, outFd, sealed.bytes, placed);
        assert.ok('written' in opened, JSON.stringify(opened));
        at += cut.consumed;
      }
    };
    try {
      const before = threads.pool.made;
      await pass();
      const made = threads.pool.made;
      assert.ok(made - before <= 4, `one window at a time needs a few blocks, not ${made - before}`);
      await pass();
      assert.equal(threads.pool.made, made, 'a second pass over the file reuses the blocks of the first');
      assert.ok(fs.readFileSync(path.join(dir, 'round.bin')).equals(data), 'the bytes that went round are the file');
    } finally {
      fs.closeSync(fd);
      fs.closeSync(outFd);
    }
  });

  it('a thread lets go of the cipher and compressor output of each window it seals and opens, not only when its heap fills', async () => {
    const own = new ChunkThreads(1);
    const source = path.join(dir, 'garbage-source.bin');
    const size = 96 * MiB;
    fs.writeFileSync(source, randomBytes(size));
    const fd = fs.openSync(source, 'r');
    const outFd = fs.openSync(path.join(dir, 'garbage-out.bin'), 'w');
    try {
      for (let at = 0; at < size;) {
        const cut = await own.cut(recipe, fd, at, size);
        // Every chunk compressed (random bytes do not shrink, so the output is dropped) and encrypted: the most output per window.
        const items = sealItems(cut, true);
        const sealed = await own.seal(recipe, cut.bytes, items);
        let from = 0;
        const placed = items.map(([start, length, id], i): [number, number, string, number, number] => [
          (from += sealed.lengths[i]!) - sealed.lengths[i]!,
          sealed.lengths[i]!,
          id,
          length,
          at + start,
        ]);
        assert.ok('written' in (await own.open(recipe, outFd, sealed.bytes, placed)));
        own.pool.give(sealed.bytes);
        at += cut.consumed;
      }
      // A window, its sealed batch and one request's output: 14.5-16.4 MiB measured, idle or beside two busy cores. A thread that kept
      // the output until V8 collected it on its own held 30 MiB.
      assert.ok(own.externalPeak < 22 * MiB, `the thread held ${(own.externalPeak / MiB).toFixed(1)} MiB outside its heap`);
    } finally {
      fs.closeSync(fd);
      fs.closeSync(outFd);
      await own.close();
    }
  });

  it('windows and batches reach the threads as shared memory, not transferred: a transfer counts as new memory for the event loop to collect', async () => {
    const own = new ChunkThreads(1);
    const source = path.join(dir, 'shared-source.bin');
    fs.writeFileSync(source, randomBytes(4 * MiB));
    const fd = fs.openSync(source, 'r');
    try {
      const cut = await own.cut(recipe, fd, 0, 4 * MiB);
      assert.ok(cut.bytes.buffer instanceof SharedArrayBuffer, 'the window is a shared block');
      const window = cut.bytes;
      const sealed = await own.seal(recipe, window, sealItems(cut, false));
      // A transferred buffer is detached on the sending side: its views read as empty.
      assert.ok(window.byteLength > 0, 'the window sent to be sealed is still the same memory here');
      assert.ok(sealed.bytes.buffer instanceof SharedArrayBuffer, 'the sealed batch is a shared block');
      own.pool.give(sealed.bytes);
    } finally {
      fs.closeSync(fd);
      await own.close();
    }
  });

  it('a source shorter than asked fails the cut with a code the backup maps to "source changed"', async () => {
    const fd = fs.openSync(file, 'r');
    try {
      await assert.rejects(threads.cut(recipe, fd, data.length - 100, data.length + 100), { code: 'SourceShort' });
    } finally {
      fs.closeSync(fd);
    }
  });
});
