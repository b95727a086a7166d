import path from 'node:path';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type mysql from 'mysql2/promise';
import type { Column, Location, Pipeline } from './pipelines';
import type { EtlRecord } from './records';

export interface LoadOutcome {
  /** Records in the batch, all present in the table after the load. */
  records: number;
  /** Rows this load added; fewer than records when an earlier attempt or job had loaded some. */
  inserted: number;
}

type Dialect = 'postgres' | 'mariadb' | 'sqlite';

const quote = (dialect: Dialect, name: string) => (dialect === 'mariadb' ? `\`${name}\`` : `"${name}"`);

function sqlType(dialect: Dialect, column: Column, isKey: boolean): string {
  switch (column.type) {
    case 'string':
      // MariaDB cannot index an unbounded TEXT key.
      return dialect === 'mariadb' ? (isKey ? 'VARCHAR(255)' : 'TEXT') : 'TEXT';
    case 'integer':
      return dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
    case 'number':
      return dialect === 'sqlite' ? 'REAL' : 'DOUBLE PRECISION';
    case 'boolean':
      return dialect === 'sqlite' ? 'INTEGER' : 'BOOLEAN';
  }
}

/** The table a pipeline loads into, keyed by the record key; an existing table is used as it is. */
function createTable(dialect: Dialect, pipeline: Pipeline): string {
  const q = (name: string) => quote(dialect, name);
  const columns = pipeline.columns.map((c) => `${q(c.name)} ${sqlType(dialect, c, pipeline.key.includes(c.name))}${c.required ? ' NOT NULL' : ''}`);
  return `CREATE TABLE IF NOT EXISTS ${q(pipeline.table)} (${columns.join(', ')}, PRIMARY KEY (${pipeline.key.map(q).join(', ')}))`;
}

/**
 * Insert-or-ignore on the key only: a record already loaded is skipped, while
 * any other rejection (a CHECK, a type, NOT NULL) still fails the transaction.
 */
function insertStatement(dialect: Dialect, pipeline: Pipeline, rows: number): string {
  const q = (name: string) => quote(dialect, name);
  const names = pipeline.columns.map((c) => c.name);
  let n = 0;
  const tuple = () => `(${names.map(() => (dialect === 'postgres' ? `$${++n}` : '?')).join(', ')})`;
  const values = Array.from({ length: rows }, tuple).join(', ');
  const head = `INSERT INTO ${q(pipeline.table)} (${names.map(q).join(', ')}) VALUES ${values}`;
  if (dialect === 'mariadb') return `${head} ON DUPLICATE KEY UPDATE ${q(pipeline.key[0])} = ${q(pipeline.key[0])}`;
  return `${head} ON CONFLICT (${pipeline.key.map(q).join(', ')}) DO NOTHING`;
}

/** Rows per INSERT statement: PostgreSQL allows 65535 parameters per statement. */
const chunkRows = (pipeline: Pipeline) => Math.max(1, Math.floor(30_000 / pipeline.columns.length));

function params(dialect: Dialect, pipeline: Pipeline, records: EtlRecord[]): unknown[] {
  return records.flatMap((r) =>
    pipeline.columns.map((c) => (dialect === 'sqlite' && typeof r[c.name] === 'boolean' ? Number(r[c.name]) : r[c.name])),
  );
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

/** Serialises the creators of one table without making loads wait for each other: creation is its own short transaction. */
const createLockKey = (table: string) => `courier.etl.create-table:${table}`;

/**
 * CREATE TABLE IF NOT EXISTS is not atomic in PostgreSQL: two sessions can both
 * find the table missing, and the loser fails on its row type (42710, 23505) or
 * relation (42P07). Accepting those codes was not enough (a new code showed up
 * under load), so creators take a transaction-scoped advisory lock on the table
 * name; the second creator then sees the committed table and does nothing.
 */
async function createPostgresTable(client: pg.Client, pipeline: Pipeline): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [createLockKey(pipeline.table)]);
    await client.query(createTable('postgres', pipeline));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/**
 * MariaDB takes an exclusive metadata lock for CREATE TABLE, so IF NOT EXISTS
 * should not race; a named lock makes that a property of courier rather than of
 * one server version (GET_LOCK names are limited to 64 characters, hence the hash).
 */
