import path from 'node:path';
import type { BatchContent } from './batch-content';
import { redactedUrl, type Databases } from './databases';
import { loadMariadb } from './load-mariadb';
import { loadPostgres } from './load-postgres';
import { loadSqlite } from './load-sqlite';
import type { Location, Pipeline } from './pipelines';

export interface LoadOutcome {
  /** Records in the batch, all present in the table after the load. */
  records: number;
  /** Rows this load added; fewer than records when an earlier attempt or job had loaded some. */
  inserted: number;
}

/** Inserts a batch into one storage location in one transaction: all of it or none. */
export async function loadInto(
  databases: Databases,
  location: Location,
  pipeline: Pipeline,
  batch: BatchContent,
  root: string,
): Promise<LoadOutcome> {
  switch (location.kind) {
    case 'postgres':
      return loadPostgres(databases, location.url, pipeline, batch);
    case 'mariadb':
      return loadMariadb(databases, location.url, pipeline, batch);
    case 'sqlite':
      return loadSqlite(path.resolve(root, location.path), pipeline, batch);
  }
}

/** Errors a retry cannot fix: refused credentials, missing database, rows the table rejects. */
export function isPermanentLoadError(err: unknown): boolean {
  const code = String((err as { code?: unknown }).code ?? '');
  // PostgreSQL SQLSTATE classes: 28 auth, 3D no database, 42 schema/privilege, 22 data, 23 constraint.
  if (/^(28|3D|42|22|23)/.test(code)) return true;
  // MariaDB: access denied, unknown database, bad field, check constraint, bad value, null in NOT NULL.
  if (
    [
      'ER_ACCESS_DENIED_ERROR',
      'ER_BAD_DB_ERROR',
      'ER_BAD_FIELD_ERROR',
      'ER_CONSTRAINT_FAILED',
      'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
      'ER_BAD_NULL_ERROR',
      'ER_WARN_DATA_OUT_OF_RANGE',
      'ER_DATA_TOO_LONG',
      'ER_TABLEACCESS_DENIED_ERROR',
      'ER_DBACCESS_DENIED_ERROR',
    ].includes(code)
  )
    return true;
  // mysql2 names codes after MySQL's list, where MariaDB's CHECK failure (4025) has another name; its number is MariaDB's own.
  if ((err as { errno?: unknown }).errno === 4025 && /^ER_/.test(code)) return true;
  return /SQLITE_CONSTRAINT|constraint failed|datatype mismatch/i.test((err as Error).message ?? '');
}

const UNREACHABLE_ERRNOS = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND'];
const UNREACHABLE_MARIADB = [
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_NORMAL_SHUTDOWN',
  'PROTOCOL_SEQUENCE_TIMEOUT',
];

/**
 * A database that cannot be reached or is going away: the network, a restart,
 * too many connections. Nothing is wrong with the batch, so it waits the
 * trouble out however long it lasts.
 */
export function isUnreachableError(err: unknown): boolean {
  const code = String((err as { code?: unknown }).code ?? '');
  // PostgreSQL SQLSTATE: 08 connection exceptions, 57P01-03 shutting down or starting, 53300 too many connections.
  if (/^(08|57P0[123]|53300)/.test(code)) return true;
  if (UNREACHABLE_ERRNOS.includes(code) || UNREACHABLE_MARIADB.includes(code)) return true;
  return /Connection terminated|connection timeout|socket hang up|read ECONNRESET|Connection lost/i.test((err as Error).message ?? '');
}

/**
 * A SQLite file locked by another process: a load elsewhere, an operator's
 * query, or a worker that died holding the lock (the next load removes such
 * a lock, at once when its holder claimed it, after UNCLAIMED_LOCK_MS when
 * not). Every lock is let go in time, so the batch waits for it.
 */
export function isBusyError(err: unknown): boolean {
  return /database is locked|SQLITE_BUSY/i.test((err as Error).message ?? '');
}

/** A location's address without its password, for mail and logs. */
export function describeLocation(name: string, location: Location): string {
  if (location.kind === 'sqlite') return `${name} (sqlite ${location.path})`;
  return `${name} (${location.kind} ${redactedUrl(location.url)})`;
}
