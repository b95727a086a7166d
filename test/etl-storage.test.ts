import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fsSync from 'node:fs';
import pino from 'pino';
import { EtlConfigError, readEtlFile, type Location, type Pipeline } from '../src/kinds/etl/pipelines';
import { CONNECTIONS_PER_LOCATION, Databases } from '../src/kinds/etl/databases';
import { isUnreachableError, loadInto } from '../src/kinds/etl/storage';
import { openBatchFile } from '../src/kinds/etl/batch-content';
import { headLine, rowLine } from '../src/kinds/etl/batch-text';
import { RecordError } from '../src/kinds/etl/records';
import { startTcpProxy } from './helpers/campaign/tcp-proxy';
import { scratchDir } from './helpers/scratch';
import { dropTables, idsIn, loadRecords, mariaQuery, MARIADB_URL, pgQuery, PG_URL, sqliteQuery, uniqueTable } from './helpers/etl';

/** Each test's SQLite files and batch files, in a directory of its own under this one, removed after the file's tests. */
const scratch = scratchDir('etl-storage');

/** One location of each kind; a SQLite location's file is named for the test. */
const everyKind = (sqliteFile: string): Location[] => [
  { kind: 'postgres', url: PG_URL },
  { kind: 'mariadb', url: MARIADB_URL },
  { kind: 'sqlite', path: sqliteFile },
];

/** A pipeline of these columns into `table`, keyed by the first column. */
function pipelineOf(table: string, columns: Pipeline['columns']): Pipeline {
  return { format: 'auto', patterns: ['*'], columns, key: [columns[0].name], table, batchSize: 10, locations: ['x'] };
}

const integerId: Pipeline['columns'] = [{ name: 'id', type: 'integer', required: true }];
const idAndNote: Pipeline['columns'] = [...integerId, { name: 'note', type: 'string', required: false }];

/** Loads records of these ids, each with a note naming it. */
const loadIds = (databases: Databases, location: Location, pipeline: Pipeline, root: string) => (ids: number[]) =>
  loadRecords(
    databases,
    location,
    pipeline,
    ids.map((id) => ({ id, note: `n${id}` })),
    root,
  );

/** The ids in `table` at the location (a SQLite file is under `root`). */
async function idsAt(location: Location, root: string, table: string): Promise<number[] | undefined> {
  const ids = await idsIn(
    location.kind === 'sqlite'
      ? { sqlite: { file: path.join(root, location.path), table } }
      : location.kind === 'postgres'
        ? { pg: table }
        : { maria: table },
  );
  return Object.values(ids)[0];
}