async function createMariadbTable(connection: mysql.Connection, pipeline: Pipeline): Promise<void> {
  const name = `courier-create-${createHash('sha256').update(createLockKey(pipeline.table)).digest('hex').slice(0, 40)}`;
  const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, 60) AS got', [name]);
  if (rows[0]?.got !== 1) throw new Error(`could not take the lock to create table ${pipeline.table} within 60 s; another load holds it`);
  try {
    await connection.query(createTable('mariadb', pipeline));
  } finally {
    await connection.query('SELECT RELEASE_LOCK(?)', [name]).catch(() => undefined);
  }
}

async function loadPostgres(url: string, pipeline: Pipeline, records: EtlRecord[]): Promise<LoadOutcome> {
  // Each driver loads on first use: a worker that loads nothing, or only into one kind of database, does not carry the others.
  const { Client } = await import('pg');
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    await createPostgresTable(client, pipeline);
    await client.query('BEGIN');
    let inserted = 0;
    try {
      for (const chunk of chunks(records, chunkRows(pipeline))) {
        inserted += (await client.query(insertStatement('postgres', pipeline, chunk.length), params('postgres', pipeline, chunk))).rowCount ?? 0;
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    return { records: records.length, inserted };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function loadMariadb(url: string, pipeline: Pipeline, records: EtlRecord[]): Promise<LoadOutcome> {
  // Without FOUND_ROWS, affectedRows counts a skipped duplicate as 0 rather than as a matched row.
  const { createConnection } = await import('mysql2/promise');
  const connection = await createConnection({ uri: url.replace(/^mariadb:/, 'mysql:'), connectTimeout: 10_000, flags: ['-FOUND_ROWS'] });
  try {
    await createMariadbTable(connection, pipeline);
    await connection.beginTransaction();
    let inserted = 0;
    try {
      for (const chunk of chunks(records, chunkRows(pipeline))) {
        const [result] = await connection.query<mysql.ResultSetHeader>(
          insertStatement('mariadb', pipeline, chunk.length),
          params('mariadb', pipeline, chunk),
        );
        // ON DUPLICATE KEY UPDATE with no change counts a skipped row as 0 and a new row as 1.
        inserted += result.affectedRows;
      }
      await connection.commit();
    } catch (err) {
      await connection.rollback().catch(() => undefined);
      throw err;
    }
    return { records: records.length, inserted };
  } finally {
    await connection.end().catch(() => undefined);
  }
}

/**
 * SQLite runs in this process (WebAssembly, no native build). Its calls are
 * synchronous, so table creation and a whole transaction run without another
 * load interleaving; it has no cross-process locking, so one worker owns a file.
 */
async function loadSqlite(file: string, pipeline: Pipeline, records: EtlRecord[]): Promise<LoadOutcome> {
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
      for (const chunk of chunks(records, Math.min(chunkRows(pipeline), Math.floor(32_000 / pipeline.columns.length)))) {
        inserted += db.run(insertStatement('sqlite', pipeline, chunk.length), params('sqlite', pipeline, chunk) as never).changes;
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

/** Inserts a batch into one storage location in one transaction: all of it or none. */
export async function loadInto(location: Location, pipeline: Pipeline, records: EtlRecord[], root: string): Promise<LoadOutcome> {
  switch (location.kind) {
    case 'postgres':
      return loadPostgres(location.url, pipeline, records);
    case 'mariadb':
      return loadMariadb(location.url, pipeline, records);
    case 'sqlite':
      return loadSqlite(path.resolve(root, location.path), pipeline, records);
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
  return /SQLITE_CONSTRAINT|constraint failed|datatype mismatch/i.test((err as Error).message ?? '');
}

/** A location's address without its password, for mail and logs. */
export function describeLocation(name: string, location: Location): string {
  if (location.kind === 'sqlite') return `${name} (sqlite ${location.path})`;
  const url = new URL(location.url);
  if (url.password) url.password = '***';
  return `${name} (${location.kind} ${url.toString()})`;
}
