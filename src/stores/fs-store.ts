import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { hashFile } from '../hashing/hash-file';
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

async function fsyncPath(target: string): Promise<void> {
  const handle = await fs.open(target, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes a file if it is there: one unlink, where fs.rm first looks at what it removes. */
async function unlinkIfThere(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/** Objects up to this size are hashed as they arrive: a trip to a hash thread would cost more than it saves. */
const HASH_INLINE = 1024 * 1024;

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
  /** Directories this store made or found: a put of a small object would otherwise spend three of its system calls on mkdir. */
  private readonly knownDirs = new Set<string>();

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
    const tmp = await this.tmpPath('part');
    // Small objects are hashed as they arrive; a large one is hashed once written, on the hash threads, so the event loop only moves bytes.
    let inline: { sha256: Hash; md5?: Hash } | undefined = { sha256: createHash('sha256'), ...(options.md5 ? { md5: createHash('md5') } : {}) };
    let size = 0;
    const handle = await this.inDir(this.tmpDir, () => fs.open(tmp, 'w'));
    try {
      for await (const data of body) {
        options.signal?.throwIfAborted();
        const chunk = data as Buffer;
        if (inline && size + chunk.length > HASH_INLINE) inline = undefined;
        inline?.sha256.update(chunk);
        inline?.md5?.update(chunk);
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
    if (inline) digests = { sha256: inline.sha256.digest('hex'), ...(inline.md5 ? { md5: inline.md5.digest('hex') } : {}) };
    else {
      try {
        const hashed = await hashFile({ file: tmp, algorithms: options.md5 ? ['sha256', 'md5'] : ['sha256'] }, { signal: options.signal });
        if (hashed.size !== size) throw new Error(`${tmp} holds ${hashed.size} bytes after ${size} were written to it`);
        digests = { sha256: hashed.digests.sha256!, ...(hashed.digests.md5 ? { md5: hashed.digests.md5 } : {}) };
      } catch (err) {
        await fs.rm(tmp, { force: true });
        throw err;
      }
    }
    return this.commit(key, tmp, { key, size, ...digests }, options);
  }

  /**
   * Adopts a local file by hard link when it lives on the store's filesystem
   * (a staged part never changes in place: split writes a new file and renames
   * it), so the bytes are not copied; they are still re-read and hashed, and a
   * file that no longer matches the expected checksum is refused as in put.
   */
  async putFile(key: string, file: string, options: PutOptions = {}): Promise<CheckedObject> {
    const tmp = await this.tmpPath('link');
    try {
      await this.inDir(this.tmpDir, () => fs.link(file, tmp));
    } catch (err) {
      if (!['EXDEV', 'EPERM', 'ENOTSUP', 'EMLINK'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      return this.put(key, createReadStream(file, { highWaterMark: 1024 * 1024 }), options);
    }
    try {
      const { size, digests } = await hashFile(
        { file: tmp, algorithms: options.md5 ? ['sha256', 'md5'] : ['sha256'] },
        { signal: options.signal, onProgress: options.onProgress },
      );
      const info: CheckedObject = { key, size, sha256: digests.sha256!, ...(digests.md5 ? { md5: digests.md5 } : {}) };
      await fsyncPath(tmp);
      return await this.commit(key, tmp, info, options);
    } finally {
      // Renaming onto another link of the same file changes nothing and leaves tmp behind.
      await fs.rm(tmp, { force: true });
    }
  }

  /** In the store's own temp dir: on its filesystem, so putFile links the file instead of copying it. */
  spoolPath(kind: string): Promise<string> {
    return this.tmpPath(kind);
  }

  private async tmpPath(kind: string): Promise<string> {
    await this.ensureDir(this.tmpDir);
    return path.join(this.tmpDir, `${randomUUID()}.${kind}`);
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    await fs.mkdir(dir, { recursive: true });
    // Bounded: a store of many job directories must not grow this without end.
    if (this.knownDirs.size >= 10_000) this.knownDirs.clear();
    this.knownDirs.add(dir);
  }

  /** Runs a step that creates an entry in `dir`; a directory removed behind the store's back is made again. */
  private async inDir<T>(dir: string, step: () => Promise<T>): Promise<T> {
    await this.ensureDir(dir);
    try {
      return await step();
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.knownDirs.delete(dir);
      await this.ensureDir(dir);
      return step();
    }
  }

  /** Checks the received bytes against what the caller expects, then makes tmp the object. */
  private async commit(key: string, tmp: string, info: CheckedObject, options: PutOptions): Promise<CheckedObject> {
    const target = this.objectPath(key);
    const mismatch =
      (options.expectedSha256 !== undefined && options.expectedSha256 !== info.sha256) ||
      (options.expectedSize !== undefined && options.expectedSize !== info.size);
    if (mismatch) {
      await fs.rm(tmp, { force: true });
      throw new ChecksumMismatchError(
        key,
        `sha256 ${options.expectedSha256 ?? '(any)'} / ${options.expectedSize ?? '(any)'} bytes`,
        `sha256 ${info.sha256} / ${info.size} bytes`,
      );
    }
    const metaPath = this.metaPath(key);
    // Drop the old metadata first: the new bytes must never be paired with the old checksum.
    await unlinkIfThere(metaPath);
    try {
      await this.inDir(path.dirname(target), () => fs.rename(tmp, target));
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    await fsyncPath(path.dirname(target));
    await this.writeMeta(metaPath, info);
    return info;
  }

  private async writeMeta(metaPath: string, info: ObjectInfo): Promise<void> {
    const tmp = await this.tmpPath('meta');
    try {
      await this.inDir(this.tmpDir, () => fs.writeFile(tmp, JSON.stringify(info), { flush: true }));
      await this.inDir(path.dirname(metaPath), () => fs.rename(tmp, metaPath));
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    await fsyncPath(path.dirname(metaPath));
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