async function waitFor(probe: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('storage locations: the first loads into a new table', () => {
  const tables: string[] = [];
  const databases = new Databases();
  after(async () => {
    await databases.close();
    await dropTables(tables);
  });

  for (const location of everyKind('race.sqlite')) {
    it(`${location.kind}: sixteen loads racing to create the table all succeed, each row once`, async () => {
      const table = uniqueTable(`race_${location.kind}`);
      tables.push(table);
      const root = await fs.mkdtemp(path.join(scratch, 'race-'));
      const pipeline = pipelineOf(table, integerId);
      const batches = Array.from({ length: 16 }, (_, i) => [{ id: 2 * i + 1 }, { id: 2 * i + 2 }]);
      const outcomes = await Promise.all(batches.map((records) => loadRecords(databases, location, pipeline, records, root)));
      assert.deepEqual(
        outcomes.map((o) => o.inserted),
        batches.map(() => 2),
      );
      assert.deepEqual(
        await idsAt(location, root, table),
        Array.from({ length: 32 }, (_, i) => i + 1),
      );
    });
  }

  for (const location of everyKind('overlap.sqlite')) {
    it(`${location.kind}: a batch whose records are partly in the table already, or hold a key twice, adds only the new ones`, async () => {
      const table = uniqueTable(`overlap_${location.kind}`);
      tables.push(table);
      const root = await fs.mkdtemp(path.join(scratch, 'overlap-'));
      const pipeline = pipelineOf(table, idAndNote);
      const load = loadIds(databases, location, pipeline, root);
      assert.deepEqual(await load([1, 2, 3]), { records: 3, inserted: 3 });
      assert.deepEqual(await load([3, 4, 5]), { records: 3, inserted: 2 }, 'id 3 was there');
      assert.deepEqual(await load([6, 6, 7]), { records: 3, inserted: 2 }, 'id 6 twice in one batch');
      assert.deepEqual(await load([1, 2, 3, 4, 5, 6, 7]), { records: 7, inserted: 0 }, 'all there');
      assert.deepEqual(await idsAt(location, root, table), [1, 2, 3, 4, 5, 6, 7]);
    });
  }

  it('sqlite: a batch file goes in whole; one with a bad line, found as its rows go in, leaves neither rows nor the table behind', async () => {
    const root = await fs.mkdtemp(path.join(scratch, 'batch-file-'));
    const pipeline = pipelineOf(uniqueTable('batch_file'), idAndNote);
    const location: Location = { kind: 'sqlite', path: 'batch.sqlite' };
    const head = headLine({ pipeline: 'p', source: 'orders.csv', index: 0, columns: ['id', 'note'] });
    const good = path.join(root, 'good.tsv');
    const lines = Array.from({ length: 3000 }, (_, i) => rowLine([i + 1, i % 7 ? `n${i + 1}` : null]));
    await fs.writeFile(good, head + lines.join(''));
    assert.deepEqual(await loadInto(databases, location, pipeline, await openBatchFile(good, pipeline), root), { records: 3000, inserted: 3000 });
    const file = path.join(root, location.path);
    const rows = sqliteQuery<{ id: number; note: string | null }>(file, `SELECT id, note FROM "${pipeline.table}" WHERE id IN (8, 3000)`);
    assert.deepEqual(rows, [
      { id: 8, note: null },
      { id: 3000, note: 'n3000' },
    ]);

    const other = pipelineOf(uniqueTable('bad_batch'), idAndNote);
    const bad = path.join(root, 'bad.tsv');
    // Line 2,502 of the file (the head is line 1): 2,500 rows go in before it is read.
    await fs.writeFile(bad, head + [...lines.slice(0, 2500), 'not-a-number\tx\n', ...lines.slice(2500)].join(''));
    await assert.rejects(
      async () => loadInto(databases, location, other, await openBatchFile(bad, other), root),
      (err: Error) => err instanceof RecordError && /line 2502/.test(err.message),
    );
    const tables = sqliteQuery<{ name: string }>(file, `SELECT name FROM sqlite_master WHERE name = '${other.table}'`);
    assert.deepEqual(tables, [], 'the table the bad batch would have made');
    assert.equal(sqliteQuery<{ n: number }>(file, `SELECT count(*) AS n FROM "${pipeline.table}"`)[0]!.n, 3000);
  });

  it('postgres: loads share a few pooled connections, which stay open for the next batch and close with the worker', async () => {
    const table = uniqueTable('pooled');
    tables.push(table);
    const applicationName = `courier-pool-test-${process.pid}`;
    const pooled = new Databases({ applicationName });
    const connections = async () =>
      Number((await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = '${applicationName}'`))[0].n);
    const pipeline = pipelineOf(table, integerId);
    const location: Location = { kind: 'postgres', url: PG_URL };
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, (_, i) => loadRecords(pooled, location, pipeline, [{ id: 2 * i }, { id: 2 * i + 1 }], '/unused')),
      );
      assert.equal(
        outcomes.reduce((n, o) => n + o.inserted, 0),
        24,
      );
      const open = await connections();
      assert.ok(open >= 1 && open <= CONNECTIONS_PER_LOCATION, `${open} connections for 12 loads, at most ${CONNECTIONS_PER_LOCATION}`);
      await loadRecords(pooled, location, pipeline, [{ id: 100 }], '/unused');
      assert.equal(await connections(), open, 'the next batch borrows an open connection');
    } finally {
      await pooled.close();
    }
    await waitFor(async () => (await connections()) === 0, 'the pool closed its connections');
  });

  // Names courier writes into SQL itself, and values it never does: keywords are quoted, anything else is refused.
  const hostile = [
    { select: 1, from: "O'Brien", order: 'back\\slash', group: '"; DROP TABLE x; --' },
    { select: 2, from: "Robert'); DROP TABLE students;--", order: "\\'", group: '$1 %s ? :name' },
    // What PostgreSQL's COPY text format gives a meaning to: separators, line ends, its null marker and end-of-data marker.
    { select: 3, from: 'tab\there', order: 'line\nbreak\r\n', group: '\\N' },
    { select: 4, from: '\\.', order: '\\\t', group: 'é ✓ \u0001' },
  ];
  for (const location of everyKind('keywords.sqlite')) {
    it(`${location.kind}: SQL keywords as table and column names, and values full of quotes and backslashes, load verbatim`, async () => {
      const table = `select_${uniqueTable(location.kind)}`;
      tables.push(table);
      const root = await fs.mkdtemp(path.join(scratch, 'keywords-'));
      const pipeline = pipelineOf(table, [
        { name: 'select', type: 'integer', required: true },
        { name: 'from', type: 'string', required: true },
        { name: 'order', type: 'string', required: true },
        { name: 'group', type: 'string', required: true },
      ]);
      assert.deepEqual((await loadRecords(databases, location, pipeline, hostile, root)).inserted, hostile.length);
      const sql = `SELECT * FROM ${location.kind === 'mariadb' ? `\`${table}\`` : `"${table}"`} ORDER BY 1`;
      const rows =
        location.kind === 'postgres'
          ? await pgQuery(sql)
          : location.kind === 'mariadb'
            ? await mariaQuery(sql)
            : sqliteQuery(path.join(root, 'keywords.sqlite'), sql);
      assert.deepEqual(
        rows.map((r) => ({ select: Number(r.select), from: r.from, order: r.order, group: r.group })),
        hostile,
      );
    });
  }

  it('a table or column name that is not a plain identifier is refused by the pipeline file, naming it', async () => {
    const root = await fs.mkdtemp(path.join(scratch, 'names-'));
    for (const [where, bad] of [
      ['table', 'orders"; DROP TABLE orders; --'],
      ['table', 'a`b'],
      ['columns.0.name', "x' OR '1'='1"],
      ['columns.0.name', 'na\u00efve'],
    ]) {
      const column = where === 'table' ? 'id' : bad;
      const file = path.join(root, 'pipelines.json');
      fsSync.writeFileSync(
        file,
        JSON.stringify({
          locations: { x: { kind: 'sqlite', path: 'x.sqlite' } },
          pipelines: { p: { columns: [{ name: column, type: 'integer' }], key: [column], table: where === 'table' ? bad : 'ok', locations: ['x'] } },
        }),
      );
      assert.throws(
        () => readEtlFile(file),
        (err: unknown) => err instanceof EtlConfigError && err.message.includes(`pipelines.p.${where}`) && /a SQL identifier/.test(err.message),
        `${where} ${bad}`,
      );
    }
  });
});

describe('storage locations: a MariaDB server that refuses LOAD DATA LOCAL INFILE', () => {
  const tables: string[] = [];
  after(() => dropTables(tables));

  it('mariadb: every batch goes in as multi-row inserts, each row once, and the worker says why once, naming the server', async () => {
    const table = uniqueTable('no_infile');
    tables.push(table);
    const warnings: { msg: string; database?: string }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
    const databases = new Databases({ logger });
    const location: Location = { kind: 'mariadb', url: MARIADB_URL };
    const pipeline = pipelineOf(table, idAndNote);
    const load = loadIds(databases, location, pipeline, '/unused');
    const [{ was }] = await mariaQuery<{ was: number }>('SELECT @@GLOBAL.local_infile AS was');
    // A global setting: a load elsewhere on this server meanwhile takes the same fallback, and ends the same.
    await mariaQuery('SET GLOBAL local_infile = 0');
    try {
      assert.deepEqual(await load([1, 2, 3]), { records: 3, inserted: 3 });
      assert.deepEqual(await load([3, 4, 5]), { records: 3, inserted: 2 }, 'id 3 was there');
      const many = Array.from({ length: 5_000 }, (_, i) => i + 6);
      assert.deepEqual(await load(many), { records: many.length, inserted: many.length });
    } finally {
      await mariaQuery(`SET GLOBAL local_infile = ${Number(was) ? 1 : 0}`);
      await databases.close();
    }
    assert.deepEqual(
      await idsAt(location, '/unused', table),
      Array.from({ length: 5_005 }, (_, i) => i + 1),
    );
    assert.equal(warnings.length, 1, `one warning for three loads: ${JSON.stringify(warnings)}`);
    assert.match(warnings[0]!.msg, /refuses LOAD DATA LOCAL INFILE \(local_infile is off\)/);
    assert.equal(warnings[0]!.database, MARIADB_URL);
  });
});

describe('storage locations: a database that drops its connections in the middle of a load', () => {
  const tables: string[] = [];
  after(() => dropTables(tables));

  for (const kind of ['postgres', 'mariadb'] as const) {
    it(`${kind}: the load fails as unreachable, the worker process lives on, and the retried batch goes in whole`, async () => {
      const table = uniqueTable(`cut_${kind}`);
      tables.push(table);
      const target = new URL(kind === 'postgres' ? PG_URL : MARIADB_URL);
      const proxy = await startTcpProxy(target.hostname, Number(target.port));
      const proxied = new URL(target);
      proxied.port = String(proxy.port);
      const location: Location = { kind, url: proxied.toString() };
      const databases = new Databases();
      const crashes: Error[] = [];
      const onCrash = (err: Error) => crashes.push(err);
      process.on('uncaughtException', onCrash);
      try {
        const pipeline = pipelineOf(table, idAndNote);
        pipeline.batchSize = 20_000;
        const records = Array.from({ length: 20_000 }, (_, i) => ({ id: i + 1, note: `row ${i + 1} `.padEnd(100, 'x') }));
        // The first load creates the table; the cut comes once the rows themselves are streaming (COPY or LOAD DATA).
        await loadRecords(databases, location, pipeline, records.slice(0, 1), '/unused');
        // Cut in the statements before the rows, early in the rows, and late in them.
        for (const after of [1024, 256 * 1024, 1536 * 1024]) {
          const cut = proxy.cutAfter(after);
          await assert.rejects(loadRecords(databases, location, pipeline, records, '/unused'), (err: unknown) => {
            assert.ok(
              isUnreachableError(err),
              `cut after ${after} bytes: a dropped connection is waited out, not counted against the batch: ${(err as Error).message}`,
            );
            return true;
          });
          await cut;
          // The drivers report a lost connection on more than one path, some of them a tick later.
          await new Promise((resolve) => setTimeout(resolve, 300));
          assert.deepEqual(
            crashes.map((e) => e.message),
            [],
            `cut after ${after} bytes: no error escapes to the process`,
          );
          proxy.restore();
        }
        assert.deepEqual(await loadRecords(databases, location, pipeline, records, '/unused'), {
          records: records.length,
          inserted: records.length - 1,
        });
        assert.equal((await idsAt(location, '/unused', table))?.length, records.length);
      } finally {
        process.off('uncaughtException', onCrash);
        await databases.close();
        await proxy.close();
      }
    });
  }
});
