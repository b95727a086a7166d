import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { submit, waitForJob } from '../src/client';
import type { EtlResult } from '../src/kinds/etl/contract';
import { createStack, spawnWorker, waitUntil, type Stack } from './helpers/stack';
import { COLUMNS, csv, dropTables, filesIn, idsIn, MARIADB_URL, PG_URL, pgQuery, uniqueTable, writePipelines } from './helpers/etl';

describe('etl: a worker killed with SIGKILL in the middle of the loads', () => {
  let stack: Stack;
  let root: string;
  let base: string;
  const table = uniqueTable('crash');

  before(async () => {
    base = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'etl-crash-'));
    root = path.join(base, 'etl');
    await writePipelines(root, {
      locations: {
        pg: { kind: 'postgres', url: PG_URL },
        maria: { kind: 'mariadb', url: MARIADB_URL },
        local: { kind: 'sqlite', path: 'db/etl.sqlite' },
      },
      pipelines: { orders: { columns: COLUMNS, key: ['id'], table, batchSize: 25, locations: ['pg', 'maria', 'local'] } },
    });
    stack = await createStack({ COURIER_ETL_ROOT: root, COURIER_HEARTBEAT_TIMEOUT: '2s' });
  });
  after(async () => {
    await stack?.close();
    await dropTables([table]);
  });

  it('after recovery every database has each record exactly once, and every batch is resolved', async () => {
    const total = 3000;
    const file = path.join(base, 'many.csv');
    await fs.writeFile(file, csv(Array.from({ length: total }, (_, i) => [i + 1, `customer-${i + 1}`, i % 97, i % 2 === 0 ? 'yes' : 'no'])));
    const first = spawnWorker(stack.env);
    const { jobId } = await submit(stack.client, stack.config, { kind: 'etl', pipeline: 'orders', source: file });
    const loadedAtKill = await waitUntil(
      'some batches loaded',
      async () => {
        const rows = await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM "${table}"`).catch(() => [{ n: '0' }]);
        return Number(rows[0].n) >= 300 ? Number(rows[0].n) : undefined;
      },
      120_000,
    );
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    assert.ok(loadedAtKill < total, `the worker died before the loads were done (${loadedAtKill} of ${total} rows in PostgreSQL)`);
    const interrupted = (await filesIn(root, 'L/working')).length + (await filesIn(root, 'L/work_in_progress')).length;
    assert.ok(interrupted > 0, 'batches were waiting or in progress when the worker died');

    await stack.startWorker();
    const result = (await waitForJob(stack.client, jobId)) as EtlResult;
    const expected = Array.from({ length: total }, (_, i) => i + 1);
    const ids = await idsIn({ pg: table, maria: table, sqlite: { file: path.join(root, 'db', 'etl.sqlite'), table } });
    assert.deepEqual(ids, { pg: expected, maria: expected, sqlite: expected }, 'each record once in every database');
    for (const tally of result.locations) {
      assert.equal(tally.records, total, `${tally.location}: every batch loaded`);
      assert.equal(tally.failedBatches, 0);
      assert.ok(tally.inserted <= total, `${tally.location}: no row inserted twice`);
    }
    assert.equal((await filesIn(root, 'L/resolved')).length, total / 25);
    for (const dir of ['L/working', 'L/work_in_progress', 'T/work_in_process']) assert.deepEqual(await filesIn(root, dir), [], `${dir} is empty`);
  });
});
