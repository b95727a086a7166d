/**
 * T's batch files, written row by row without an object per record: the same
 * JSON a record's JSON.stringify gives, the digest of the very bytes on disk,
 * and nothing left of a batch given up.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BatchWriter, rowSerializer } from '../src/kinds/etl/batch-writer';
import type { Pipeline } from '../src/kinds/etl/pipelines';
import type { Row } from '../src/kinds/etl/records';

const pipeline = {
  format: 'csv',
  patterns: ['*'],
  columns: [
    { name: 'id', type: 'integer', required: true },
    { name: 'say "hi"\n', type: 'string', required: false },
    { name: 'amount', type: 'number', required: false },
    { name: 'paid', type: 'boolean', required: false },
  ],
  key: ['id'],
  table: 't',
  batchSize: 10,
  locations: ['x'],
} as unknown as Pipeline;

const names = pipeline.columns.map((c) => c.name);
const asRecord = (row: Row) => Object.fromEntries(names.map((n, i) => [n, row[i]]));

const rows: Row[] = [
  [1, 'plain', 1.5, true],
  [2, 'quote " backslash \\ tab \t newline \n nul \u0000', -0.000001, false],
  [3, 'unicode é 漢字 😀 and a lone \ud800 surrogate', 1e21, null],
  [4, null, null, null],
  [Number.MAX_SAFE_INTEGER, '', 0, true],
];

describe('etl: batch files as T writes them', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP ?? os.tmpdir(), 'batch-writer-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it("writes each row as its record's JSON.stringify, escapes and all", () => {
    const serialize = rowSerializer(pipeline);
    for (const row of rows) assert.equal(serialize(row), JSON.stringify(asRecord(row)));
  });

  it('writes a batch that parses to its records, in pieces, and returns the sha256 of the bytes on disk', async () => {
    const file = path.join(dir, 'orders.b000001.json');
    const many = Array.from({ length: 20_000 }, (_, i) => rows[i % rows.length].map((v, c) => (c === 0 ? i + 1 : v)));
    const writer = new BatchWriter(file, { pipeline: 'orders', source: 'orders.csv', index: 0 }, rowSerializer(pipeline));
    for (const row of many) await writer.add(row);
    const digest = await writer.finish();
    const bytes = await fs.readFile(file);
    assert.ok(bytes.length > 1024 * 1024, 'large enough to be written in several pieces');
    assert.equal(digest, createHash('sha256').update(bytes).digest('hex'));
    const parsed = JSON.parse(bytes.toString('utf8'));
    assert.deepEqual(
      { pipeline: parsed.pipeline, source: parsed.source, index: parsed.index },
      { pipeline: 'orders', source: 'orders.csv', index: 0 },
    );
    assert.deepEqual(parsed.records, many.map(asRecord));
    assert.equal(bytes.toString('utf8').split('\n').length, many.length + 3, 'one record per line, for a person fixing it by hand');
    assert.deepEqual(await fs.readdir(dir), ['orders.b000001.json'], 'no temp file left');
  });

  it('leaves nothing of a batch given up', async () => {
    const file = path.join(dir, 'given-up.b000001.json');
    const writer = new BatchWriter(file, { pipeline: 'orders', source: 'given-up.csv', index: 0 }, rowSerializer(pipeline));
    for (let i = 0; i < 30_000; i++) await writer.add(rows[0]);
    await writer.discard();
    assert.deepEqual(
      (await fs.readdir(dir)).filter((n) => n.startsWith('given-up')),
      [],
    );
  });
});
