import fs from 'node:fs';
import readline from 'node:readline';
import { parse as parseCsv, CsvError } from 'csv-parse';
import type { Column, Pipeline } from './pipelines';

export type Value = string | number | boolean | null;
export type EtlRecord = Record<string, Value>;

/** A record that does not fit the pipeline; the message names the line and the column. */
export class RecordError extends Error {}

const TRUE = ['true', '1', 'yes', 'y', 't'];
const FALSE = ['false', '0', 'no', 'n', 'f'];

function fromText(column: Column, raw: string, where: string): Value {
  if (raw === '') {
    if (column.required) throw new RecordError(`${where}: column "${column.name}" is empty but required`);
    return null;
  }
  switch (column.type) {
    case 'string':
      return raw;
    case 'integer': {
      const n = Number(raw);
      if (!/^[+-]?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n))
        throw new RecordError(`${where}: column "${column.name}": ${JSON.stringify(raw)} is not an integer`);
      return n;
    }
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n))
        throw new RecordError(`${where}: column "${column.name}": ${JSON.stringify(raw)} is not a number`);
      return n;
    }
    case 'boolean': {
      const lower = raw.trim().toLowerCase();
      if (TRUE.includes(lower)) return true;
      if (FALSE.includes(lower)) return false;
      throw new RecordError(`${where}: column "${column.name}": ${JSON.stringify(raw)} is not a boolean (true/false, 1/0, yes/no)`);
    }
  }
}

function fromJson(column: Column, value: unknown, where: string): Value {
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

/** Checks a record already in JSON form (a batch file) against the pipeline's columns. */
export function checkRecord(pipeline: Pipeline, data: unknown, where: string): EtlRecord {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new RecordError(`${where}: not a JSON object`);
  const known = new Set(pipeline.columns.map((c) => c.name));
  for (const field of Object.keys(data))
    if (!known.has(field)) throw new RecordError(`${where}: unexpected field "${field}"; the pipeline has ${[...known].join(', ')}`);
  const record: EtlRecord = {};
  for (const column of pipeline.columns) record[column.name] = fromJson(column, (data as Record<string, unknown>)[column.name], where);
  return record;
}

async function* csvRecords(file: string, pipeline: Pipeline): AsyncGenerator<EtlRecord> {
  const parser = fs.createReadStream(file).pipe(parseCsv({ bom: true, skip_empty_lines: true, info: true }));
  let header: string[] | undefined;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const where = `line ${info.lines}`;
      if (!header) {
        header = record.map((h) => h.trim());
        const missing = pipeline.columns.filter((c) => !header!.includes(c.name)).map((c) => c.name);
        const extra = header.filter((h) => !pipeline.columns.some((c) => c.name === h));
        if (missing.length || extra.length) {
          throw new RecordError(
            `header ${JSON.stringify(header.join(','))} does not match the pipeline:` +
              (missing.length ? ` missing ${missing.join(', ')}` : '') +
              (extra.length ? `${missing.length ? ';' : ''} unexpected ${extra.join(', ')}` : ''),
          );
        }
        continue;
      }
      const row: EtlRecord = {};
      for (const column of pipeline.columns) row[column.name] = fromText(column, record[header.indexOf(column.name)] ?? '', where);
      yield row;
    }
  } catch (err) {
    if (err instanceof CsvError) throw new RecordError(`not valid CSV: ${err.message}`);
    throw err;
  }
  if (!header) throw new RecordError('the file is empty: a CSV file needs at least its header line');
}

async function* jsonlRecords(file: string, pipeline: Pipeline): AsyncGenerator<EtlRecord> {
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    let data: unknown;
    try {
      data = JSON.parse(line);
    } catch (err) {
      throw new RecordError(`line ${n}: not valid JSON: ${(err as Error).message}`);
    }
    yield checkRecord(pipeline, data, `line ${n}`);
  }
}

function formatOf(file: string, pipeline: Pipeline): 'csv' | 'jsonl' {
  if (pipeline.format !== 'auto') return pipeline.format;
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.(jsonl|ndjson)$/i.test(file)) return 'jsonl';
  throw new RecordError("cannot tell the format from the name: end it in .csv, .jsonl or .ndjson, or set the pipeline's format");
}

/** The file's records, checked one by one; the first bad one throws a RecordError. */
export async function* readRecords(file: string, pipeline: Pipeline): AsyncGenerator<EtlRecord> {
  yield* formatOf(file, pipeline) === 'csv' ? csvRecords(file, pipeline) : jsonlRecords(file, pipeline);
}
