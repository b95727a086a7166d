import type { Pipeline } from './pipelines';
import type { EtlRecord, Value } from './records';

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * A value as PostgreSQL's COPY text format and MariaDB's LOAD DATA defaults
 * read it: \N for null, backslash escapes for the separators and the escape
 * itself, booleans as t/f ('letters') or 1/0 ('digits').
 */
function field(value: Value, booleans: 'letters' | 'digits'): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'string') return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]) : value;
  if (typeof value === 'boolean') return booleans === 'letters' ? (value ? 't' : 'f') : value ? '1' : '0';
  return String(value);
}

/** The records as tab-separated lines, in pieces of about 256 KiB so a socket is fed without building one large string. */
export function* tabSeparated(pipeline: Pipeline, records: EtlRecord[], booleans: 'letters' | 'digits'): Generator<string> {
  const names = pipeline.columns.map((c) => c.name);
  let text = '';
  for (const record of records) {
    for (let i = 0; i < names.length; i++) text += (i ? '\t' : '') + field(record[names[i]], booleans);
    text += '\n';
    if (text.length >= 256 * 1024) {
      yield text;
      text = '';
    }
  }
  if (text) yield text;
}
