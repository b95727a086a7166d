import fs from 'node:fs';
import path from 'node:path';
import type { Pipeline } from './pipelines';
import type { EtlRecord } from './records';
import { createTable, insertStatement, parameters, rowsPerStatement } from './sql';
import type { LoadOutcome } from './storage';

/**
 * SQLite runs in this process (WebAssembly, no native build). Its calls are
 * synchronous, so table creation and a whole transaction run without another
 * load interleaving; it has no cross-process locking, so one worker owns a file.
 * The file is opened per load rather than kept open: opening costs a
 * millisecond, and a handle kept open would not see what other processes
 * (an operator, a test) changed in the file since.
 */
export async function loadSqlite(file: string, pipeline: Pipeline, records: EtlRecord[]): Promise<LoadOutcome> {
  const sqlite = await import('node-sqlite3-wasm');
  // Node's import() finds this CommonJS module's exports under `default` only (its names are not statically visible).
  const { Database } = 'Database' in sqlite ? sqlite : (sqlite as unknown as { default: typeof sqlite }).default;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.exec(createTable('sqlite', pipeline));
    db.exec('BEGIN IMMEDIATE');
    let inserted = 0;
    try {
      // One prepared statement of many rows, run for every full slice; the remainder gets its own.
      const size = rowsPerStatement(pipeline);
      const full = records.length >= size ? db.prepare(insertStatement('sqlite', pipeline, size)) : undefined;
      try {
        let at = 0;
        for (; full && at + size <= records.length; at += size)
          inserted += full.run(parameters(pipeline, records.slice(at, at + size), true) as never).changes;
        if (at < records.length)
          inserted += db.run(
            insertStatement('sqlite', pipeline, records.length - at),
            parameters(pipeline, records.slice(at), true) as never,
          ).changes;
      } finally {
        full?.finalize();
      }
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
    return { records: records.length, inserted };
  } finally {
    db.close();
  }
}
