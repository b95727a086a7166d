import fs from 'node:fs';
import { columnsProblem, lineRow, parseHead, rowLine } from './batch-text';
import type { Pipeline } from './pipelines';
import { recordChecker, RecordError, type EtlRecord, type Row } from './records';

/** Bytes read or written at a time: few calls, little memory. */
const PIECE = 256 * 1024;
/** Text parsed into rows at a time: little enough that its rows die young (see READ_PIECE in records.ts). */
const ROWS_PIECE = 16 * 1024;
/** A head line longer than this is not one. */
const MAX_HEAD = 1 << 20;

/** A batch's records as a load reads them: lines for a database's bulk path, or checked rows for statements. */
export interface BatchContent {
  /** The records as batch lines (COPY text, see batch-text.ts), in pieces; a batch file's own bytes. */
  lines(): AsyncIterable<Buffer>;
  /** The records as rows in the pipeline's column order, every field checked, a run at a time. */
  rows(): AsyncIterable<Row[]>;
  /**
   * The same rows once the batch is read whole, each parsed and checked only
   * as it is taken: for a load that must not wait on a read once it began (a
   * SQLite transaction), and keeps no row past its own insert, so rows die
   * young instead of filling the old generation a batch at a time.
   */
  whole(): Promise<Iterable<Row>>;
}

/** Rows already in memory and checked (a test's, or an earlier form of batch file read whole). */
export function rowsBatch(rows: Row[]): BatchContent {
  return {
    async *lines() {
      let text = '';
      for (const row of rows) {
        text += rowLine(row);
        if (text.length >= PIECE) {
          yield Buffer.from(text);
          text = '';
        }
      }
      if (text) yield Buffer.from(text);
    },
    async *rows() {
      for (let at = 0; at < rows.length; at += 5000) yield rows.slice(at, at + 5000);
    },
    whole: () => Promise.resolve(rows),
  };
}

/** Records keyed by column name, checked against the pipeline. */
export function recordsBatch(pipeline: Pipeline, records: unknown[]): BatchContent {
  const check = recordChecker(pipeline);
  const names = pipeline.columns.map((c) => c.name);
  return rowsBatch(
    records.map((data, i) => {
      const record: EtlRecord = check(data, `record ${i + 1}`);
      return names.map((name) => record[name]);
    }),
  );
}

/** The first line of a file and the bytes it takes, newline included. */
async function firstLine(file: string): Promise<{ line: string; bytes: number }> {
  const handle = await fs.promises.open(file, 'r');
  try {
    let buffer = Buffer.allocUnsafe(64 * 1024);
    for (let read = 0; ;) {
      if (read === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
      const { bytesRead } = await handle.read(buffer, read, buffer.length - read, read);
      const end = buffer.subarray(0, read + bytesRead).indexOf(0x0a, read);
      read += bytesRead;
      if (end >= 0) return { line: buffer.toString('utf8', 0, end), bytes: end + 1 };
      if (bytesRead === 0 || read >= MAX_HEAD) return { line: buffer.toString('utf8', 0, read), bytes: read };
    }
  } finally {
    await handle.close();
  }
}

/** Parses a batch file's lines in order, numbering them as the file does (its head is line 1). */
function lineParser(pipeline: Pipeline): (text: string) => Row {
  let line = 1;
  return (text) => {
    line++;
    if (text.includes('\r'))
      throw new RecordError(`line ${line}: holds a carriage return; a batch ends its lines with \\n alone and writes \\r for one in a value`);
    return lineRow(pipeline, text, line);
  };
}

/** A batch file's lines, parsed and checked a read at a time. */
async function* fileRows(file: string, start: number, pipeline: Pipeline): AsyncGenerator<Row[]> {
  let rest = '';
  const parse = lineParser(pipeline);
  for await (const chunk of fs.createReadStream(file, { start, encoding: 'utf8', highWaterMark: ROWS_PIECE })) {
    const lines = (rest + (chunk as string)).split('\n');
    rest = lines.pop()!;
    if (lines.length) yield lines.map(parse);
  }
  if (rest !== '') yield [parse(rest)];
}

/** The lines of a batch's text (without its head), each parsed as it is taken. */
function* textRows(text: string, pipeline: Pipeline): Generator<Row> {
  const parse = lineParser(pipeline);
  for (let at = 0; at < text.length;) {
    const end = text.indexOf('\n', at);
    const stop = end < 0 ? text.length : end;
    yield parse(text.slice(at, stop));
    at = stop + 1;
  }
}

/**
 * A batch file as T writes it, or of the earlier form (one JSON document,
 * read whole). A file that is neither, or whose columns are not the
 * pipeline's, throws a RecordError naming what is wrong.
 */
export async function openBatchFile(file: string, pipeline: Pipeline): Promise<BatchContent> {
  const { line, bytes } = await firstLine(file);
  const head = parseHead(line);
  if (!head) return recordsBatch(pipeline, await earlierForm(file));
  const problem = columnsProblem(head.columns, pipeline);
  if (problem) throw new RecordError(problem);
  return {
    lines: () => fs.createReadStream(file, { start: bytes, highWaterMark: PIECE }),
    rows: () => fileRows(file, bytes, pipeline),
    whole: async () => textRows((await fs.promises.readFile(file)).toString('utf8', bytes), pipeline),
  };
}

/** The records of a batch written before batches were tab-separated: one JSON document with a "records" array. */
async function earlierForm(file: string): Promise<unknown[]> {
  let data: { records?: unknown };
  try {
    data = JSON.parse(await fs.promises.readFile(file, 'utf8')) as { records?: unknown };
  } catch (err) {
    throw new RecordError(`neither a tab-separated batch (its first line is not a batch head) nor JSON: ${(err as Error).message}`);
  }
  if (!data || !Array.isArray(data.records)) throw new RecordError('has no "records" array');
  return data.records;
}
