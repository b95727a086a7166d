import fs from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { BatchContent } from './batch-content';
import type { Pipeline } from './pipelines';
import type { Row } from './records';
import { createTable, insertStatement, parameters, rowsPerStatement } from './sql';
import { claimLock, clearStaleLock } from './sqlite-lock';
import type { LoadOutcome } from './storage';

/**
 * SQLite runs in this process (WebAssembly, no native build). Its calls are
 * synchronous, so table creation and a whole transaction run without another
 * load interleaving. Its lock is a directory beside the file, which a killed
 * worker leaves behind: sqlite-lock.ts says who holds it and removes it once
 * they are gone. One worker owns a file.
 * The batch is read (and checked) whole before the file is opened, for that.
 * The file is opened per load rather than kept open: opening costs a
 * millisecond, and a handle kept open would not see what other processes
 * (an operator, a test) changed in the file since.
 */
export async function loadSqlite(file: string, pipeline: Pipeline, batch: BatchContent): Promise<LoadOutcome> {
  const records: Row[] = [];
  for await (const run of batch.rows()) for (const row of run) records.push(row);
  const sqlite = await import('node-sqlite3-wasm');
  // Node's import() finds this CommonJS module's exports under `default` only (its names are not statically visible).
  const { Database } = 'Database' in sqlite ? sqlite : (sqlite as unknown as { default: typeof sqlite }).default;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const cleared = clearStaleLock(file);
  if (cleared) warn(`removed a stale lock on ${file}: ${cleared}; SQLite rolls back the transaction it held`, { file });
  const db = new Database(file);
  let unclaim: (() => void) | undefined;
  try {
    db.exec(createTable('sqlite', pipeline));
    db.exec('BEGIN IMMEDIATE');
    unclaim = claimLock(file);
    let inserted = 0;
    try {
      // One prepared statement of many rows, run for every full slice; the remainder gets its own.
      const size = rowsPerStatement(pipeline);
      const full = records.length >= size ? db.prepare(insertStatement('sqlite', pipeline, size)) : undefined;
      try {
        let at = 0;
        for (; full && at + size <= records.length; at += size) inserted += full.run(parameters(records.slice(at, at + size), true) as never).changes;
        if (at < records.length)
          inserted += db.run(insertStatement('sqlite', pipeline, records.length - at), parameters(records.slice(at), true) as never).changes;
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
    unclaim?.();
  }
}

function warn(message: string, attributes: Record<string, unknown>): void {
  try {
    Context.current().log.warn(message, attributes);
  } catch {
    // Outside an activity (a direct load, as the recovery test makes): nobody reads the worker's log for it.
  }
}
