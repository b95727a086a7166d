/**
 * `npm run bench -- etl`: one generated CSV file (BENCH_ETL_ROWS rows, default
 * 1,000,000) loaded by courier's ETL job into PostgreSQL, MariaDB and SQLite,
 * one location per job, against each database's own bulk tool on the same
 * file: `psql \copy`, `mariadb` with LOAD DATA LOCAL INFILE, and the sqlite3
 * CLI's `.import`. Rounds alternate who goes first; each table starts empty.
 * Ends with `ratio etl_postgres=X etl_mariadb=Y etl_sqlite=Z`: courier's rows/s
 * over the tool's (higher is better; the target is 0.5).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { connectClient, submit, waitForJob } from '../../src/client';
import { loadConfig } from '../../src/config';
import type { EtlResult } from '../../src/kinds/etl/contract';
import { printTimeline } from './timeline';
import {
  buildDist,
  cpuSeconds,
  cpuSecondsOfAll,
  endedChildrenCpuSeconds,
  median,
  peakRssMiB,
  run,
  secondsSince,
  spawnWorker,
  stopWorker,
} from './processes';

const PG_URL = process.env.COURIER_TEST_LEDGER_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MARIADB = { host: '127.0.0.1', user: 'root', database: 'test' };
const TABLE = 'courier_bench_orders';
const DATA_HOST = 'bench-etl-data';
const REFERENCE = 'courier_bench_reference';

const mib = (value: number | undefined) => `${value?.toFixed(0) ?? '?'} MiB`;

type Database = 'postgres' | 'mariadb' | 'sqlite';
const DATABASES: Database[] = ['postgres', 'mariadb', 'sqlite'];
/** The server process each database runs as (SQLite runs inside the loading process). */
const SERVER_PROCESS: Record<Database, string | undefined> = { postgres: 'postgres', mariadb: 'mariadbd', sqlite: undefined };

/** Where a run's CPU went, in seconds, by who spent it: printed beside its time, so a slow run says whose work made it slow. */
function cpuMeter(processes: Record<string, number | undefined>, db: Database): () => string {
  const read = (): Record<string, number> => ({
    ...Object.fromEntries(Object.entries(processes).map(([who, pid]) => [who, cpuSeconds(pid)])),
    ...(SERVER_PROCESS[db] ? { [SERVER_PROCESS[db]]: cpuSecondsOfAll(SERVER_PROCESS[db]) } : {}),
    'ended children': endedChildrenCpuSeconds(),
  });
  const before = read();
  return () => {
    const after = read();
    const spent = Object.entries(after)
      .map(([who, seconds]) => [who, seconds - before[who]!] as const)
      .filter(([, seconds]) => seconds >= 0.01);
    return `CPU s: ${spent.map(([who, seconds]) => `${who} ${seconds.toFixed(2)}`).join(', ')}`;
  };
}

function writeRows(file: string, rows: number): void {
  const out = fs.openSync(file, 'w');
  let text = 'id,customer,amount,paid\n';
  for (let i = 1; i <= rows; i++) {
    text += `${i},customer-${i % 9973},${(i % 100_000) / 100},${i % 3 ? 'true' : 'false'}\n`;
    if (text.length > 1 << 20) {
      fs.writeSync(out, text);
      text = '';
    }
  }
  fs.writeSync(out, text);
  fs.closeSync(out);
}

const schema = (db: Database, table: string) =>
  db === 'sqlite'
    ? `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount REAL NOT NULL, paid INTEGER NOT NULL)`
    : `CREATE TABLE ${table} (id BIGINT PRIMARY KEY, customer TEXT NOT NULL, amount DOUBLE PRECISION NOT NULL, paid BOOLEAN NOT NULL)`;

function sql(db: Database, statement: string, sqliteFile: string): Promise<unknown> {
  if (db === 'postgres') return run('psql', [PG_URL, '-v', 'ON_ERROR_STOP=1', '-qc', statement], process.env);
  if (db === 'mariadb') return run('mariadb', ['-h', MARIADB.host, '-u', MARIADB.user, MARIADB.database, '-e', statement], process.env);
  return run('sqlite3', [sqliteFile, statement], process.env);
}

