import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type mysql from 'mysql2/promise';
import type { BatchContent } from './batch-content';
import type { Databases } from './databases';
import type { Pipeline } from './pipelines';
import { columnList, createLockKey, createTable, groups, insertStatement, quote, rowsPerStatement } from './sql';
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
async function insertRows(connection: mysql.PoolConnection, pipeline: Pipeline, batch: BatchContent): Promise<LoadOutcome> {
  let records = 0;
  let inserted = 0;
  for await (const group of groups(batch.rows(), rowsPerStatement(pipeline))) {
    const [result] = await connection.query<mysql.ResultSetHeader>(insertStatement('mariadb', pipeline, group.length), group.flat());
    records += group.length;
    // ON DUPLICATE KEY UPDATE with no change counts a skipped row as 0 and a new row as 1.
    inserted += result.affectedRows;
  }
  return { records, inserted };
}

/** The batch's lines, counted as they pass: a line is a record. */
async function* counted(lines: AsyncIterable<Buffer>, tally: { lines: number }): AsyncGenerator<Buffer> {
  let last = 0x0a;
  for await (const piece of lines) {
    for (let at = piece.indexOf(0x0a); at >= 0; at = piece.indexOf(0x0a, at + 1)) tally.lines++;
    if (piece.length) last = piece[piece.length - 1]!;
    yield piece;
  }
  if (last !== 0x0a) tally.lines++;
}

/** LOAD DATA LOCAL refused by the server's local_infile setting: MariaDB 10.5+ says 4166, older MariaDB and MySQL 5 say 1148, MySQL 8 3948. */
const LOCAL_INFILE_REFUSED = new Set([4166, 1148, 3948]);

const isLocalInfileRefused = (err: unknown) => LOCAL_INFILE_REFUSED.has(Number((err as { errno?: unknown }).errno));

/**
 * The batch through LOAD DATA LOCAL INFILE, or through inserts when the load
 * warned (see loadMariadb) or the server refuses LOAD DATA LOCAL; the refusal
 * is remembered, so the next batches do not ask again.
 */
async function loadStraight(
  connection: mysql.PoolConnection,
  pipeline: Pipeline,
  batch: BatchContent,
  refused: (err: Error) => void,
): Promise<LoadOutcome> {
  await connection.query('SAVEPOINT straight');
  let loaded: mysql.ResultSetHeader;
  const sent = { lines: 0 };
  try {
    [loaded] = await connection.query<mysql.ResultSetHeader>({
      sql:
        `LOAD DATA LOCAL INFILE 'courier-batch' INTO TABLE ${quote('mariadb', pipeline.table)} CHARACTER SET utf8mb4 ` +
        `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${columnList('mariadb', pipeline)})`,
      // The batch's lines as they are: they are in LOAD DATA's default form. mysql2 copies the pieces into its packets.
      infileStreamFactory: () => Readable.from(counted(batch.lines(), sent), { objectMode: false }),
    });
  } catch (err) {
    if (!isLocalInfileRefused(err)) throw err;
    refused(err as Error);
    return insertRows(connection, pipeline, batch);
  }
  if (loaded.warningStatus === 0 && loaded.affectedRows === sent.lines) return { records: sent.lines, inserted: sent.lines };
  await connection.query('ROLLBACK TO SAVEPOINT straight');
  return insertRows(connection, pipeline, batch);
}

/**
 * LOAD DATA LOCAL INFILE straight into the table, in one transaction. LOCAL
 * turns every problem (a key already there, a NOT NULL, a CHECK) into a
 * warning and goes on, so a load with any warning is rolled back to before it
 * and the batch goes in as multi-row inserts instead, which skip a present
 * key and fail on anything else, as every load does. A server that refuses
 * LOAD DATA LOCAL (local_infile off) gets those inserts for every batch.
 */
export async function loadMariadb(databases: Databases, url: string, pipeline: Pipeline, batch: BatchContent): Promise<LoadOutcome> {
  const connection = await (await databases.mariadb(url)).getConnection();
  let broken = false;
  try {
    await createMariadbTable(connection, pipeline);
    await connection.beginTransaction();
    const outcome = databases.refusesLocalInfile(url)
      ? await insertRows(connection, pipeline, batch)
      : await loadStraight(connection, pipeline, batch, (err) => databases.noteLocalInfileRefused(url, err));
    await connection.commit();
    return outcome;
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    // A connection that failed mid-transaction is not trusted again: it is closed, and the pool opens another.
    if (broken) connection.destroy();
    else connection.release();
  }
}
