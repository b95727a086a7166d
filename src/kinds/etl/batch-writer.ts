import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs/promises';
import { fieldsLine, headLine } from './batch-text';
import type { Pipeline } from './pipelines';
import type { Row, Value } from './records';

/** Text gathered before it goes to the file: large enough to make few writes, small enough to keep memory flat. */
const PIECE = 256 * 1024;

/** Where a batch came from: its head names it. */
export interface BatchOrigin {
  pipeline: string;
  source: string;
  index: number;
}

/** How a batch file's text is made from records of type R: what opens it, each record, what closes it. */
export interface BatchForm<R> {
  open(origin: BatchOrigin): string;
  row(record: R, first: boolean): string;
  close(rows: number): string;
}

/**
 * A head line, then one tab-separated line per record (see batch-text.ts):
 * what a load sends to a database as it is. Its records come as batch fields already.
 */
export const tabSeparatedForm = (pipeline: Pipeline): BatchForm<string[]> => {
  const columns = pipeline.columns.map((c) => c.name);
  return { open: (origin) => headLine({ ...origin, columns }), row: fieldsLine, close: () => '' };
};

/** The form batches had before: one JSON document, a record per line. Jobs recorded before the change still write it. */
export const jsonForm = (pipeline: Pipeline): BatchForm<Row> => {
  const serialize = rowSerializer(pipeline);
  return {
    open: (origin) => `${JSON.stringify(origin).slice(0, -1)},"records":[\n`,
    row: (row, first) => (first ? '' : ',\n') + serialize(row),
    close: (rows) => `${rows ? '\n' : ''}]}\n`,
  };
};

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
 * a record per line, so an operator can still read and fix it by hand. It
 * appears under its name only once complete and on disk.
 */
export class BatchWriter<R> {
  private readonly tmp: string;
  private readonly hash: Hash = createHash('sha256');
  private handle: Promise<fs.FileHandle>;
  /**
   * Rows go into bytes as they come. Gathering them as a string instead kept a
   * piece's worth of string fragments alive across young collections, which
   * copied and promoted them: a third of a split's time went to the collector.
   */
  private readonly piece = Buffer.allocUnsafe(PIECE);
  private used = 0;
  private rows = 0;

  constructor(
    /** The name the file takes once complete. */
    readonly file: string,
    origin: BatchOrigin,
    private readonly form: BatchForm<R>,
  ) {
    const head = form.open(origin);
    // Checked before the file exists, so a refusal leaves nothing behind.
    if (Buffer.byteLength(head) > PIECE)
      throw new Error(`a batch's first line would take more than ${PIECE} bytes: the pipeline has too many columns or names too long`);
    this.used = this.piece.write(head);
    this.tmp = `${file}.tmp`;
    this.handle = fs.open(this.tmp, 'w');
    this.handle.catch(() => undefined);
  }

  get records(): number {
    return this.rows;
  }

  /** Adds a record; only when a piece is full is there a write to wait for (a promise per record would cost more than the record). */
  add(record: R): Promise<void> | undefined {
    return this.put(this.form.row(record, this.rows++ === 0));
  }

  /** Completes the file and names it; returns the sha256 of its bytes. */
  async finish(): Promise<string> {
    await this.put(this.form.close(this.rows));
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

  /** Adds text to the piece; a write to wait for only when the piece is full (or the text is larger than one). */
  private put(text: string): Promise<void> | undefined {
    // A UTF-16 unit is at most three UTF-8 bytes: text this short fits whatever it holds.
    if (this.used + text.length * 3 <= PIECE) {
      this.used += this.piece.write(text, this.used);
      return undefined;
    }
    return this.flush().then(() => {
      if (text.length * 3 <= PIECE) this.used = this.piece.write(text);
      else return this.write(Buffer.from(text));
    });
  }

  private async flush(): Promise<void> {
    const bytes = this.piece.subarray(0, this.used);
    this.used = 0;
    await this.write(bytes);
  }

  private async write(bytes: Buffer): Promise<void> {
    this.hash.update(bytes);
    const handle = await this.handle;
    for (let at = 0; at < bytes.length;) at += (await handle.write(bytes, at)).bytesWritten;
  }
}
