/**
 * E's and T's steps before the loads, each in one activity, on real files:
 * where each file ends up, and what a retry finds and does when the attempt
 * before it died after any of its parts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../src/activities';
import type { OwnedDeps } from '../src/activities/deps';
import type { SourceFile, Validation } from '../src/kinds/etl/activities/files';
import type { BatchSplit } from '../src/kinds/etl/activities/batches';
import { STAGE_DIRS, taggedName, type StageDir } from '../src/kinds/etl/layout';
import { csv, etlScratch, localOrders } from './helpers/etl';

describe('etl: E and T take a file in one step each', () => {
  let scratch: Awaited<ReturnType<typeof etlScratch>>;
  let base: string;
  let root: string;
  let deps: OwnedDeps;

  before(async () => {
    scratch = await etlScratch('stage-steps-', localOrders(2));
    ({ base, root } = scratch);
    deps = scratch.deps();
  });
  after(() => scratch.close());

  const run = <T>(step: () => Promise<T>) => new MockActivityEnvironment().run(step) as Promise<T>;
  const activities = () => createActivities(deps);
  const stem = (name: string) => name.slice(0, name.lastIndexOf('.'));
  const names = async (dir: StageDir | string) => (await fs.readdir(path.join(root, dir)).catch(() => [] as string[])).sort();

  async function source(name: string, text: string): Promise<SourceFile> {
    const file = path.join(base, name);
    await fs.writeFile(file, text);
    const sha256 = createHash('sha256').update(text).digest('hex');
    return { path: file, name: taggedName(file, sha256), size: Buffer.byteLength(text), sha256 };
  }

  it('E extracts a valid file, checks it and hands T a copy; run again, it finds its work done', async () => {
    const file = await source('good.csv', csv([[1, 'ann', 5, 'yes']]));
    const extract = () => run(() => activities().extractAndCheckEtlFile({ pipeline: 'orders', file, move: false }));
    assert.deepEqual(await extract(), { valid: true } satisfies Validation);
    assert.deepEqual(await names(STAGE_DIRS.extractWorking), [file.name]);
    assert.deepEqual(await names(STAGE_DIRS.transformWorking), [file.name]);
    assert.equal(await fs.readFile(path.join(root, STAGE_DIRS.transformWorking, file.name), 'utf8'), await fs.readFile(file.path, 'utf8'));
    assert.deepEqual(await extract(), { valid: true });
    assert.deepEqual(await names(STAGE_DIRS.transformWorking), [file.name], 'no second copy, no temporary left');
  });

  it('E leaves an invalid file in E/working for the workflow to file, and gives T nothing', async () => {
    const file = await source('bad.csv', 'id,who\n1,ann\n');
    const check = await run(() => activities().extractAndCheckEtlFile({ pipeline: 'orders', file, move: false }));
    assert.equal(check.valid, false);
    assert.match((check as { reason: string }).reason, /bad/);
    assert.ok((await names(STAGE_DIRS.extractWorking)).includes(file.name));
    assert.ok(!(await names(STAGE_DIRS.transformWorking)).includes(file.name));
  });

  it('T takes, splits and files a valid file; a retry after it was filed splits it again from T/resolved into the same batches', async () => {
    const name = 'orders.csv';
    const text = csv([
      [1, 'ann', 5, 'yes'],
      [2, 'bob', 3, 'no'],
      [3, 'cy', 7, ''],
    ]);
    await fs.mkdir(path.join(root, STAGE_DIRS.transformWorking), { recursive: true });
    await fs.writeFile(path.join(root, STAGE_DIRS.transformWorking, name), text);
    const take = () => run(() => activities().takeAndSplitEtlFile({ pipeline: 'orders', name, format: 'tsv' }));
    assert.deepEqual(await take(), { valid: true, records: 3, batches: 2 } satisfies BatchSplit);
    assert.ok(!(await names(STAGE_DIRS.transformWorking)).includes(name));
    assert.ok(!(await names(STAGE_DIRS.transformInProcess)).includes(name));
    assert.ok((await names(STAGE_DIRS.transformResolved)).includes(name));
    const batches = async () => {
      const found = (await names(STAGE_DIRS.loadWorking)).filter((n) => n.startsWith(`${stem(name)}.b`));
      return Promise.all(found.map(async (n) => [n, await fs.readFile(path.join(root, STAGE_DIRS.loadWorking, n), 'utf8')]));
    };
    const first = await batches();
    assert.equal(first.length, 2);
    await fs.rm(path.join(root, STAGE_DIRS.loadWorking, first[1]![0]!));
    assert.deepEqual(await take(), { valid: true, records: 3, batches: 2 });
    assert.deepEqual(await batches(), first, 'the batch the crash lost is written again, the same bytes');
    assert.ok((await names(STAGE_DIRS.transformResolved)).includes(name), 'still filed');
  });

  it('T takes the file in T/working even when an earlier job of the same file left its copy in T/resolved', async () => {
    const name = 'again.csv';
    const text = csv([[7, 'eve', 2, 'no']]);
    for (const dir of [STAGE_DIRS.transformWorking, STAGE_DIRS.transformResolved]) await fs.writeFile(path.join(root, dir, name), text);
    const split = await run(() => activities().takeAndSplitEtlFile({ pipeline: 'orders', name, format: 'tsv' }));
    assert.deepEqual(split, { valid: true, records: 1, batches: 1 });
    assert.ok(!(await names(STAGE_DIRS.transformWorking)).includes(name), 'the new copy is taken, not left behind');
    assert.ok((await names(STAGE_DIRS.transformResolved)).includes(name));
  });

  it('T leaves a file with a bad record in T/in_process, with no batch of it written', async () => {
    const name = 'late-bad.csv';
    await fs.writeFile(
      path.join(root, STAGE_DIRS.transformWorking, name),
      csv([
        [1, 'ann', 5, 'yes'],
        [2, 'bob', 'lots', 'no'],
      ]),
    );
    const split = await run(() => activities().takeAndSplitEtlFile({ pipeline: 'orders', name, format: 'tsv' }));
    assert.equal(split.valid, false);
    assert.ok((await names(STAGE_DIRS.transformInProcess)).includes(name));
    assert.ok(!(await names(STAGE_DIRS.transformResolved)).includes(name));
    assert.deepEqual(
      (await names(STAGE_DIRS.loadWorking)).filter((n) => n.startsWith(`${stem(name)}.b`)),
      [],
    );
  });
});
