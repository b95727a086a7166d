/**
 * T's batch files, written row by row without an object per record: a head
 * line and a tab-separated line per record that read back as the same rows
 * (the earlier JSON form as a record's JSON.stringify gives it), the digest
 * of the very bytes on disk, and nothing left of a batch given up.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openBatchFile } from '../src/kinds/etl/batch-content';
import { batchFieldReader, fieldsLine, lineRow, rowFields, rowLine } from '../src/kinds/etl/batch-text';
import { BatchWriter, jsonForm, rowSerializer, tabSeparatedForm, type BatchForm } from '../src/kinds/etl/batch-writer';
import type { Pipeline } from '../src/kinds/etl/pipelines';
import { fromText, type Row } from '../src/kinds/etl/records';

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

/** `count` rows cycling through the sample rows, each with an id of its own. */
const numbered = (count: number): Row[] => Array.from({ length: count }, (_, i) => rows[i % rows.length]!.map((v, c) => (c === 0 ? i + 1 : v)));

/** Writes `many` as one batch file in `form`, as T does; resolves with the digest the writer gives. */
async function writeBatch<R>(file: string, source: string, form: BatchForm<R>, many: R[]): Promise<string> {
  const writer = new BatchWriter(file, { pipeline: 'orders', source, index: 0 }, form);
  for (const record of many) await writer.add(record);
  return writer.finish();
}

