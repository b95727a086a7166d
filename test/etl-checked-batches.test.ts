/**
 * A Load job's check of a batch the T step wrote in the same worker, on real
 * files: trusted while the file is the one written (moved, not changed), read
 * and checked whole once anything changed it or another worker wrote it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../src/activities';
import type { OwnedDeps } from '../src/activities/deps';
import type { BatchCheck, TakenBatch } from '../src/kinds/etl/activities/batches';
import { batchName, STAGE_DIRS } from '../src/kinds/etl/layout';
import { COLUMNS, etlScratch, localOrders, writePipelines } from './helpers/etl';

const PIPELINES = localOrders(2);

describe('etl: batches the T step checked', () => {
  let scratch: Awaited<ReturnType<typeof etlScratch>>;
  let root: string;
  let deps: OwnedDeps;
  const run = <T>(step: () => Promise<T>) => new MockActivityEnvironment().run(step);

  before(async () => {
    scratch = await etlScratch('checked-batches-', PIPELINES);
    root = scratch.root;
    deps = scratch.deps({ COURIER_HOST: 'checked-host' });
  });
  after(() => scratch.close());

  /** T's split of a CSV of `rows` rows into batches of two, in L/working (as jobs recorded before tab-separated batches split, with `format` JSON). */
  async function split(name: string, rows: number, format: 'tsv' | 'json' = 'tsv') {
    const csv = ['id,customer,amount,paid', ...Array.from({ length: rows }, (_, i) => `${i + 1},c${i},${i}.5,yes`)].join('\n');
    await fs.mkdir(path.join(root, STAGE_DIRS.transformInProcess), { recursive: true });
    await fs.writeFile(path.join(root, STAGE_DIRS.transformInProcess, name), `${csv}\n`);
    const { writeBatches } = createActivities(deps);
    return run(() => writeBatches({ pipeline: 'orders', dir: STAGE_DIRS.transformInProcess, name, ...(format === 'tsv' ? { format } : {}) }));
  }
  const check = (name: string, dir: typeof STAGE_DIRS.loadWorking | typeof STAGE_DIRS.loadInProgress = STAGE_DIRS.loadWorking) =>
    run(() => createActivities(deps).checkBatch({ pipeline: 'orders', dir, name })) as Promise<BatchCheck>;

  it('a batch moved from L/working as T wrote it is trusted without parsing it; each is trusted once', async () => {
    assert.deepEqual(await split('moved.csv', 3), { valid: true, records: 3, batches: 2 });
    const remembered = deps.checkedBatches.size;
    const name = batchName('moved.csv', 0, 'tsv');
    await fs.mkdir(path.join(root, STAGE_DIRS.loadInProgress), { recursive: true });
    await fs.rename(path.join(root, STAGE_DIRS.loadWorking, name), path.join(root, STAGE_DIRS.loadInProgress, name));
    assert.deepEqual(await check(name, STAGE_DIRS.loadInProgress), { valid: true, records: 2, locations: ['local'] });
    assert.equal(deps.checkedBatches.size, remembered - 1, 'taken from what T remembered');
    // Checked again (a retry), it is read and checked whole: the same answer.
    assert.deepEqual(await check(name, STAGE_DIRS.loadInProgress), { valid: true, records: 2, locations: ['local'] });
    assert.deepEqual(await check(batchName('moved.csv', 1, 'tsv')), { valid: true, records: 1, locations: ['local'] });
  });

  it('a batch changed after T wrote it, even in place to the same size, is parsed and its bad record found', async () => {
    await split('changed.csv', 2);
    const remembered = deps.checkedBatches.size;
    const file = path.join(root, STAGE_DIRS.loadWorking, batchName('changed.csv', 0, 'tsv'));
    const text = await fs.readFile(file, 'utf8');
    const bad = text.replace('\t0.5\t', '\tx.5\t');
    assert.notEqual(bad, text);
    assert.equal(bad.length, text.length);
    // In place and at once: the same inode and size, and likely the same modification time, but other bytes.
    await fs.writeFile(file, bad);
    const verdict = await check(batchName('changed.csv', 0, 'tsv'));
    assert.equal(verdict.valid, false);
    assert.match((verdict as { reason: string }).reason, /amount/);
    assert.equal(deps.checkedBatches.size, remembered, 'what T wrote is not what was found: nothing trusted');
  });

  it('a batch another worker wrote, or one checked under another pipeline definition, is parsed and checked whole', async () => {
    await split('elsewhere.csv', 2);
    const name = batchName('elsewhere.csv', 0, 'tsv');
    const file = path.join(root, STAGE_DIRS.loadWorking, name);
    const text = await fs.readFile(file, 'utf8');
    // Bytes this worker never wrote, as a batch from another host moved here would be.
    await fs.writeFile(file, text.replace('\n1\t', '\n\\N\t'));
    assert.equal((await check(name)).valid, false);

    await split('redefined.csv', 2);
    // The pipeline changed between T and L: its amounts must now be whole numbers, and 0.5 is not.
    await writePipelines(root, {
      ...PIPELINES,
      pipelines: {
        orders: {
          ...PIPELINES.pipelines.orders,
          columns: COLUMNS.map((c) => (c.name === 'amount' ? { ...c, type: 'integer' } : c)),
        },
      },
    });
    const verdict = await check(batchName('redefined.csv', 0, 'tsv'));
    assert.equal(verdict.valid, false);
    assert.match((verdict as { reason: string }).reason, /amount/);
  });
  it('a load step that files its batch as it loads can run again after it did (a retry whose report was lost): it reads the batch where it filed it and inserts nothing twice', async () => {
    await writePipelines(root, PIPELINES);
    assert.deepEqual(await split('filed.csv', 2), { valid: true, records: 2, batches: 1 });
    const name = batchName('filed.csv', 0, 'tsv');
    const { takeBatch, loadBatch } = createActivities(deps);
    assert.deepEqual(await run(() => takeBatch({ pipeline: 'orders', name })), { valid: true, records: 2, locations: ['local'] });
    const where = async () =>
      (
        await Promise.all(
          [STAGE_DIRS.loadWorking, STAGE_DIRS.loadInProgress, STAGE_DIRS.loadResolved].map(async (dir) =>
            (await fs.readdir(path.join(root, dir)).catch(() => [] as string[])).includes(name) ? [dir] : [],
          ),
        )
      ).flat();
    assert.deepEqual(await where(), [STAGE_DIRS.loadInProgress]);
    const load = () =>
      run(() => loadBatch({ pipeline: 'orders', location: 'local', dir: STAGE_DIRS.loadInProgress, name, thenFileIn: STAGE_DIRS.loadResolved }));
    assert.deepEqual(await load(), { records: 2, inserted: 2 });
    assert.deepEqual(await where(), [STAGE_DIRS.loadResolved], 'filed as resolved by the step that loaded it');
    assert.deepEqual(await load(), { records: 2, inserted: 0 });
    assert.deepEqual(await where(), [STAGE_DIRS.loadResolved]);
  });

  it('one step takes, checks, loads and files a one-location batch; run again after its report was lost, it finds the batch filed and inserts nothing twice; a location that refuses comes back as the outcome', async () => {
    // A table of its own: the rows of the other tests are not there.
    await writePipelines(root, { ...PIPELINES, pipelines: { orders: { ...PIPELINES.pipelines.orders, table: 'one_step_orders' } } });
    assert.deepEqual(await split('one-step.csv', 2), { valid: true, records: 2, batches: 1 });
    const name = batchName('one-step.csv', 0, 'tsv');
    const { takeAndLoadBatch } = createActivities(deps);
    const step = (attempt: number) => new MockActivityEnvironment({ attempt }).run(() => takeAndLoadBatch({ pipeline: 'orders', name }));
    const loaded = { valid: true, records: 2, locations: ['local'] };
    assert.deepEqual(await step(1), { ...loaded, loaded: { location: 'local', outcome: 'loaded', records: 2, inserted: 2 } });
    assert.ok((await fs.readdir(path.join(root, STAGE_DIRS.loadResolved))).includes(name), 'filed as resolved');
    assert.deepEqual(await step(2), { ...loaded, loaded: { location: 'local', outcome: 'loaded', records: 2, inserted: 0 } }, 'a retry');
    await assert.rejects(step(1), /is gone and .* does not hold it/, 'a first attempt does not take a batch resolved before it');

    await writePipelines(root, {
      locations: { ...PIPELINES.locations, nowhere: { kind: 'sqlite', path: 'db/not-a-database.sqlite' } },
      pipelines: { orders: { ...PIPELINES.pipelines.orders, locations: ['nowhere'] } },
    });
    await fs.mkdir(path.join(root, 'db'), { recursive: true });
    await fs.writeFile(path.join(root, 'db', 'not-a-database.sqlite'), 'plain text, not SQLite\n'.repeat(100));
    assert.deepEqual(await split('refused.csv', 1), { valid: true, records: 1, batches: 1 });
    const refused = (await run(() => takeAndLoadBatch({ pipeline: 'orders', name: batchName('refused.csv', 0, 'tsv'), attempts: 1 }))) as TakenBatch;
    const outcome = 'loaded' in refused ? refused.loaded : undefined;
    assert.equal(outcome?.outcome, 'failed');
    assert.match(outcome?.error ?? '', /nowhere.*not a database/);
    assert.ok(
      (await fs.readdir(path.join(root, STAGE_DIRS.loadInProgress))).includes(batchName('refused.csv', 0, 'tsv')),
      'left in progress for the job to park',
    );
  });

  it('a batch of the earlier JSON form (split by a job recorded before batches were tab-separated) is taken, checked and loaded', async () => {
    await writePipelines(root, PIPELINES);
    assert.deepEqual(await split('earlier.csv', 3, 'json'), { valid: true, records: 3, batches: 2 });
    const { takeBatch, loadBatch } = createActivities(deps);
    let loaded = 0;
    for (const index of [0, 1]) {
      const name = batchName('earlier.csv', index);
      assert.match(name, /\.json$/);
      const check = (await run(() => takeBatch({ pipeline: 'orders', name }))) as BatchCheck;
      assert.equal(check.valid, true);
      loaded += ((await run(() => loadBatch({ pipeline: 'orders', location: 'local', dir: STAGE_DIRS.loadInProgress, name }))) as { records: number })
        .records;
    }
    assert.equal(loaded, 3);
    const file = path.join(root, STAGE_DIRS.loadInProgress, batchName('earlier.csv', 0));
    await fs.writeFile(file, (await fs.readFile(file, 'utf8')).replace('"amount":0.5', '"amount":"x"'));
    const verdict = await check(batchName('earlier.csv', 0), STAGE_DIRS.loadInProgress);
    assert.match((verdict as { reason: string }).reason, /amount/, 'changed by hand, it is checked record by record');
  });
});