async function count(db: Database, table: string, sqliteFile: string): Promise<number> {
  const query = `SELECT count(*) FROM ${table}`;
  const out =
    db === 'postgres'
      ? execFileSync('psql', [PG_URL, '-tAc', query], { encoding: 'utf8' })
      : db === 'mariadb'
        ? execFileSync('mariadb', ['-h', MARIADB.host, '-u', MARIADB.user, MARIADB.database, '-sNe', query], { encoding: 'utf8' })
        : execFileSync('sqlite3', [sqliteFile, query], { encoding: 'utf8' });
  return Number(out.trim());
}

/** The bulk tool's own load of the file into an empty table. */
function reference(db: Database, csv: string, sqliteFile: string): Promise<{ seconds: number }> {
  if (db === 'postgres') return run('psql', [PG_URL, '-v', 'ON_ERROR_STOP=1', '-qc', `\\copy ${REFERENCE} FROM '${csv}' CSV HEADER`], process.env);
  if (db === 'mariadb')
    return run(
      'mariadb',
      [
        '--local-infile=1',
        '-h',
        MARIADB.host,
        '-u',
        MARIADB.user,
        MARIADB.database,
        '-e',
        `LOAD DATA LOCAL INFILE '${csv}' INTO TABLE ${REFERENCE} FIELDS TERMINATED BY ',' IGNORE 1 LINES (id, customer, amount, @paid) SET paid = (@paid = 'true')`,
      ],
      process.env,
    );
  return run('sqlite3', [sqliteFile, `.import --csv --skip 1 '${csv}' ${REFERENCE}`], process.env);
}

