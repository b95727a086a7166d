import fs from 'node:fs';
import Papa from 'papaparse';
import type { Column, Pipeline } from './pipelines';

export type Value = string | number | boolean | null;
export type EtlRecord = Record<string, Value>;
/** A record as its values in the pipeline's column order: what a file is read into, without an object per record. */
export type Row = Value[];

/**
 * A stretch of a file that starts at a line: its bytes [start, end), the
 * lines before it (so messages name the file's own line numbers) and, for CSV
 * past the first line, the header the file opened with.
 */
export interface FileRange {
  start: number;
  end: number;
  linesBefore: number;
  header?: string[];
}

/**
 * Text read at a time. Small on purpose: a read's rows are alive until the
 * last of them is written, and with more than a young generation holds (a
 * host worker's is 2 MiB) they are copied and promoted before they die. 16 KiB
 * split a file three times faster than 256 KiB there.
 */
const READ_PIECE = 16 * 1024;

const streamOf = (file: string, range?: FileRange) =>
  fs.createReadStream(file, { encoding: 'utf8', highWaterMark: READ_PIECE, ...(range ? { start: range.start, end: range.end - 1 } : {}) });

/** A record that does not fit the pipeline; the message names the line and the column. */
export class RecordError extends Error {}

const TRUE = ['true', '1', 'yes', 'y', 't'];
const FALSE = ['false', '0', 'no', 'n', 'f'];
const INTEGER = /^[+-]?\d+$/;

/** A CSV field as its column's value, checked; `line` is where its record starts, for the message. */
export function fromText(column: Column, raw: string, line: number): Value {
  if (raw === '') {
    if (column.required) throw new RecordError(`line ${line}: column "${column.name}" is empty but required`);
    return null;
  }
  switch (column.type) {
    case 'string':
      return raw;
    case 'integer': {
      const n = Number(raw);
      if (!Number.isSafeInteger(n) || !INTEGER.test(raw.trim()))
        throw new RecordError(`line ${line}: column "${column.name}": ${JSON.stringify(raw)} is not an integer`);
      return n;
    }
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n))
        throw new RecordError(`line ${line}: column "${column.name}": ${JSON.stringify(raw)} is not a number`);
      return n;
    }
    case 'boolean': {
      const lower = raw.trim().toLowerCase();
      if (TRUE.includes(lower)) return true;
      if (FALSE.includes(lower)) return false;
      throw new RecordError(`line ${line}: column "${column.name}": ${JSON.stringify(raw)} is not a boolean (true/false, 1/0, yes/no)`);
    }
  }
}

/** A JSON field as its column's value, checked; `where` names the record for the message. */
export function fromJson(column: Column, value: unknown, where: string): Value {
  if (value === null || value === undefined || value === '') {
    if (column.required) throw new RecordError(`${where}: field "${column.name}" is missing but required`);
    return null;
  }
  const ok =
    (column.type === 'string' && typeof value === 'string') ||
    (column.type === 'integer' && Number.isSafeInteger(value)) ||
    (column.type === 'number' && typeof value === 'number' && Number.isFinite(value)) ||
    (column.type === 'boolean' && typeof value === 'boolean');
  if (!ok)
    throw new RecordError(
      `${where}: field "${column.name}": ${JSON.stringify(value)} is not ${column.type === 'integer' ? 'an' : 'a'} ${column.type}`,
    );
  return value as Value;
}

/**
 * How a record's fields are taken: as checked values (a Row), or as what a
 * later step writes of them (batch-text.ts), made while each raw field is at hand.
 */
export interface FieldReader<F> {
  text(column: Column, raw: string, line: number): F;
  json(column: Column, value: unknown, where: string): F;
}

export const valueReader: FieldReader<Value> = { text: fromText, json: fromJson };

/** A JSON record's fields in the pipeline's column order, through `reader`; a field the pipeline lacks throws. */
function jsonFields<F>(pipeline: Pipeline, reader: FieldReader<F>): (data: unknown, where: string) => F[] {
  const known = new Set(pipeline.columns.map((c) => c.name));
  return (data, where) => {
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new RecordError(`${where}: not a JSON object`);
    for (const field in data)
      if (!known.has(field)) throw new RecordError(`${where}: unexpected field "${field}"; the pipeline has ${[...known].join(', ')}`);
    return pipeline.columns.map((column) => reader.json(column, (data as Record<string, unknown>)[column.name], where));
  };
}

/** Checks records already in JSON form (a batch file, a JSON line) against the pipeline's columns. */
export function recordChecker(pipeline: Pipeline): (data: unknown, where: string) => EtlRecord {
  const fields = jsonFields(pipeline, valueReader);
  return (data, where) => {
    const values = fields(data, where);
    const record: EtlRecord = {};
    pipeline.columns.forEach((column, i) => (record[column.name] = values[i]!));
    return record;
  };
}

interface CsvStretch {
  rows: string[][];
  /** Where the text stops being CSV: the message and the row of this stretch it falls in. */
  broken?: { message: string; row: number };
}

/**
 * The file's CSV rows, a stream chunk at a time. Papa Parse is about three
 * times faster than csv-parse here; it is paused while the caller works on a
 * chunk, so a slow consumer does not make it buffer the file.
 */
