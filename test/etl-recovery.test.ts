import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { submit, waitForJob } from '../src/client';
import type { EtlResult } from '../src/kinds/etl/contract';
import { openBatchFile } from '../src/kinds/etl/batch-content';
import { readEtlFile } from '../src/kinds/etl/pipelines';
import { Databases } from '../src/kinds/etl/databases';
import { loadInto } from '../src/kinds/etl/storage';
import { createStack, spawnWorker, waitUntil, type Stack } from './helpers/stack';
import { COLUMNS, csv, dropTables, filesIn, MARIADB_URL, PG_URL, pgQuery, rowsIn, uniqueTable, writePipelines } from './helpers/etl';

describe('etl: a worker killed with SIGKILL in the middle of the loads', () => {
  let stack: Stack;
  let root: string;
  let base: string;
  let pipelinesFile: string;
  const table = uniqueTable('crash');

  before(async () => {
    base = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'etl-crash-'));
    root = path.join(base, 'etl');
    pipelinesFile = await writePipelines(root, {
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
    const records = Array.from({ length: total }, (_, i) => ({ id: i + 1, customer: `customer-${i + 1}`, amount: i % 97, paid: i % 2 === 0 }));
    await fs.writeFile(file, csv(records.map((r) => [r.id, r.customer, r.amount, r.paid ? 'yes' : 'no'])));
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
    // Every row of every table, compared one by one with the source: a record stored twice is a second row (nothing
    // here is DISTINCT or keyed), a lost one is a missing row, a mangled one differs.
    const tables = { pg: table, maria: table, sqlite: { file: path.join(root, 'db', 'etl.sqlite'), table } };
    const expected = { pg: records, maria: records, sqlite: records };
    assert.deepEqual(await rowsIn(tables), expected, 'each record once, as in the source, in every database');
    for (const tally of result.locations) {
      assert.equal(tally.records, total, `${tally.location}: every batch loaded`);
      assert.equal(tally.failedBatches, 0);
      assert.ok(tally.inserted <= total, `${tally.location}: no row inserted twice`);
    }
    assert.equal((await filesIn(root, 'L/resolved')).length, total / 25);
    for (const dir of ['L/working', 'L/work_in_progress', 'T/work_in_process']) assert.deepEqual(await filesIn(root, dir), [], `${dir} is empty`);

    // Which loads the kill caught between their commit and its report is chance, so the recovery above may or may
    // not have loaded any batch a second time. Load every batch once more through courier's own loader, as a retry
    // after an unreported commit does: the rows must stay exactly the source's. If the key stopped keeping records
    // once (no primary key, or a plain INSERT), this adds a second row per record, or the load fails.
    const etl = readEtlFile(pipelinesFile);
    const pipeline = etl.pipelines.orders;
    const batches = await filesIn(root, 'L/resolved');
    const databases = new Databases();
    try {
      for (const location of pipeline.locations) {
        const outcome = { records: 0, inserted: 0 };
        for (const name of batches) {
          const batch = await openBatchFile(path.join(root, 'L/resolved', name), pipeline);
          const loaded = await loadInto(databases, etl.locations[location], pipeline, batch, root);
          outcome.records += loaded.records;
          outcome.inserted += loaded.inserted;
        }
        assert.deepEqual(outcome, { records: total, inserted: 0 }, `${location}: a second load of every batch inserts nothing`);
      }
    } finally {
      await databases.close();
    }
    assert.deepEqual(await rowsIn(tables), expected, 'after a second load of every batch, still each record once');
  });
});
