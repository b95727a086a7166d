import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Pipeline } from '../src/kinds/etl/pipelines';
import { readRows, RecordError, type EtlRecord } from '../src/kinds/etl/records';

const pipeline = (columns: Pipeline['columns']): Pipeline => ({
  format: 'csv',
  patterns: ['*'],
  columns,
  key: [columns[0].name],
  table: 't',
  batchSize: 10,
  locations: ['x'],
});
const orders = pipeline([
  { name: 'id', type: 'integer', required: true },
  { name: 'note', type: 'string', required: false },
  { name: 'amount', type: 'number', required: true },
]);

async function recordsOf(text: string, p: Pipeline = orders): Promise<EtlRecord[]> {
  const dir = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP!, 'records-'));
  const file = path.join(dir, 'f.csv');
  await fs.writeFile(file, text);
  const all: EtlRecord[] = [];
  // Rows come in the pipeline's column order.
  for await (const run of readRows(file, p)) all.push(...run.map((row) => Object.fromEntries(p.columns.map((c, i) => [c.name, row[i]]))));
  return all;
}

describe('CSV records: read once, in runs, with the line of any problem', () => {
  it('reads quoted separators, doubled quotes, line breaks inside quotes, a BOM, CRLF and blank lines; a header in any column order', async () => {
    const text = '\uFEFFamount,id,note\r\n1.5,1,"a, ""b""\r\nc"\r\n\r\n2,2,\r\n';
    assert.deepEqual(await recordsOf(text), [
      { id: 1, note: 'a, "b"\r\nc', amount: 1.5 },
      { id: 2, note: null, amount: 2 },
    ]);
  });

  it('reads a one-column file, where there is no separator to find', async () => {
    assert.deepEqual(await recordsOf('id\n1\n2\n', pipeline([{ name: 'id', type: 'integer', required: true }])), [{ id: 1 }, { id: 2 }]);
  });

  it('reads a file of many stretches whole, in order', async () => {
    const rows = Array.from({ length: 30_000 }, (_, i) => `${i},"note ${i}\nsecond line",${i / 4}`);
    const records = await recordsOf(`id,note,amount\n${rows.join('\n')}\n`);
    assert.equal(records.length, 30_000);
    assert.deepEqual(records[29_999], { id: 29_999, note: 'note 29999\nsecond line', amount: 29_999 / 4 });
  });

  it('reads a long file whose reads cut characters, with a blank line and a quoted field late in it: every record whole, every line number right', async () => {
    // Notes of € (three bytes in UTF-8) so that reads of 16 KiB cut characters; a blank line; the quote comes pieces later.
    const plain = Array.from({ length: 3000 }, (_, i) => `${i},€${'é'.repeat(i % 7)},${i / 2}`);
    const quoted = ['3000,"a, ""b""\nc",1', '3001,after,2'];
    const text = `id,note,amount\n${plain.slice(0, 10).join('\n')}\n\n${plain.slice(10).join('\n')}\n${quoted.join('\n')}`;
    const records = await recordsOf(text);
    assert.equal(records.length, 3002);
    assert.deepEqual(records[2999], { id: 2999, note: `€${'é'.repeat(2999 % 7)}`, amount: 1499.5 });
    assert.ok(
      records.slice(0, 3000).every((r, i) => r.id === i && r.note === `€${'é'.repeat(i % 7)}`),
      'every plain line whole',
    );
    assert.deepEqual(records.slice(3000), [
      { id: 3000, note: 'a, "b"\nc', amount: 1 },
      { id: 3001, note: 'after', amount: 2 },
    ]);
    // Line 1 the header, 3000 plain lines and a blank one, the quoted record on two lines: the record after it on 3005, the bad value on 3006.
    const refused = (message: RegExp) => (err: unknown) => err instanceof RecordError && message.test(err.message);
    await assert.rejects(recordsOf(`${text}\n3002,x,lots\n`), refused(/^line 3006: column "amount": "lots" is not a number$/));
    await assert.rejects(
      recordsOf(`id,note,amount\n${plain.join('\n')}\n3000,x,lots`),
      refused(/^line 3002: column "amount": "lots" is not a number$/),
    );
  });

  for (const [what, text, message] of [
    [
      'a bad value, counting the line breaks inside quotes',
      'id,note,amount\n1,"x\ny",1\n2,b,lots\n',
      /^line 4: column "amount": "lots" is not a number$/,
    ],
    [
      'a bad value after a field that is a line break alone',
      'id,note,amount\n1,"\n",1\n2,b,lots\n',
      /^line 4: column "amount": "lots" is not a number$/,
    ],
    ['a missing required value', 'id,note,amount\n1,a,\n', /^line 2: column "amount" is empty but required$/],
    ['a record with more fields than the header', 'id,note,amount\n1,a,1,4\n', /^line 2: has 4 field\(s\), the header has 3; not valid CSV$/],
    ['a quote that never closes', 'id,note,amount\n1,"a,1\n2,b,3\n', /^line 2: not valid CSV: Quoted field unterminated$/],
    [
      'a header that does not match',
      'id,name,amount\n1,a,1\n',
      /^header "id,name,amount" does not match the pipeline: missing note; unexpected name$/,
    ],
    ['an empty file', '', /^the file is empty/],
  ] as const) {
    it(`refuses ${what}, naming the line`, async () => {
      await assert.rejects(recordsOf(text), (err: unknown) => err instanceof RecordError && message.test(err.message));
    });
  }
});
