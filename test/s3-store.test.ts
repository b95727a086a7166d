import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { S3Store } from '../src/stores/s3-store';
import { seeded } from './helpers/campaign/run';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy';
import { startS3Server, type S3Server } from './helpers/s3-server';

const BUCKET = 'courier-store';
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('S3 store checksums against a real S3 server (versitygw)', () => {
  let s3: S3Server;
  let proxy: FaultProxy;
  let dir: string;
  const storeAt = (endpoint: string) =>
    new S3Store({
      bucket: BUCKET,
      prefix: 'p/',
      pathStyle: true,
      aws: { endpoint, region: 'us-east-1', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });

  before(async () => {
    s3 = await startS3Server();
    await s3.createBucket(BUCKET);
    proxy = await startFaultProxy(s3.endpoint);
    dir = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP ?? os.tmpdir(), 's3-store-'));
  });
  after(async () => {
    await proxy?.close();
    await s3?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('head reports the sha256 the server computed', async () => {
    const bytes = randomBytes(300_000);
    const file = path.join(dir, 'reported');
    await fs.writeFile(file, bytes);
    const store = storeAt(s3.endpoint);
    await store.putFile('reported', file);
    assert.equal((await store.head('reported'))?.sha256, sha256(bytes));
    assert.equal((await store.checksums('reported'))?.sha256, sha256(bytes));
  });

  it('where the server reports no checksum, verification hashes the bytes it holds, never the sha256 courier wrote beside them', async () => {
    const bytes = randomBytes(300_000);
    const file = path.join(dir, 'unreported');
    await fs.writeFile(file, bytes);
    proxy.faults.stripChecksums = true;
    const store = storeAt(proxy.endpoint);
    const put = await store.putFile('unreported', file);
    assert.equal(put.sha256, sha256(bytes));
    // The bytes change on the server's disk after the upload (bit rot, another writer).
    const onDisk = path.join(s3.root, BUCKET, 'p', 'unreported');
    const damaged = Buffer.from(bytes);
    damaged[1234] ^= 0xff;
    await fs.writeFile(onDisk, damaged);

    const head = await store.head('unreported');
    assert.equal(head?.size, bytes.length);
    assert.equal(head?.sha256, undefined, 'no server checksum means none reported, not the metadata courier wrote');
    const checked = await store.checksums('unreported');
    assert.equal(checked?.sha256, sha256(damaged), 'the sha256 of what the server holds');
    assert.notEqual(checked?.sha256, put.sha256);
    assert.equal(checked?.md5, createHash('md5').update(damaged).digest('hex'));
    assert.equal(await store.checksums('absent'), undefined);
  });

  it('a server failing a quarter of requests (5xx, resets, bodies cut off) is ridden out: every upload and read succeeds', async () => {
    // Seeded, so the same requests meet the same faults every run. The SDK cannot retry a streamed body, so before,
    // the first upload that met a fault failed.
    const flaky = await startFaultProxy(s3.endpoint, { failRate: 0.25, kinds: ['5xx', 'reset', 'truncate'] }, seeded(42));
    try {
      const store = storeAt(flaky.endpoint);
      const objects = Array.from({ length: 10 }, (_, i) => randomBytes(200_000 + i));
      for (const [i, bytes] of objects.entries()) {
        const file = path.join(dir, `flaky-${i}`);
        await fs.writeFile(file, bytes);
        assert.equal((await store.putFile(`flaky/${i}`, file)).sha256, sha256(bytes));
      }
      for (const [i, bytes] of objects.entries()) {
        const into = Buffer.alloc(bytes.length);
        assert.equal(await store.getInto(`flaky/${i}`, { start: 0, length: bytes.length }, into), bytes.length);
        assert.equal(sha256(into), sha256(bytes), `object ${i} read back whole`);
      }
      const injected = flaky.injected['5xx'] + flaky.injected.reset + flaky.injected.truncate;
      assert.ok(injected >= 5, `faults were met: ${JSON.stringify(flaky.injected)}`);
    } finally {
      await flaky.close();
    }
  });

  it('an upload whose file cannot be read fails naming it, and neither the error nor the file escapes', async () => {
    const store = storeAt(s3.endpoint);
    const crashes: Error[] = [];
    const onCrash = (err: Error) => crashes.push(err);
    process.on('uncaughtException', onCrash);
    try {
      const uploadId = await store.startMultipart('unreadable');
      const missing = path.join(dir, 'gone-before-upload');
      await assert.rejects(
        store.uploadPart('unreadable', uploadId, 1, { file: missing, start: 0, length: 1000 }, { sha256: sha256(Buffer.alloc(1000)) }),
        (err: Error) => err.message.includes(missing),
      );
      await store.abortMultipart('unreadable', uploadId);
      // A retried upload leaves no file open behind it: a body the SDK gave up on was still reading its file.
      const flaky = await startFaultProxy(s3.endpoint, { failRate: 0.5, kinds: ['5xx', 'reset'] }, seeded(7));
      try {
        const file = path.join(dir, 'retried');
        await fs.writeFile(file, randomBytes(3 * 1024 * 1024));
        for (let i = 0; i < 4; i++) await storeAt(flaky.endpoint).putFile(`retried/${i}`, file);
        assert.ok(flaky.injected['5xx'] + flaky.injected.reset >= 1, 'faults were met');
        await new Promise((resolve) => setTimeout(resolve, 300));
        const open = (await fs.readdir('/proc/self/fd')).filter((fd) => {
          try {
            return fsSync.readlinkSync(`/proc/self/fd/${fd}`) === file;
          } catch {
            return false;
          }
        });
        assert.deepEqual(open, [], 'descriptors still open on the uploaded file');
      } finally {
        await flaky.close();
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(
        crashes.map((e) => e.message),
        [],
        'no error escapes to the process',
      );
    } finally {
      process.off('uncaughtException', onCrash);
    }
  });

  it('lists keys with their sizes from the listing alone', async () => {
    const store = storeAt(s3.endpoint);
    const file = path.join(dir, 'listed');
    await fs.writeFile(file, randomBytes(1000));
    await store.putFile('l/a', file);
    await store.putFile('l/b/c', file);
    const before = proxy.requests;
    const listed = await storeAt(proxy.endpoint).list('l/');
    assert.deepEqual(listed, [
      { key: 'l/a', size: 1000 },
      { key: 'l/b/c', size: 1000 },
    ]);
    assert.equal(proxy.requests - before, 1, 'one request for the page, no head per object');
  });
});
