import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { Database } from 'node-sqlite3-wasm';
import { recordsBatch } from '../../src/kinds/etl/batch-content';
import type { Databases } from '../../src/kinds/etl/databases';
import type { Location, Pipeline } from '../../src/kinds/etl/pipelines';
import { loadInto } from '../../src/kinds/etl/storage';
import { createDeps } from '../../src/activities';
import type { OwnedDeps } from '../../src/activities/deps';
import { loadConfig } from '../../src/config';

export const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const MARIADB_URL = 'mysql://root@127.0.0.1:3306/test';

/** A table name no other test run uses. */
export function uniqueTable(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}`;
}

export const COLUMNS = [
  { name: 'id', type: 'integer' },
  { name: 'customer', type: 'string' },
  { name: 'amount', type: 'number' },
  { name: 'paid', type: 'boolean', required: false },
];

/** A pipeline file of one pipeline, `orders` (COLUMNS, keyed on id), loading into one SQLite location, `local`. */
export const localOrders = (batchSize: number) => ({
  locations: { local: { kind: 'sqlite', path: 'db/etl.sqlite' } },
  pipelines: { orders: { columns: COLUMNS, key: ['id'], table: 'orders', batchSize, locations: ['local'] } },
});

/** Writes the pipeline file of an ETL root and returns its path. */
export async function writePipelines(root: string, file: object): Promise<string> {
  await fs.mkdir(root, { recursive: true });
  const target = path.join(root, 'pipelines.json');
  await fs.writeFile(target, JSON.stringify(file, null, 2));
  return target;
}

/**
 * A scratch directory with an ETL tree and its pipelines file, for running
 * ETL activities on real files with a worker's own dependencies and no server.
 * `deps` opens them (`env` adds settings); `close` closes every one and removes the directory.
 */
export async function etlScratch(prefix: string, pipelines: object) {
  const base = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP ?? os.tmpdir(), prefix));
  const root = path.join(base, 'etl');
  await writePipelines(root, pipelines);
  const opened: OwnedDeps[] = [];
  return {
    base,
    root,
    deps(env: Record<string, string> = {}): OwnedDeps {
      const deps = createDeps(loadConfig({ COURIER_DATA_DIR: path.join(base, 'data'), COURIER_ETL_ROOT: root, COURIER_HOST: 'h', ...env }));
      opened.push(deps);
      return deps;
    },
    async close() {
      for (const deps of opened) await deps.close();
      await fs.rm(base, { recursive: true, force: true });
    },
  };
}

export async function pgQuery<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

export async function mariaQuery<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const connection = await mysql.createConnection({ uri: MARIADB_URL });
  try {
    return (await connection.query(sql))[0] as T[];
  } finally {
    await connection.end();
  }
}

export function sqliteQuery<T = Record<string, unknown>>(file: string, sql: string): T[] {
  const db = new Database(file);
  try {
    return db.all(sql) as T[];
  } finally {
    db.close();
  }
}

/** The ids of a table, sorted, from each kind of database. */
export async function idsIn(where: {
  pg?: string;
  maria?: string;
  sqlite?: { file: string; table: string };
}): Promise<{ pg?: number[]; maria?: number[]; sqlite?: number[] }> {
  const ids = (rows: { id: unknown }[]) => rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  return {
    ...(where.pg ? { pg: ids(await pgQuery<{ id: unknown }>(`SELECT id FROM "${where.pg}"`)) } : {}),
    ...(where.maria ? { maria: ids(await mariaQuery<{ id: unknown }>(`SELECT id FROM \`${where.maria}\``)) } : {}),
    ...(where.sqlite ? { sqlite: ids(sqliteQuery<{ id: unknown }>(where.sqlite.file, `SELECT id FROM "${where.sqlite.table}"`)) } : {}),
  };
}

export interface OrderRow {
  id: number;
  customer: string;
  amount: number;
  paid: boolean | null;
}

/**
 * Every row of an orders table (COLUMNS), in id order, with each database's
 * types brought to one shape: BIGINT as a number, BOOLEAN / TINYINT / INTEGER
 * 0-1 as a boolean. All rows, not distinct ones: a row stored twice is listed twice.
 */
export async function rowsIn(where: {
  pg?: string;
  maria?: string;
  sqlite?: { file: string; table: string };
}): Promise<{ pg?: OrderRow[]; maria?: OrderRow[]; sqlite?: OrderRow[] }> {
  const select = (table: string, q: string) => `SELECT ${['id', 'customer', 'amount', 'paid'].join(', ')} FROM ${q}${table}${q} ORDER BY id`;
  const rows = (found: Record<string, unknown>[]) =>
    found.map((r) => ({
      id: Number(r.id),
      customer: String(r.customer),
      amount: Number(r.amount),
      paid: r.paid === null ? null : Boolean(Number(r.paid)),
    }));
  return {
    ...(where.pg ? { pg: rows(await pgQuery(select(where.pg, '"'))) } : {}),
    ...(where.maria ? { maria: rows(await mariaQuery(select(where.maria, '`'))) } : {}),
    ...(where.sqlite ? { sqlite: rows(sqliteQuery(where.sqlite.file, select(where.sqlite.table, '"'))) } : {}),
  };
}

export async function dropTables(tables: string[]): Promise<void> {
  for (const table of tables) {
    await pgQuery(`DROP TABLE IF EXISTS "${table}"`).catch(() => undefined);
    await mariaQuery(`DROP TABLE IF EXISTS \`${table}\``).catch(() => undefined);
  }
}

/** File names in a directory of the ETL tree, sorted; none when it does not exist. */
export async function filesIn(root: string, dir: string): Promise<string[]> {
  return (await fs.readdir(path.join(root, dir)).catch(() => [] as string[])).filter((n) => !n.endsWith('.tmp')).sort();
}

export function csv(rows: (string | number | boolean)[][]): string {
  return `${['id', 'customer', 'amount', 'paid'].join(',')}\n${rows.map((r) => r.join(',')).join('\n')}\n`;
}

export function jsonl(records: object[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** A load of records given as objects, as a batch of them would be: through courier's own loader. */
export const loadRecords = (databases: Databases, location: Location, pipeline: Pipeline, records: object[], root: string) =>
  loadInto(databases, location, pipeline, recordsBatch(pipeline, records), root);