/** The rows a load reads from a batch file. */
async function readBack(file: string): Promise<Row[]> {
  const back: Row[] = [];
  for await (const run of (await openBatchFile(file, pipeline)).rows()) back.push(...run);
  return back;
}

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

  it('writes each row as one tab-separated line that reads back as the same row', () => {
    for (const row of rows) {
      const line = rowLine(row);
      assert.equal(line.indexOf('\n'), line.length - 1, 'one line, whatever the values hold');
      assert.deepEqual(lineRow(pipeline, line.slice(0, -1), 2), row);
    }
  });

  it("takes a source file's field into a batch field that reads back as the value the field checks to, plain decimals as written", () => {
    const [id, , amount, paid] = pipeline.columns;
    const cases: [string, string, string][] = [
      // column, the source's field, the batch's field
      ['amount', '1.50', '1.50'],
      ['amount', ' 2.5 ', '2.5'],
      ['amount', '-.25', '-.25'],
      ['amount', '+3', '3'],
      ['amount', '1e3', '1000'],
      // Kept as written, this would be out of range for PostgreSQL; as the double's own form it is the 0 it reads as.
      ['amount', `0.${'0'.repeat(400)}1`, '0'],
      ['amount', '123456789012345678901234', String(Number('123456789012345678901234'))],
      ['amount', '', '\\N'],
      ['id', '+7', '7'],
      ['id', '0042', '0042'],
      ['paid', 'yes', '1'],
    ];
    const columns = { id: id!, amount: amount!, paid: paid! };
    for (const [name, raw, written] of cases) {
      const column = columns[name as keyof typeof columns];
      assert.equal(batchFieldReader.text(column, raw, 2), written, `${name} ${JSON.stringify(raw)}`);
      const back = lineRow(pipeline, fieldsLine(['1', 'x', '1', '1'].map((f, i) => (pipeline.columns[i] === column ? written : f))).slice(0, -1), 2);
      assert.equal(back[pipeline.columns.indexOf(column)], fromText(column, raw, 2), `${name} ${JSON.stringify(raw)} reads back as its value`);
    }
    assert.throws(() => batchFieldReader.text(amount!, 'twelve', 9), /line 9: column "amount": "twelve" is not a number/);
  });

  it('refuses a line the databases would read otherwise: a field too many, an unknown escape, a hexadecimal number, a word for a boolean', () => {
    assert.throws(() => lineRow(pipeline, '1\tx\t1.5\t1\textra', 2), /line 2: has 5 field\(s\)/);
    assert.throws(() => lineRow(pipeline, '1\tx\\q\t1.5\t1', 2), /"\\q" is not an escape/);
    assert.throws(() => lineRow(pipeline, '1\tx\t0x10\t1', 2), /column "amount": "0x10" is not a decimal number/);
    assert.throws(() => lineRow(pipeline, '1\tx\t1\tmaybe', 2), /column "paid": "maybe" is not a boolean/);
    assert.throws(() => lineRow(pipeline, '\\N\tx\t1\t1', 2), /column "id" is \\N \(no value\) but required/);
    assert.deepEqual(lineRow(pipeline, '7\t\\N\t\\N\tyes', 2), [7, null, null, true]);
  });

  it('writes a batch that reads back as its rows, in pieces, and returns the sha256 of the bytes on disk', async () => {
    const file = path.join(dir, 'orders.b000001.tsv');
    const many = numbered(40_000);
    const digest = await writeBatch(file, 'orders.csv', tabSeparatedForm(pipeline), many.map(rowFields));
    const bytes = await fs.readFile(file);
    assert.ok(bytes.length > 1024 * 1024, 'large enough to be written in several pieces');
    assert.equal(digest, createHash('sha256').update(bytes).digest('hex'));
    const text = bytes.toString('utf8');
    assert.deepEqual(JSON.parse(text.slice(0, text.indexOf('\n'))), {
      format: 'tsv',
      pipeline: 'orders',
      source: 'orders.csv',
      index: 0,
      columns: names,
    });
    const back = await readBack(file);
    // A lone surrogate is not UTF-8: it reaches the file, as it would reach any database, as U+FFFD.
    const onDisk = (row: Row) => row.map((v) => (typeof v === 'string' ? v.replace('\ud800', '\ufffd') : v));
    assert.deepEqual(back, many.map(onDisk));
    const pieces: Buffer[] = [];
    for await (const piece of (await openBatchFile(file, pipeline)).lines()) pieces.push(piece);
    const sent = Buffer.concat(pieces);
    assert.deepEqual(sent, bytes.subarray(text.indexOf('\n') + 1), 'a load sends the lines as they are on disk');
    assert.equal(text.split('\n').length, many.length + 2, 'one record per line, for a person fixing it by hand');
    assert.deepEqual(await fs.readdir(dir), ['orders.b000001.tsv'], 'no temp file left');
  });

  it('writes a row longer than the piece it gathers rows in, and multi-byte text across pieces, whole and in order', async () => {
    const file = path.join(dir, 'long.b000001.tsv');
    const long: Row = [2, `${'é漢😀'.repeat(40_000)}\tend`, 1, true];
    const many: Row[] = [rows[0], long, ...Array.from({ length: 30_000 }, (_, i): Row => [i + 3, 'é漢😀 '.repeat(i % 7), i / 8, i % 2 === 0]), long];
    const digest = await writeBatch(file, 'long.csv', tabSeparatedForm(pipeline), many.map(rowFields));
    assert.equal(
      digest,
      createHash('sha256')
        .update(await fs.readFile(file))
        .digest('hex'),
    );
    assert.deepEqual(await readBack(file), many);
    await fs.rm(file);
  });

  it('writes the earlier JSON form for jobs recorded before the change, and reads it back', async () => {
    const file = path.join(dir, 'orders.b000001.json');
    const many = numbered(20_000);
    const digest = await writeBatch(file, 'orders.csv', jsonForm(pipeline), many);
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
    const back = await readBack(file);
    // Read as the earlier form's check read it: "" is no value there.
    const asChecked = (row: Row) => row.map((v) => (v === '' ? null : v));
    assert.deepEqual(back, many.map(asChecked), 'read back through the same reader as a tab-separated batch');
    assert.deepEqual((await fs.readdir(dir)).sort(), ['orders.b000001.json', 'orders.b000001.tsv'], 'no temp file left');
  });

  it('leaves nothing of a batch given up', async () => {
    const file = path.join(dir, 'given-up.b000001.json');
    const writer = new BatchWriter(file, { pipeline: 'orders', source: 'given-up.csv', index: 0 }, tabSeparatedForm(pipeline));
    for (let i = 0; i < 30_000; i++) await writer.add(rowFields(rows[0]!));
    await writer.discard();
    assert.deepEqual(
      (await fs.readdir(dir)).filter((n) => n.startsWith('given-up')),
      [],
    );
  });

  it('refuses a head line larger than the piece it is gathered in before the file exists', async () => {
    const wide = { ...pipeline, columns: [...pipeline.columns, { name: 'x'.repeat(300 * 1024), type: 'string', required: false }] } as Pipeline;
    const file = path.join(dir, 'wide.b000001.tsv');
    assert.throws(
      () => new BatchWriter(file, { pipeline: 'orders', source: 'wide.csv', index: 0 }, tabSeparatedForm(wide)),
      /first line would take more than/,
    );
    assert.deepEqual(
      (await fs.readdir(dir)).filter((n) => n.startsWith('wide')),
      [],
    );
  });
});
