/**
 * T's split of a large file on several threads at once, on real files: the
 * batch files are byte for byte those a single read writes, a bad record is
 * reported at its own line (the first in the file when there are several)
 * with nothing left behind, and files that cannot be cut by lines are read in one go.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../src/activities';
import type { OwnedDeps } from '../src/activities/deps';
import type { BatchSplit } from '../src/kinds/etl/activities/batches';
import { STAGE_DIRS } from '../src/kinds/etl/layout';
import { planSplit } from '../src/kinds/etl/split-plan';
import { etlScratch, localOrders } from './helpers/etl';

const ROWS = 20_000;
const RANGE = 64 * 1024;

describe('etl: T splits a large file on threads', () => {
  let scratch: Awaited<ReturnType<typeof etlScratch>>;
  let root: string;
  /** Splits on threads past 64 KiB; the other never does. */
  let threaded: OwnedDeps;
  let single: OwnedDeps;

  before(async () => {
    scratch = await etlScratch('parallel-split-', localOrders(1000));
    root = scratch.root;
    threaded = scratch.deps({ COURIER_ETL_SPLIT_RANGE: `${RANGE}` });
    single = scratch.deps({ COURIER_ETL_SPLIT_RANGE: '1GiB' });
  });
  after(() => scratch.close());

  const working = () => path.join(root, STAGE_DIRS.loadWorking);

  /** Splits `text` as `name` with the given worker, and returns the result and every file T left in L/working with its bytes. */
  async function split(deps: OwnedDeps, name: string, text: string): Promise<{ result: BatchSplit; files: Map<string, string> }> {
    await fs.rm(working(), { recursive: true, force: true });
    await fs.mkdir(path.join(root, STAGE_DIRS.transformInProcess), { recursive: true });
    await fs.writeFile(path.join(root, STAGE_DIRS.transformInProcess, name), text);
    const result = (await new MockActivityEnvironment().run(() =>
      createActivities(deps).writeBatches({ pipeline: 'orders', dir: STAGE_DIRS.transformInProcess, name }),
    )) as BatchSplit;
    const files = new Map<string, string>();
    for (const file of (await fs.readdir(working())).sort()) files.set(file, await fs.readFile(path.join(working(), file), 'utf8'));
    return { result, files };
  }

  const pipeline = () => threaded.pipelines.pipeline('orders');
  const ranges = async (name: string) =>
    (await planSplit(path.join(root, STAGE_DIRS.transformInProcess, name), pipeline(), { ranges: 4, minBytes: RANGE }))?.ranges.length ?? 1;

  async function sameAsOneRead(name: string, text: string, records: number) {
    const one = await split(single, name, text);
    const many = await split(threaded, name, text);
    assert.deepEqual(one.result, { valid: true, records, batches: Math.ceil(records / 1000) });
    assert.deepEqual(many.result, one.result);
    assert.deepEqual([...many.files.keys()], [...one.files.keys()], 'the same batch names, and nothing else');
    for (const [file, bytes] of one.files) assert.equal(many.files.get(file), bytes, `${file}: the same bytes`);
  }

  const csvLine = (i: number) => `${i},customer-${i % 97},${(i % 1000) / 4},${i % 2 ? 'yes' : 'no'}`;
  const jsonLine = (i: number) => JSON.stringify({ id: i, customer: `customer-${i % 97}`, amount: (i % 1000) / 4, paid: i % 2 === 1 });

  it('writes a CSV file in the very batches one read writes, blank lines, a BOM and a last line without a newline included', async () => {
    const lines = Array.from({ length: ROWS }, (_, i) => csvLine(i + 1) + (i % 997 === 5 ? '\n' : ''));
    const text = `\uFEFFid,customer,amount,paid\n${lines.join('\n')}`;
    await fs.mkdir(path.join(root, STAGE_DIRS.transformInProcess), { recursive: true });
    await fs.writeFile(path.join(root, STAGE_DIRS.transformInProcess, 'big.csv'), text);
    assert.ok((await ranges('big.csv')) >= 2, 'the file is cut into ranges');
    await sameAsOneRead('big.csv', text, ROWS);
  });

  it('writes a JSON Lines file in the very batches one read writes, lines of spaces included; a line the plan counts wrongly falls back to one read', async () => {
    const lines = Array.from({ length: ROWS }, (_, i) => jsonLine(i + 1) + (i % 501 === 3 ? '\n  \t' : ''));
    await fs.writeFile(path.join(root, STAGE_DIRS.transformInProcess, 'big.jsonl'), `${lines.join('\n')}\n`);
    assert.ok((await ranges('big.jsonl')) >= 2);
    await sameAsOneRead('big.jsonl', `${lines.join('\n')}\n`, ROWS);
    // A line of no-break spaces is blank to the reader (trim) but not to the plan: the ranges hold other counts than planned.
    const odd = lines.map((line, i) => (i === 100 ? `${line}\n\u00a0\u00a0` : line));
    await sameAsOneRead('odd.jsonl', `${odd.join('\n')}\n`, ROWS);
  });

  it('reads files that cannot be cut by lines (quotes, carriage returns) in one go, to the same batches', async () => {
    const quoted = `id,customer,amount,paid\n${Array.from({ length: ROWS }, (_, i) => (i === 7 ? '8,"eight, with a comma",2,no' : csvLine(i + 1))).join('\n')}\n`;
    await fs.writeFile(path.join(root, STAGE_DIRS.transformInProcess, 'quoted.csv'), quoted);
    assert.equal(await ranges('quoted.csv'), 1);
    await sameAsOneRead('quoted.csv', quoted, ROWS);
    const crlf = `id,customer,amount,paid\r\n${Array.from({ length: ROWS }, (_, i) => csvLine(i + 1)).join('\r\n')}\r\n`;
    await fs.writeFile(path.join(root, STAGE_DIRS.transformInProcess, 'crlf.csv'), crlf);
    assert.equal(await ranges('crlf.csv'), 1);
    await sameAsOneRead('crlf.csv', crlf, ROWS);
  });

  it('reports the first bad record in the file at its own line, and leaves no batch of it behind', async () => {
    const lines = Array.from({ length: ROWS }, (_, i) => csvLine(i + 1));
    // One bad record in each half: the range after the first may well fail first, but the file's first is the one named.
    lines[(ROWS * 3) / 4] = `${(ROWS * 3) / 4 + 1},late,not-a-number,no`;
    lines[ROWS / 4] = `${ROWS / 4 + 1},early,also-not,no`;
    const text = `id,customer,amount,paid\n${lines.join('\n')}\n`;
    await fs.writeFile(path.join(root, STAGE_DIRS.transformInProcess, 'bad.csv'), text);
    assert.ok((await ranges('bad.csv')) >= 2);
    for (const deps of [single, threaded]) {
      const { result, files } = await split(deps, 'bad.csv', text);
      assert.deepEqual(result, { valid: false, reason: `bad.csv: line ${ROWS / 4 + 2}: column "amount": "also-not" is not a number` });
      assert.deepEqual([...files.keys()], [], 'no batch, whole or provisional, is left');
    }
  });
});
