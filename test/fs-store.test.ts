import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { FsStore } from '../src/stores/fs-store';
import { ChecksumMismatchError, ObjectNotFoundError } from '../src/stores';

async function freshStore(): Promise<FsStore> {
  return new FsStore(await fs.mkdtemp(path.join(os.tmpdir(), 'fs-store-')));
}

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const text = async (stream: Readable): Promise<string> => (await bytesOf(stream)).toString();

const SHA_HELLO = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824';

describe('fs store', () => {
  it('put computes checksums from the bytes; head, get, list and delete see the committed object', async () => {
    const store = await freshStore();
    const info = await store.put('a/b/one', Readable.from([Buffer.from('hel'), Buffer.from('lo')]), { md5: true });
    assert.deepEqual(info, { key: 'a/b/one', size: 5, sha256: SHA_HELLO, md5: '5d41402abc4b2a76b9719d911017c592' });
    assert.deepEqual(await store.head('a/b/one'), info);
    assert.equal(await text(await store.get('a/b/one')), 'hello');
    await store.put('a/b/two', Readable.from([Buffer.from('x')]));
    assert.deepEqual(
      (await store.list('a/b')).map((o) => o.key),
      ['a/b/one', 'a/b/two'],
    );
    await store.delete('a/b/one');
    assert.equal(await store.head('a/b/one'), undefined);
    await assert.rejects(store.get('a/b/one'), ObjectNotFoundError);
    assert.deepEqual(await fs.readdir(path.join(store.root, 'tmp')), [], 'no temp files left');
  });

  it('a large object, hashed once written rather than as it arrives, gets the same checksums and is refused the same way', async () => {
    const store = await freshStore();
    const pieces = [randomBytes(700_000), randomBytes(700_000), randomBytes(1_500_000)];
    const whole = Buffer.concat(pieces);
    const sha256 = createHash('sha256').update(whole).digest('hex');
    const md5 = createHash('md5').update(whole).digest('hex');
    assert.deepEqual(await store.put('big', Readable.from(pieces), { md5: true }), { key: 'big', size: whole.length, sha256, md5 });
    assert.ok(Buffer.concat(await (await store.get('big')).toArray()).equals(whole));
    await assert.rejects(store.put('big', Readable.from([randomBytes(2_000_000)]), { expectedSha256: sha256 }), ChecksumMismatchError);
    assert.equal((await store.head('big'))?.sha256, sha256);
    assert.deepEqual(await fs.readdir(path.join(store.root, 'tmp')), [], 'no temp files left');
  });

  it('refuses bytes that do not match the expected checksum, keeping the old object', async () => {
    const store = await freshStore();
    await store.put('k', Readable.from([Buffer.from('hello')]));
    await assert.rejects(store.put('k', Readable.from([Buffer.from('hellO')]), { expectedSha256: SHA_HELLO }), ChecksumMismatchError);
    assert.equal(await text(await store.get('k')), 'hello');
    assert.deepEqual(await fs.readdir(path.join(store.root, 'tmp')), []);
  });

  it('an object whose bytes were truncated, or that has no metadata, counts as absent', async () => {
    const store = await freshStore();
    await store.put('t', Readable.from([Buffer.from('hello')]));
    await fs.truncate(path.join(store.root, 'objects', 't'), 2);
    assert.equal(await store.head('t'), undefined);
    await fs.mkdir(path.join(store.root, 'objects'), { recursive: true });
    await fs.writeFile(path.join(store.root, 'objects', 'orphan'), 'bytes without metadata');
    assert.equal(await store.head('orphan'), undefined);
  });

  it('rejects keys that would escape the store', async () => {
    const store = await freshStore();
    for (const key of ['../x', 'a/../../x', '/abs', 'a//b', '.hidden']) {
      await assert.rejects(store.put(key, Readable.from([Buffer.from('x')])), /invalid object key/, key);
    }
  });

  it('putFile adopts a local file without copying it, and a second putFile of the same file leaves no temp link', async () => {
    const store = await freshStore();
    const file = path.join(store.root, 'staged');
    await fs.writeFile(file, 'hello');
    const info = await store.putFile('p/one', file, { expectedSha256: SHA_HELLO, expectedSize: 5, md5: true });
    assert.equal(info.md5, '5d41402abc4b2a76b9719d911017c592');
    assert.equal((await fs.stat(file)).ino, (await fs.stat(path.join(store.root, 'objects', 'p', 'one'))).ino, 'same file, no copy');
    assert.deepEqual(await store.putFile('p/one', file, { expectedSha256: SHA_HELLO, md5: true }), info);
    assert.deepEqual(await fs.readdir(path.join(store.root, 'tmp')), [], 'no temp links left');
    await fs.rm(file);
    assert.equal(await text(await store.get('p/one')), 'hello', 'the object outlives the local file');
  });

  it('directories removed behind the store after it made them are made again: puts and putFiles still commit, leaving no temp files', async () => {
    const store = await freshStore();
    await store.put('d/one', Readable.from([Buffer.from('first')]));
    const staged = path.join(store.root, 'staged');
    await fs.writeFile(staged, 'hello');
    await store.putFile('d/two', staged);
    for (const dir of ['tmp', 'objects', 'meta']) await fs.rm(path.join(store.root, dir), { recursive: true });
    await store.put('d/three', Readable.from([Buffer.from('again')]));
    await store.putFile('d/two', staged, { expectedSha256: SHA_HELLO });
    assert.equal(await text(await store.get('d/three')), 'again');
    assert.equal(await text(await store.get('d/two')), 'hello');
    assert.equal(await store.head('d/one'), undefined, 'removed with its directories');
    assert.deepEqual(await fs.readdir(path.join(store.root, 'tmp')), []);
  });

  it('many puts at once, small and large, each commit their own bytes and checksums and leave no temp files', async () => {
    const store = await freshStore();
    const bodies = Array.from({ length: 60 }, (_, i) => randomBytes(i % 20 === 0 ? 2 * 1024 * 1024 + i : 100 + i * 37));
    const infos = await Promise.all(bodies.map((body, i) => store.put(`many/${i % 7}/${i}`, Readable.from([body]))));
    for (const [i, body] of bodies.entries()) {
      const sha256 = createHash('sha256').update(body).digest('hex');
      assert.deepEqual(infos[i], { key: `many/${i % 7}/${i}`, size: body.length, sha256 });
      assert.deepEqual(await store.head(`many/${i % 7}/${i}`), infos[i]);
      assert.ok((await bytesOf(await store.get(`many/${i % 7}/${i}`))).equals(body), `object ${i} holds its bytes`);
    }
    assert.deepEqual(await fs.readdir(path.join(store.root, 'tmp')), []);
  });

  it('a commit that fails names the paths, keeps the old object and leaves no temp files', async () => {
    const store = await freshStore();
    await store.put('f/ok', Readable.from([Buffer.from('kept')]));
    // A directory where the object would go: the rename cannot replace it.
    await fs.mkdir(path.join(store.root, 'objects', 'f', 'blocked', 'inside'), { recursive: true });
    await assert.rejects(store.put('f/blocked', Readable.from([Buffer.from('never')])), (err: Error) => {
      assert.match(err.message, /objects\/f\/blocked/);
      return true;
    });
    assert.equal(await store.head('f/blocked'), undefined);
    assert.equal(await text(await store.get('f/ok')), 'kept');
    assert.deepEqual(await fs.readdir(path.join(store.root, 'tmp')), []);
  });

  it('putFile refuses a file that does not match the expected checksum and keeps the old object', async () => {
    const store = await freshStore();
    await store.put('k', Readable.from([Buffer.from('hello')]));
    const file = path.join(store.root, 'staged');
    await fs.writeFile(file, 'hellO');
    await assert.rejects(store.putFile('k', file, { expectedSha256: SHA_HELLO }), ChecksumMismatchError);
    assert.equal(await text(await store.get('k')), 'hello');
    assert.deepEqual(await fs.readdir(path.join(store.root, 'tmp')), []);
  });
});
