import type { Column, Pipeline } from './pipelines';
import { fromJson, fromText, RecordError, type FieldReader, type Row, type Value } from './records';

/**
 * A batch file's first line: where its records came from and the columns its
 * lines hold, in order. The lines after it are PostgreSQL's COPY text form,
 * which MariaDB's LOAD DATA reads with its defaults too, so a load sends the
 * file's bytes to the database as they are.
 */
export interface BatchHead {
  format: 'tsv';
  pipeline: string;
  source: string;
  index: number;
  columns: string[];
}

export const headLine = (head: Omit<BatchHead, 'format'>): string =>
  `${JSON.stringify({ format: 'tsv', pipeline: head.pipeline, source: head.source, index: head.index, columns: head.columns })}\n`;

/** The head a batch file's first line gives, or undefined when the line is not one (a batch of the earlier JSON form). */
export function parseHead(line: string): BatchHead | undefined {
  let head: unknown;
  try {
    head = JSON.parse(line);
  } catch {
    return undefined;
  }
  const h = head as Partial<BatchHead> | null;
  if (!h || h.format !== 'tsv') return undefined;
  if (!Array.isArray(h.columns) || !h.columns.every((c) => typeof c === 'string'))
    throw new RecordError('the first line says the batch is tab-separated but lists no "columns"');
  return h as BatchHead;
}

/** Why a batch of these columns cannot be loaded by this pipeline, if it cannot. */
export function columnsProblem(columns: string[], pipeline: Pipeline): string | undefined {
  const names = pipeline.columns.map((c) => c.name);
  if (columns.length === names.length && columns.every((c, i) => c === names[i])) return undefined;
  return `its columns (${columns.join(', ')}) are not the pipeline's (${names.join(', ')}); transform the source file again`;
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const UNESCAPES: Record<string, string> = { '\\': '\\', t: '\t', n: '\n', r: '\r' };

/** A value as a field: \N for none, backslash escapes for the separators and the escape itself, booleans as 1/0 (both databases read those). */
function field(value: Value): string {
  if (value === null) return '\\N';
  if (typeof value === 'string') return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]!) : value;
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}

/** A row's values (in the pipeline's column order) as a batch line's fields. */
export const rowFields = (row: Row): string[] => row.map(field);

/** A record's fields as one line of a batch file, its newline included (joined by hand: join took a third longer). */
export function fieldsLine(fields: string[]): string {
  let text = fields[0]!;
  for (let i = 1; i < fields.length; i++) text += `\t${fields[i]!}`;
  return `${text}\n`;
}

/** A row (values in the pipeline's column order) as one line of a batch file, its newline included. */
export const rowLine = (row: Row): string => fieldsLine(rowFields(row));

const INTEGER = /^-?\d+$/;
// Only decimal forms, which every database reads the same: not JavaScript's 0x10 or Infinity.
const NUMBER = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A short decimal without an exponent: every database reads it as the double
 * JavaScript does, and none can underflow it to zero (which PostgreSQL
 * refuses as out of range where the double's own form would say 0).
 */
const PLAIN_DECIMAL = /^-?(\d+\.?\d*|\.\d+)$/;
const PLAIN_DECIMAL_MAX = 20;

/**
 * A source file's fields straight into batch fields, each checked as it
 * would be for a row. A number already in the batch's own form is kept as
 * written: it reads back as the same value, and making its text again (a
 * double's shortest form most of all) cost a fifth of a split.
 */
export const batchFieldReader: FieldReader<string> = {
  text(column, raw, line) {
    const value = fromText(column, raw, line);
    if (typeof value === 'number') {
      if (column.type === 'integer' ? INTEGER.test(raw) : raw.length <= PLAIN_DECIMAL_MAX && PLAIN_DECIMAL.test(raw)) return raw;
    }
    return field(value);
  },
  json: (column, value, where) => field(fromJson(column, value, where)),
};

const TRUE = ['1', 't', 'true', 'y', 'yes', 'on'];
const FALSE = ['0', 'f', 'false', 'n', 'no', 'off'];

function unescape(text: string, where: string): string {
  return text.replace(/\\(.?)/g, (_, c: string) => {
    const plain = UNESCAPES[c];
    if (plain === undefined) throw new RecordError(`${where}: "\\${c}" is not an escape a batch holds (\\\\, \\t, \\n, \\r, or \\N alone)`);
    return plain;
  });
}

/** Where a field is, for a message: built only then, as a string per field would cost more than its check. */
const at = (line: number, column: Column) => `line ${line}: column "${column.name}"`;

/**
 * A field as its column's value, held to what a batch's lines may say: the
 * writer's own forms, and for booleans the words PostgreSQL reads. A batch
 * fixed by hand is checked against exactly what the databases take from it.
 */
function fieldValue(column: Column, raw: string, line: number): Value {
  if (raw === '\\N') {
    if (column.required) throw new RecordError(`${at(line, column)} is \\N (no value) but required`);
    return null;
  }
  switch (column.type) {
    case 'string':
      return raw.includes('\\') ? unescape(raw, at(line, column)) : raw;
    case 'integer': {
      const n = Number(raw);
      if (!Number.isSafeInteger(n) || !INTEGER.test(raw))
        throw new RecordError(`${at(line, column)}: ${JSON.stringify(raw)} is not an integer (\\N for none)`);
      return n;
    }
    case 'number': {
      const n = Number(raw);
      if (!Number.isFinite(n) || !NUMBER.test(raw))
        throw new RecordError(`${at(line, column)}: ${JSON.stringify(raw)} is not a decimal number (\\N for none)`);
      return n;
    }
    case 'boolean': {
      // What the writer writes, before the words a person may.
      if (raw === '1') return true;
      if (raw === '0') return false;
      const word = raw.toLowerCase();
      if (TRUE.includes(word)) return true;
      if (FALSE.includes(word)) return false;
      throw new RecordError(`${at(line, column)}: ${JSON.stringify(raw)} is not a boolean (1/0, true/false, \\N for none)`);
    }
  }
}

/** One line of a batch (without its newline) as a row, every field checked against the pipeline; `number` is its line in the file. */
export function lineRow(pipeline: Pipeline, line: string, number: number): Row {
  const fields = line.split('\t');
  const { columns } = pipeline;
  if (fields.length !== columns.length)
    throw new RecordError(`line ${number}: has ${fields.length} field(s) separated by tabs, the batch has ${columns.length} columns`);
  const row: Row = new Array<Value>(columns.length);
  for (let i = 0; i < columns.length; i++) row[i] = fieldValue(columns[i]!, fields[i]!, number);
  return row;
}
