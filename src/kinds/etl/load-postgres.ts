import { pipeline as streamPipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { BatchContent } from './batch-content';
import type { Databases } from './databases';
import type { Pipeline } from './pipelines';
import { columnList, createLockKey, createTable, onKeyConflict, quote } from './sql';
import type { LoadOutcome } from './storage';

/**
 * CREATE TABLE IF NOT EXISTS is not atomic in PostgreSQL: two sessions can both
 * find the table missing, and the loser fails on its row type (42710, 23505) or
 * relation (42P07). Accepting those codes was not enough (a new code showed up
 * under load), so creators take a transaction-scoped advisory lock on the table
 * name; the second creator then sees the committed table and does nothing.
 */
async function createPostgresTable(client: pg.PoolClient, pipeline: Pipeline): Promise<void> {
  await client.query('BEGIN');
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [createLockKey(pipeline.table)]);
  await client.query(createTable('postgres', pipeline));
  await client.query('COMMIT');
}

/** The batch's lines into the table as they are (they are COPY's text form); resolves with the rows COPY took. */
async function copyLines(client: pg.PoolClient, table: string, columns: string, batch: BatchContent): Promise<number> {
  const copy = client.query(copyFrom(`COPY ${table} (${columns}) FROM STDIN`));
  await streamPipeline(batch.lines(), copy);
  return copy.rowCount;
}

const UNIQUE_VIOLATION = '23505';

/**
 * COPY straight into the table, in one transaction. When some of the records
 * are there already (a retry, a file loaded before, a key twice in the batch)
 * the COPY fails on the key; the batch then goes through a temporary table
 * and one insert-or-ignore on the key from it. Either way the outcome is that
 * of row inserts: a record already there is skipped, and a CHECK or NOT NULL
 * the table has still fails the batch.
 */
export async function loadPostgres(databases: Databases, url: string, pipeline: Pipeline, batch: BatchContent): Promise<LoadOutcome> {
  const client = await (await databases.postgres(url)).connect();
  // pg emits a lost connection on a checked-out client as well as failing its query, and the pool listens only to idle ones:
  // without a listener of our own the emission is uncaught and takes the worker down. The failed query carries the error.
  const ignoreLost = () => undefined;
  client.on('error', ignoreLost);
  let broken: Error | undefined;
  try {
    await createPostgresTable(client, pipeline);
    const table = quote('postgres', pipeline.table);
    const columns = columnList('postgres', pipeline);
    await client.query('BEGIN');
    await client.query('SAVEPOINT straight');
    let records: number;
    let inserted: number;
    try {
      records = inserted = await copyLines(client, table, columns, batch);
    } catch (err) {
      if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
      await client.query('ROLLBACK TO SAVEPOINT straight');
      // Only the pipeline's columns, without the table's constraints: they apply when the rows reach the table itself.
      await client.query(`CREATE TEMP TABLE courier_load ON COMMIT DROP AS SELECT ${columns} FROM ${table} WITH NO DATA`);
      records = await copyLines(client, 'courier_load', columns, batch);
      inserted =
        (await client.query(`INSERT INTO ${table} (${columns}) SELECT ${columns} FROM courier_load ${onKeyConflict(pipeline)}`)).rowCount ?? 0;
    }
    await client.query('COMMIT');
    return { records, inserted };
  } catch (err) {
    // A connection that failed mid-transaction or mid-COPY is not trusted again: the pool closes it and opens another.
    broken = err as Error;
    throw err;
  } finally {
    // A broken client keeps the listener: its socket can still report the loss after the pool has let it go.
    if (!broken) client.off('error', ignoreLost);
    client.release(broken);
  }
}