export async function benchEtl(options: { work: string; env: NodeJS.ProcessEnv; rounds: number; serverPid?: number }): Promise<string> {
  const rows = Number(process.env.BENCH_ETL_ROWS ?? 1_000_000);
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`BENCH_ETL_ROWS=${process.env.BENCH_ETL_ROWS} must be a whole number of at least 1`);
  const dir = path.join(options.work, 'etl');
  const root = path.join(dir, 'root');
  const sqliteFile = path.join(dir, 'bench.sqlite');
  fs.mkdirSync(root, { recursive: true });
  const csv = path.join(dir, 'orders.csv');
  writeRows(csv, rows);
  const columns = [
    { name: 'id', type: 'integer' },
    { name: 'customer', type: 'string' },
    { name: 'amount', type: 'number' },
    { name: 'paid', type: 'boolean' },
  ];
  const batchSize = Number(process.env.BENCH_ETL_BATCH ?? 50_000);
  fs.writeFileSync(
    path.join(root, 'pipelines.json'),
    JSON.stringify({
      locations: {
        postgres: { kind: 'postgres', url: PG_URL },
        mariadb: { kind: 'mariadb', url: `mysql://root@127.0.0.1:3306/test` },
        sqlite: { kind: 'sqlite', path: sqliteFile },
      },
      pipelines: Object.fromEntries(DATABASES.map((db) => [db, { columns, key: ['id'], table: TABLE, batchSize, locations: [db] }])),
    }),
  );
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    COURIER_ETL_ROOT: root,
    COURIER_SOURCE_ROOTS: dir,
    COURIER_DATA_DIR: path.join(dir, 'data'),
    COURIER_TASK_QUEUE: 'bench-etl',
  };
  env.COURIER_WORKFLOW_BUNDLE = buildDist().workflowBundle;
  const config = loadConfig(env);
  // As hosts run it, compiled: a control worker for the workflows, and the host the messages name doing every file and load step.
  const control = spawnWorker(env, { compiled: true, args: ['--host', 'bench-control'] });
  const worker = spawnWorker(env, { compiled: true, args: ['--host-only', '--host', DATA_HOST] });
  const client = await connectClient(config);
  const processes = { 'host worker': worker.pid, control: control.pid, Temporal: options.serverPid };
  const cpu: Record<'courier' | 'tool', string> = { courier: '', tool: '' };
  const seconds: Record<Database, { courier: number[]; tool: number[] }> = {
    postgres: { courier: [], tool: [] },
    mariadb: { courier: [], tool: [] },
    sqlite: { courier: [], tool: [] },
  };
  const fresh = async (db: Database, table: string) => {
    await sql(db, `DROP TABLE IF EXISTS ${table}`, sqliteFile);
    await sql(db, schema(db, table), sqliteFile);
  };
  try {
    console.log(
      `${rows.toLocaleString('en')} rows (${(fs.statSync(csv).size / 2 ** 20).toFixed(0)} MiB of CSV), batches of ${batchSize}, ${options.rounds} rounds`,
    );
    // A first small job per database: the worker loads its workflow code and drivers, and opens its pools, before anything is timed.
    const warmup = path.join(dir, 'warmup.csv');
    writeRows(warmup, 100);
    for (const db of DATABASES) {
      await fresh(db, TABLE);
      await waitForJob(
        client,
        (await submit(client, config, { kind: 'etl', pipeline: db, source: warmup, host: DATA_HOST, id: `bench-etl-warmup-${db}-${Date.now()}` }))
          .jobId,
      );
    }
    for (let round = 1; round <= options.rounds; round++) {
      for (const db of DATABASES) {
        const courier = async () => {
          await fresh(db, TABLE);
          const spent = cpuMeter(processes, db);
          const started = process.hrtime.bigint();
          const wall = Date.now();
          const { jobId } = await submit(client, config, {
            kind: 'etl',
            pipeline: db,
            source: csv,
            host: DATA_HOST,
            id: `bench-etl-${db}-${round}-${Date.now()}`,
          });
          const result = (await waitForJob(client, jobId)) as EtlResult;
          seconds[db].courier.push(secondsSince(started));
          cpu.courier = spent();
          const loaded = result.locations.find((l) => l.location === db);
          if (process.env.BENCH_ETL_TIMELINE === '1') {
            const transform = result.transforms[0]?.jobId;
            const loads = Array.from({ length: result.transforms[0]?.loadsStarted ?? 0 }, (_, i) => `${transform}-L${i + 1}`);
            await printTimeline(client, [jobId, ...(transform ? [transform] : []), ...loads], wall);
          }
          if (loaded?.inserted !== rows || (await count(db, TABLE, sqliteFile)) !== rows)
            throw new Error(`courier loaded ${loaded?.inserted ?? 0} of ${rows} rows into ${db}`);
        };
        const tool = async () => {
          await fresh(db, REFERENCE);
          const spent = cpuMeter(processes, db);
          seconds[db].tool.push((await reference(db, csv, sqliteFile)).seconds);
          cpu.tool = spent();
          if ((await count(db, REFERENCE, sqliteFile)) !== rows) throw new Error(`the ${db} bulk tool did not load ${rows} rows`);
        };
        for (const step of round % 2 ? [courier, tool] : [tool, courier]) await step();
        console.log(
          `round ${round}/${options.rounds} ${db}: courier ${seconds[db].courier.at(-1)!.toFixed(2)}s (${cpu.courier}); ` +
            `bulk tool ${seconds[db].tool.at(-1)!.toFixed(2)}s (${cpu.tool})`,
        );
      }
    }
    console.log('\n             courier rows/s   tool rows/s');
    const ratios = DATABASES.map((db) => {
      const c = rows / median(seconds[db].courier);
      const t = rows / median(seconds[db].tool);
      console.log(`${db.padEnd(12)}${c.toFixed(0).padStart(15)}${t.toFixed(0).padStart(14)}`);
      return `etl_${db}=${(c / t).toFixed(2)}`;
    });
    console.log(`peak RSS: host worker (every file and load step) ${mib(peakRssMiB(worker.pid))}, control worker ${mib(peakRssMiB(control.pid))}`);
    for (const db of DATABASES) for (const table of [TABLE, REFERENCE]) await sql(db, `DROP TABLE IF EXISTS ${table}`, sqliteFile);
    return `ratio ${ratios.join(' ')}`;
  } finally {
    await stopWorker(worker);
    await stopWorker(control);
    await client.connection.close();
  }
}
