import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type mysql from 'mysql2/promise';
import type { Databases } from './databases';
import type { Pipeline } from './pipelines';
import type { EtlRecord } from './records';
import { columnList, createLockKey, createTable, insertStatement, parameters, quote, rowsPerStatement, slices } from './sql';
import { tabSeparated } from './tab-separated';
import type { LoadOutcome } from './storage';

/**
 * MariaDB takes an exclusive metadata lock for CREATE TABLE, so IF NOT EXISTS
 * should not race; a named lock makes that a property of courier rather than of
 * one server version (GET_LOCK names are limited to 64 characters, hence the hash).
 */
async function createMariadbTable(connection: mysql.PoolConnection, pipeline: Pipeline): Promise<void> {
  const name = `courier-create-${createHash('sha256').update(createLockKey(pipeline.table)).digest('hex').slice(0, 40)}`;
  const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT GET_LOCK(?, 60) AS got', [name]);
  if (rows[0]?.got !== 1) throw new Error(`could not take the lock to create table ${pipeline.table} within 60 s; another load holds it`);
  try {
    await connection.query(createTable('mariadb', pipeline));
  } finally {
    await connection.query('SELECT RELEASE_LOCK(?)', [name]).catch(() => undefined);
  }
}

/** Large multi-row inserts (thousands of rows per statement): exact, and strict about every value. */
async function insertRows(connection: mysql.PoolConnection, pipeline: Pipeline, records: EtlRecord[]): Promise<number> {
  let inserted = 0;
  for (const slice of slices(records, rowsPerStatement(pipeline))) {
    const [result] = await connection.query<mysql.ResultSetHeader>(insertStatement('mariadb', pipeline, slice.length), parameters(pipeline, slice));
    // ON DUPLICATE KEY UPDATE with no change counts a skipped row as 0 and a new row as 1.
    inserted += result.affectedRows;
  }
  return inserted;
}

/**
 * LOAD DATA LOCAL INFILE straight into the table, in one transaction. LOCAL
 * turns every problem (a key already there, a NOT NULL, a CHECK) into a
 * warning and goes on, so a load with any warning is rolled back to before it
 * and the batch goes in as multi-row inserts instead, which skip a present
 * key and fail on anything else, as every load does.
 */
export async function loadMariadb(databases: Databases, url: string, pipeline: Pipeline, records: EtlRecord[]): Promise<LoadOutcome> {
  const connection = await (await databases.mariadb(url)).getConnection();
  let broken = false;
  try {
    await createMariadbTable(connection, pipeline);
    await connection.beginTransaction();
    await connection.query('SAVEPOINT straight');
    const [loaded] = await connection.query<mysql.ResultSetHeader>({
      sql:
        `LOAD DATA LOCAL INFILE 'courier-batch' INTO TABLE ${quote('mariadb', pipeline.table)} CHARACTER SET utf8mb4 ` +
        `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${columnList('mariadb', pipeline)})`,
      // mysql2 copies what the stream gives into its packets, so the pieces must be bytes, not strings.
      infileStreamFactory: () =>
        Readable.from(tabSeparated(pipeline, records, 'digits'), { objectMode: false }).map((text: string) => Buffer.from(text)),
    });
    let inserted = loaded.affectedRows;
    if (loaded.warningStatus > 0 || inserted !== records.length) {
      await connection.query('ROLLBACK TO SAVEPOINT straight');
      inserted = await insertRows(connection, pipeline, records);
    }
    await connection.commit();
    return { records: records.length, inserted };
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    // A connection that failed mid-transaction is not trusted again: it is closed, and the pool opens another.
    if (broken) connection.destroy();
    else connection.release();
  }
}