async function* csvStretches(file: string, range?: FileRange): AsyncGenerator<CsvStretch> {
  const stream = streamOf(file, range);
  const ready: CsvStretch[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let failure: Error | undefined;
  let parser: Papa.Parser | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  Papa.parse<string[], NodeJS.ReadableStream>(stream, {
    skipEmptyLines: false,
    // Always a comma, as the pipeline's CSV is defined; guessing could split a one-column file at some other character.
    delimiter: ',',
    chunk(results, p) {
      parser = p;
      const broken = results.errors.find((e) => e.type === 'Quotes');
      ready.push({ rows: results.data, ...(broken ? { broken: { message: broken.message, row: broken.row ?? 0 } } : {}) });
      p.pause();
      notify();
    },
    complete() {
      ended = true;
      notify();
    },
    error(err: Error) {
      failure = err;
      notify();
    },
  });
  try {
    for (;;) {
      if (failure) throw failure;
      const rows = ready.shift();
      if (rows) {
        yield rows;
        parser?.resume();
        continue;
      }
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.destroy();
  }
}

function headerProblem(header: string[], pipeline: Pipeline): string | undefined {
  const missing = pipeline.columns.filter((c) => !header.includes(c.name)).map((c) => c.name);
  const extra = header.filter((h) => !pipeline.columns.some((c) => c.name === h));
  if (!missing.length && !extra.length) return undefined;
  return (
    `header ${JSON.stringify(header.join(','))} does not match the pipeline:` +
    (missing.length ? ` missing ${missing.join(', ')}` : '') +
    (extra.length ? `${missing.length ? ';' : ''} unexpected ${extra.join(', ')}` : '')
  );
}

function newlinesIn(row: string[]): number {
  let n = 0;
  for (const field of row) if (field.includes('\n')) n += field.split('\n').length - 1;
  return n;
}

/** The header of a CSV file as its first row reads. */
export const headerOf = (row: string[]): string[] => row.map((h, i) => (i === 0 ? h.replace(/^\uFEFF/, '') : h).trim());

async function* csvRecords<F>(file: string, pipeline: Pipeline, reader: FieldReader<F>, range?: FileRange): AsyncGenerator<F[][]> {
  let header = range?.header;
  const columnsOf = (names: string[]) => pipeline.columns.map((column) => ({ column, at: names.indexOf(column.name) }));
  let columns = header ? columnsOf(header) : [];
  // The line a row starts on, for messages: rows plus the newlines inside quoted fields.
  let line = range?.linesBefore ?? 0;
  for await (const { rows, broken } of csvStretches(file, range)) {
    const records: F[][] = [];
    for (const [i, row] of rows.entries()) {
      if (broken && i === broken.row) throw new RecordError(`line ${line + 1}: not valid CSV: ${broken.message}`);
      line++;
      const start = line;
      line += newlinesIn(row);
      if (row.length === 1 && row[0] === '') continue;
      if (!header) {
        header = headerOf(row);
        const problem = headerProblem(header, pipeline);
        if (problem) throw new RecordError(problem);
        columns = columnsOf(header);
        continue;
      }
      if (row.length !== header.length)
        throw new RecordError(`line ${start}: has ${row.length} field(s), the header has ${header.length}; not valid CSV`);
      const values = new Array<F>(columns.length);
      for (let c = 0; c < columns.length; c++) values[c] = reader.text(columns[c].column, row[columns[c].at], start);
      records.push(values);
    }
    if (records.length) yield records;
  }
  if (!header) throw new RecordError('the file is empty: a CSV file needs at least its header line');
}

async function* jsonlRecords<F>(file: string, pipeline: Pipeline, reader: FieldReader<F>, range?: FileRange): AsyncGenerator<F[][]> {
  let n = range?.linesBefore ?? 0;
  let rest = '';
  const fields = jsonFields(pipeline, reader);
  const parse = (line: string, records: F[][]) => {
    n++;
    if (line.trim() === '') return;
    let data: unknown;
    try {
      data = JSON.parse(line);
    } catch (err) {
      throw new RecordError(`line ${n}: not valid JSON: ${(err as Error).message}`);
    }
    records.push(fields(data, `line ${n}`));
  };
  for await (const chunk of streamOf(file, range)) {
    const lines = (rest + (chunk as string)).split('\n');
    rest = lines.pop()!;
    const records: F[][] = [];
    for (const line of lines) parse(line, records);
    if (records.length) yield records;
  }
  const records: F[][] = [];
  if (rest !== '') parse(rest, records);
  if (records.length) yield records;
}

export function formatOf(file: string, pipeline: Pipeline): 'csv' | 'jsonl' {
  if (pipeline.format !== 'auto') return pipeline.format;
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.(jsonl|ndjson)$/i.test(file)) return 'jsonl';
  throw new RecordError("cannot tell the format from the name: end it in .csv, .jsonl or .ndjson, or set the pipeline's format");
}

/**
 * The file's records, checked one by one, in the runs the file is read in
 * (a few thousand at a time), each as its fields through `reader`; the first
 * bad one throws a RecordError.
 */
export async function* readRecords<F>(file: string, pipeline: Pipeline, reader: FieldReader<F>, range?: FileRange): AsyncGenerator<F[][]> {
  yield* formatOf(file, pipeline) === 'csv' ? csvRecords(file, pipeline, reader, range) : jsonlRecords(file, pipeline, reader, range);
}

/** The file's records as rows of checked values (see readRecords). */
export const readRows = (file: string, pipeline: Pipeline, range?: FileRange): AsyncGenerator<Row[]> =>
  readRecords(file, pipeline, valueReader, range);
