import fs from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { BatchContent } from './batch-content';
import type { Pipeline } from './pipelines';
import { createTable, insertStatement } from './sql';
import { claimLock, clearStaleLock } from './sqlite-lock';
import type { LoadOutcome } from './storage';

/**
 * SQLite runs in this process (WebAssembly, no native build). Its calls are
 * synchronous, so table creation and a whole transaction run without another
 * load interleaving. Its lock is a directory beside the file, which a killed
 * worker leaves behind: sqlite-lock.ts says who holds it and removes it once
 * they are gone. One worker owns a file.
 * The batch is read whole before the file is opened, for that; each row is
 * checked as it is inserted, and a bad one rolls the whole batch back.
 * The file is opened per load rather than kept open: opening costs a
 * millisecond, and a handle kept open would not see what other processes
 * (an operator, a test) changed in the file since.
 */
export async function loadSqlite(file: string, pipeline: Pipeline, batch: BatchContent): Promise<LoadOutcome> {
  const rows = await batch.whole();
  const sqlite = await import('node-sqlite3-wasm');
  // Node's import() finds this CommonJS module's exports under `default` only (its names are not statically visible).
  const { Database } = 'Database' in sqlite ? sqlite : (sqlite as unknown as { default: typeof sqlite }).default;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const cleared = clearStaleLock(file);
  if (cleared) warn(`removed a stale lock on ${file}: ${cleared}; SQLite rolls back the transaction it held`, { file });
  const db = new Database(file);
  let unclaim: (() => void) | undefined;
  try {
    db.exec('BEGIN IMMEDIATE');
    unclaim = claimLock(file);
    let records = 0;
    let inserted = 0;
    try {
      // In the transaction: a batch with a bad line, found as it is inserted, leaves no table behind either.
      db.exec(createTable('sqlite', pipeline));
      // One row per run of a statement prepared once: in WebAssembly each bound value is a call across, and a
      // statement of thousands of rows made SQLite parse and clear 30,000 parameters a run: 2.2x slower over 200,000 rows.
      const insert = db.prepare(insertStatement('sqlite', pipeline, 1));
      try {
        for (const row of rows) {
          inserted += insert.run(row as never).changes;
          records++;
        }
      } finally {
        insert.finalize();
      }
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
    return { records, inserted };
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
