import fs from 'node:fs/promises';
import path from 'node:path';
import type { ChecksumSet } from '../jobs/fields';

/** What split records for each part, beside the part, once the part is durable. */
export interface PartRecord {
  index: number;
  offset: number;
  size: number;
  sha256: string;
  md5?: string;
}

export interface StagingRequest {
  jobId: string;
  name: string;
  source: string;
  partSize: number;
  checksums: ChecksumSet;
}

/** One staging sub-directory per backup name, distinct from the source's directory. */
export class StagingDir {
  readonly dir: string;

  constructor(stagingRoot: string, name: string) {
    this.dir = path.join(stagingRoot, name);
  }

  partPath(index: number): string {
    return path.join(this.dir, `part-${String(index).padStart(6, '0')}`);
  }

  recordPath(index: number): string {
    return `${this.partPath(index)}.json`;
  }

  get requestPath(): string {
    return path.join(this.dir, 'request.json');
  }

  async readRequest(): Promise<StagingRequest | undefined> {
    return readJson<StagingRequest>(this.requestPath);
  }

  async writeRequest(request: StagingRequest): Promise<void> {
    await writeJsonAtomic(this.requestPath, request);
  }

  async readRecord(index: number): Promise<PartRecord | undefined> {
    return readJson<PartRecord>(this.recordPath(index));
  }

  async writeRecord(record: PartRecord): Promise<void> {
    await writeJsonAtomic(this.recordPath(record.index), record);
  }

  /** Size of the part file on disk, or undefined when it is gone (uploaded and deleted). */
  async partSize(index: number): Promise<number | undefined> {
    try {
      return (await fs.stat(this.partPath(index))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Write-then-rename so a reader sees the old file or the whole new one, never half of it. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2));
}

/** Writes the text under a temporary name, flushed, then renames it into place: a reader never sees half a file. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  await fs.writeFile(tmp, text, { flush: true });
  await fs.rename(tmp, file);
}
