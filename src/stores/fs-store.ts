import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { hashFile } from '../hashing/hash-file';
import { commitObject, type CommitRequest } from './fs-commit-thread';
import {
  assertValidKey,
  ChecksumMismatchError,
  ObjectNotFoundError,
  type CheckedObject,
  type GetOptions,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type RangeReader,
} from './store';

/** Removes a file if it is there: one unlink, where fs.rm first looks at what it removes. */
async function unlinkIfThere(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Objects up to this size are gathered in memory, hashed at once and handed whole to a commit thread. */
const SMALL_OBJECT = 1024 * 1024;

/** Reads a body up to `limit` bytes: all of it if it ends there, else what was read followed by the rest. */
async function gather(
  body: Readable,
  limit: number,
  signal?: AbortSignal,
): Promise<{ whole: Buffer; rest?: never } | { whole?: never; rest: AsyncIterable<Buffer> }> {
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let size = 0;
  for (;;) {
    signal?.throwIfAborted();
    const next = await iterator.next();
    if (next.done) return { whole: head.length === 1 ? head[0]! : Buffer.concat(head) };
    head.push(next.value);
    size += next.value.length;
    if (size > limit) break;
  }
  async function* rest() {
    yield* head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { rest: rest() };
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * A directory used as an object store. Object bytes live under `objects/`, their
 * checksums under `meta/`. A put writes a temp file, fsyncs and renames it, and
 * writes the metadata last: an object without metadata counts as absent, so a
 * crash mid-put never leaves something that looks committed.
 */
export class FsStore implements ObjectStore {
  readonly description: string;
  private readonly objectsDir: string;
  private readonly metaDir: string;
  private readonly tmpDir: string;
  /** Whether the temp dir is known to be there: each mkdir is a trip through libuv's pool. */
  private tmpDirMade = false;

  constructor(readonly root: string) {
    this.description = `fs store ${root}`;
    this.objectsDir = path.join(root, 'objects');
    this.metaDir = path.join(root, 'meta');
    this.tmpDir = path.join(root, 'tmp');
  }

  private objectPath(key: string): string {
    assertValidKey(key);
    return path.join(this.objectsDir, key);
  }

  private metaPath(key: string): string {
    return path.join(this.metaDir, `${key}.json`);
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<CheckedObject> {
    const target = this.objectPath(key);
    const gathered = await gather(body, SMALL_OBJECT, options.signal);
    if (gathered.whole) {
      // Most puts (records, lists, snapshots): hashed here, written and committed by one request to a commit thread.
      const bytes = gathered.whole;
      const info: CheckedObject = {
        key,
        size: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        ...(options.md5 ? { md5: createHash('md5').update(bytes).digest('hex') } : {}),
      };
      options.onProgress?.(bytes.length);
      return this.commit(target, { tmp: this.tmpName('part'), bytes }, info, options);
    }
    // A large one is written as it arrives and hashed once written, on the hash threads, so the event loop only moves bytes.
    const tmp = await this.tmpPath('part');
    let size = 0;
    const handle = await this.inTmpDir(() => fs.open(tmp, 'w'));
    try {
      for await (const chunk of gathered.rest) {
        options.signal?.throwIfAborted();
        await handle.write(chunk);
        size += chunk.length;
        options.onProgress?.(size);
      }
      await handle.sync();
    } catch (err) {
      body.destroy();
      await handle.close().catch(() => undefined);
      await fs.rm(tmp, { force: true });
      throw err;
    }
    await handle.close();
    let digests: { sha256: string; md5?: string };
    try {
      const hashed = await hashFile({ file: tmp, algorithms: options.md5 ? ['sha256', 'md5'] : ['sha256'] }, { signal: options.signal });
      if (hashed.size !== size) throw new Error(`${tmp} holds ${hashed.size} bytes after ${size} were written to it`);
      digests = { sha256: hashed.digests.sha256!, ...(hashed.digests.md5 ? { md5: hashed.digests.md5 } : {}) };
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    return this.commit(target, { tmp }, { key, size, ...digests }, options);
  }

  /**
   * Adopts a local file by hard link when it lives on the store's filesystem
   * (a staged part never changes in place: split writes a new file and renames
   * it), so the bytes are not copied; they are still re-read and hashed, and a
   * file that no longer matches the expected checksum is refused as in put.
   */
  async putFile(key: string, file: string, options: PutOptions = {}): Promise<CheckedObject> {
    const target = this.objectPath(key);
    const tmp = await this.tmpPath('link');
    try {
      await this.inTmpDir(() => fs.link(file, tmp));
    } catch (err) {
      if (!['EXDEV', 'EPERM', 'ENOTSUP', 'EMLINK'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      return this.put(key, createReadStream(file, { highWaterMark: 1024 * 1024 }), options);
    }
    let info: CheckedObject;
    try {
      const { size, digests } = await hashFile(
        { file: tmp, algorithms: options.md5 ? ['sha256', 'md5'] : ['sha256'] },
        { signal: options.signal, onProgress: options.onProgress },
      );
      info = { key, size, sha256: digests.sha256!, ...(digests.md5 ? { md5: digests.md5 } : {}) };
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    return this.commit(target, { tmp, fsyncTmp: true, tmpMayBeLink: true }, info, options);
  }

  /** In the store's own temp dir: on its filesystem, so putFile links the file instead of copying it. */
  spoolPath(kind: string): Promise<string> {
    return this.tmpPath(kind);
  }

  private tmpName(kind: string): string {
    return path.join(this.tmpDir, `${randomUUID()}.${kind}`);
  }

  private async tmpPath(kind: string): Promise<string> {
    await this.ensureTmpDir();
    return this.tmpName(kind);
  }

  private async ensureTmpDir(): Promise<void> {
    if (this.tmpDirMade) return;
    await fs.mkdir(this.tmpDir, { recursive: true });
    this.tmpDirMade = true;
  }

  /** Runs a step that creates a file in the temp dir; a temp dir removed behind the store's back is made again. */
  private async inTmpDir<T>(step: () => Promise<T>): Promise<T> {
    await this.ensureTmpDir();
    try {
      return await step();
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.tmpDirMade = false;
      await this.ensureTmpDir();
      return step();
    }
  }

  /** Checks the received bytes against what the caller expects, then makes them the object (see commitObject). */
  private async commit(
    target: string,
    source: Pick<CommitRequest, 'tmp' | 'bytes' | 'fsyncTmp' | 'tmpMayBeLink'>,
    info: CheckedObject,
    options: PutOptions,
  ): Promise<CheckedObject> {
    const mismatch =
      (options.expectedSha256 !== undefined && options.expectedSha256 !== info.sha256) ||
      (options.expectedSize !== undefined && options.expectedSize !== info.size);
    if (mismatch) {
      if (!source.bytes) await fs.rm(source.tmp, { force: true });
      throw new ChecksumMismatchError(
        info.key,
        `sha256 ${options.expectedSha256 ?? '(any)'} / ${options.expectedSize ?? '(any)'} bytes`,
        `sha256 ${info.sha256} / ${info.size} bytes`,
      );
    }
    try {
      options.signal?.throwIfAborted();
      await commitObject({
        ...source,
        tmpDir: this.tmpDir,
        target,
        metaPath: this.metaPath(info.key),
        metaTmp: this.tmpName('meta'),
        meta: JSON.stringify(info),
      });
    } catch (err) {
      if (!source.bytes) await fs.rm(source.tmp, { force: true });
      throw err;
    }
    return info;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const target = this.objectPath(key);
    let info: ObjectInfo;
    try {
      info = JSON.parse(await fs.readFile(this.metaPath(key), 'utf8')) as ObjectInfo;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    try {
      const stat = await fs.stat(target);
      // Bytes truncated behind the store's back are not the object the metadata describes.
      return stat.size === info.size ? info : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** The store hashed the bytes itself when it took them, and head finds them the size it recorded. */
  async checksums(key: string): Promise<CheckedObject | undefined> {
    return (await this.head(key)) as CheckedObject | undefined;
  }

  async get(key: string, options: GetOptions = {}): Promise<Readable> {
    if (!(await this.head(key))) throw new ObjectNotFoundError(key, this.description);
    const { range } = options;
    if (range?.length === 0) return Readable.from([]);
    return createReadStream(this.objectPath(key), {
      signal: options.signal,
      highWaterMark: 1024 * 1024,
      ...(range ? { start: range.start, end: range.start + range.length - 1 } : {}),
    });
  }

  async getInto(key: string, range: { start: number; length: number }, into: Buffer, options: Pick<GetOptions, 'signal'> = {}): Promise<number> {
    const reader = await this.openRanges(key, options);
    try {
      return await reader.read(range, into);
    } finally {
      await reader.close();
    }
  }

  async openRanges(key: string, options: Pick<GetOptions, 'signal'> = {}): Promise<RangeReader> {
    if (!(await this.head(key))) throw new ObjectNotFoundError(key, this.description);
    const handle = await fs.open(this.objectPath(key), 'r');
    return {
      async read(range, into) {
        let at = 0;
        while (at < range.length) {
          options.signal?.throwIfAborted();
          const { bytesRead } = await handle.read(into, at, range.length - at, range.start + at);
          if (bytesRead === 0) break;
          at += bytesRead;
        }
        return at;
      },
      close: () => handle.close(),
    };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const base = path.join(this.metaDir, prefix);
    const found: ObjectInfo[] = [];
    let entries: string[];
    try {
      entries = await fs.readdir(base, { recursive: true });
    } catch (err) {
      if (isNotFound(err)) return found;
      throw err;
    }
    for (const entry of entries.sort()) {
      if (!entry.endsWith('.json')) continue;
      const key = path.posix.join(prefix, entry.slice(0, -'.json'.length));
      const info = await this.head(key);
      if (info) found.push(info);
    }
    return found;
  }

  async delete(key: string): Promise<void> {
    await unlinkIfThere(this.metaPath(key));
    await unlinkIfThere(this.objectPath(key));
  }
}
