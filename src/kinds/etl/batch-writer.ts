import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs/promises';
import type { Pipeline } from './pipelines';
import type { Row, Value } from './records';

/** Text gathered before it goes to the file: large enough to make few writes, small enough to keep memory flat. */
const PIECE = 256 * 1024;

/**
 * A row as the JSON object JSON.stringify gives for its record, written
 * without building the object: the keys are encoded once per pipeline.
 */
export function rowSerializer(pipeline: Pipeline): (row: Row) => string {
  const keys = pipeline.columns.map((c, i) => `${i ? ',' : '{'}${JSON.stringify(c.name)}:`);
  const value = (v: Value) => (typeof v === 'string' ? JSON.stringify(v) : v === null ? 'null' : String(v));
  return (row) => {
    let text = '';
    for (let i = 0; i < keys.length; i++) text += keys[i] + value(row[i]);
    return `${text}}`;
  };
}

/**
 * One batch file written as its rows arrive, in pieces, hashed as it goes:
 * valid JSON, one record per line, so an operator can still read and fix it
 * by hand. It appears under its name only once complete and on disk.
 */
export class BatchWriter {
  private readonly tmp: string;
  private readonly hash: Hash = createHash('sha256');
  private handle: Promise<fs.FileHandle>;
  private text: string;
  private rows = 0;

  constructor(
    /** The name the file takes once complete. */
    readonly file: string,
    head: { pipeline: string; source: string; index: number },
    private readonly serialize: (row: Row) => string,
  ) {
    this.tmp = `${file}.tmp`;
    this.handle = fs.open(this.tmp, 'w');
    this.handle.catch(() => undefined);
    this.text = `${JSON.stringify(head).slice(0, -1)},"records":[\n`;
  }

  get records(): number {
    return this.rows;
  }

  /** Adds a row; only when a piece is full is there a write to wait for (a promise per row would cost more than the row). */
  add(row: Row): Promise<void> | undefined {
    this.text += (this.rows++ ? ',\n' : '') + this.serialize(row);
    return this.text.length >= PIECE ? this.flush() : undefined;
  }

  /** Completes the file and names it; returns the sha256 of its bytes. */
  async finish(): Promise<string> {
    this.text += `${this.rows ? '\n' : ''}]}\n`;
    await this.flush();
    const handle = await this.handle;
    await handle.sync();
    await handle.close();
    await fs.rename(this.tmp, this.file);
    return this.hash.digest('hex');
  }

  /** Gives the file up (a bad record further on): nothing of it stays. */
  async discard(): Promise<void> {
    await (await this.handle.catch(() => undefined))?.close().catch(() => undefined);
    await fs.rm(this.tmp, { force: true });
  }

  private async flush(): Promise<void> {
    const bytes = Buffer.from(this.text);
    this.text = '';
    this.hash.update(bytes);
    const handle = await this.handle;
    for (let at = 0; at < bytes.length;) at += (await handle.write(bytes, at)).bytesWritten;
  }
}
