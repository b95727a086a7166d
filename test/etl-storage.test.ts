import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import fsSync from 'node:fs';
import { EtlConfigError, readEtlFile, type Location, type Pipeline } from '../src/kinds/etl/pipelines';
import { loadInto } from '../src/kinds/etl/storage';
import { dropTables, idsIn, mariaQuery, MARIADB_URL, pgQuery, PG_URL, sqliteQuery, uniqueTable } from './helpers/etl';

describe('storage locations: the first loads into a new table', () => {
  const tables: string[] = [];
  after(() => dropTables(tables));

  for (const location of [
    { kind: 'postgres', url: PG_URL },
    { kind: 'mariadb', url: MARIADB_URL },
    { kind: 'sqlite', path: 'race.sqlite' },
  ] as Location[]) {
    it(`${location.kind}: sixteen loads racing to create the table all succeed, each row once`, async () => {
      const table = uniqueTable(`race_${location.kind}`);
      tables.push(table);
      const root = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'race-'));
      const pipeline: Pipeline = {
        format: 'auto',
        patterns: ['*'],
        columns: [{ name: 'id', type: 'integer', required: true }],
        key: ['id'],
        table,
        batchSize: 2,
        locations: ['x'],
      };
      const batches = Array.from({ length: 16 }, (_, i) => [{ id: 2 * i + 1 }, { id: 2 * i + 2 }]);
      const outcomes = await Promise.all(batches.map((records) => loadInto(location, pipeline, records, root)));
      assert.deepEqual(
        outcomes.map((o) => o.inserted),
        batches.map(() => 2),
      );
      const ids = await idsIn(
        location.kind === 'sqlite'
          ? { sqlite: { file: path.join(root, 'race.sqlite'), table } }
          : location.kind === 'postgres'
            ? { pg: table }
            : { maria: table },
      );
      assert.deepEqual(
        Object.values(ids)[0],
        Array.from({ length: 32 }, (_, i) => i + 1),
      );
    });
  }

  // Names courier writes into SQL itself, and values it never does: keywords are quoted, anything else is refused.
  const hostile = [
    { select: 1, from: "O'Brien", order: 'back\\slash', group: '"; DROP TABLE x; --' },
    { select: 2, from: "Robert'); DROP TABLE students;--", order: "\\'", group: '$1 %s ? :name' },
  ];
  for (const location of [
    { kind: 'postgres', url: PG_URL },
    { kind: 'mariadb', url: MARIADB_URL },
    { kind: 'sqlite', path: 'keywords.sqlite' },
  ] as Location[]) {
    it(`${location.kind}: SQL keywords as table and column names, and values full of quotes and backslashes, load verbatim`, async () => {
      const table = `select_${uniqueTable(location.kind)}`;
      tables.push(table);
      const root = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'keywords-'));
      const pipeline: Pipeline = {
        format: 'auto',
        patterns: ['*'],
        columns: [
          { name: 'select', type: 'integer', required: true },
          { name: 'from', type: 'string', required: true },
          { name: 'order', type: 'string', required: true },
          { name: 'group', type: 'string', required: true },
        ],
        key: ['select'],
        table,
        batchSize: 2,
        locations: ['x'],
      };
      assert.deepEqual((await loadInto(location, pipeline, hostile, root)).inserted, 2);
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
    const root = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'names-'));
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
