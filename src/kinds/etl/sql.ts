import type { Column, Pipeline } from './pipelines';
import type { Row } from './records';

export type Dialect = 'postgres' | 'mariadb' | 'sqlite';

export const quote = (dialect: Dialect, name: string) => (dialect === 'mariadb' ? `\`${name}\`` : `"${name}"`);

export const columnList = (dialect: Dialect, pipeline: Pipeline) => pipeline.columns.map((c) => quote(dialect, c.name)).join(', ');

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
export function createTable(dialect: Dialect, pipeline: Pipeline): string {
  const q = (name: string) => quote(dialect, name);
  const columns = pipeline.columns.map((c) => `${q(c.name)} ${sqlType(dialect, c, pipeline.key.includes(c.name))}${c.required ? ' NOT NULL' : ''}`);
  return `CREATE TABLE IF NOT EXISTS ${q(pipeline.table)} (${columns.join(', ')}, PRIMARY KEY (${pipeline.key.map(q).join(', ')}))`;
}

/**
 * Insert-or-ignore on the key only: a record already loaded is skipped, while
 * any other rejection (a CHECK, a type, NOT NULL) still fails the transaction.
 */
export function insertStatement(dialect: Exclude<Dialect, 'postgres'>, pipeline: Pipeline, rows: number): string {
  const q = (name: string) => quote(dialect, name);
  const tuple = `(${pipeline.columns.map(() => '?').join(', ')})`;
  const head = `INSERT INTO ${q(pipeline.table)} (${columnList(dialect, pipeline)}) VALUES ${Array(rows).fill(tuple).join(', ')}`;
  if (dialect === 'mariadb') return `${head} ON DUPLICATE KEY UPDATE ${q(pipeline.key[0])} = ${q(pipeline.key[0])}`;
  return `${head} ON CONFLICT (${pipeline.key.map(q).join(', ')}) DO NOTHING`;
}

/** Serialises the creators of one table without making loads wait for each other: creation is its own short transaction. */
export const createLockKey = (table: string) => `courier.etl.create-table:${table}`;

/** The conflict clause of PostgreSQL's insert-or-ignore, on the key only. */
export const onKeyConflict = (pipeline: Pipeline) => `ON CONFLICT (${pipeline.key.map((k) => quote('postgres', k)).join(', ')}) DO NOTHING`;

/** Rows per multi-row insert (MariaDB's strict path): about 30,000 values a statement, few round trips for a batch. */
export const rowsPerStatement = (pipeline: Pipeline) => Math.max(1, Math.floor(30_000 / pipeline.columns.length));

/** The batch's rows in groups of `size` (the last may hold fewer), however the batch's runs fall. */
export async function* groups(runs: AsyncIterable<Row[]>, size: number): AsyncGenerator<Row[]> {
  let group: Row[] = [];
  for await (const run of runs)
    for (const row of run) {
      group.push(row);
      if (group.length === size) {
        yield group;
        group = [];
      }
    }
  if (group.length) yield group;
}
