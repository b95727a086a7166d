import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Location, Pipeline } from '../src/kinds/etl/pipelines';
import { loadInto } from '../src/kinds/etl/storage';
import { dropTables, idsIn, MARIADB_URL, PG_URL, uniqueTable } from './helpers/etl';

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
});
