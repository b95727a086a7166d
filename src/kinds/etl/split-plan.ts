import fs from 'node:fs/promises';
import Papa from 'papaparse';
import type { Pipeline } from './pipelines';
import { formatOf, headerOf, RecordError, type FileRange } from './records';

export interface SplitPlan {
  ranges: FileRange[];
  /** The batch index each range starts at: every range but the last holds whole batches. */
  firstIndexes: number[];
  /** The records each range but the last must hold for those indexes to be right; the split is checked against them. */
  records: number[];
}

const NEWLINE = 0x0a;
const RETURN = 0x0d;
const QUOTE = 0x22;

/**
 * Where a file can be cut into ranges that threads split at once, each range
 * starting at a line that begins a batch, so the batches are exactly those a
 * single read would write. Only files whose records are lines can be cut by
 * lines: JSON Lines, and CSV with no quote (a quoted field may hold a line
 * break) and no carriage return (the parser guesses line endings per read).
 * A file too small for two ranges of `minBytes`, or any other, is split in one read.
 */
export async function planSplit(file: string, pipeline: Pipeline, options: { ranges: number; minBytes: number }): Promise<SplitPlan | undefined> {
  let format: 'csv' | 'jsonl';
  try {
    format = formatOf(file, pipeline);
  } catch (err) {
    if (err instanceof RecordError) return undefined;
    throw err;
  }
  const handle = await fs.open(file, 'r');
  try {
    const { size } = await handle.stat();
    const count = Math.min(options.ranges, Math.floor(size / options.minBytes));
    if (count < 2) return undefined;
    const targets = Array.from({ length: count - 1 }, (_, i) => Math.floor((size * (i + 1)) / count));
    const csv = format === 'csv';
    // CSV's blank line is empty; a JSON Lines blank line may hold spaces and tabs.
    const blank = (byte: number) => (csv ? false : byte === 0x20 || byte === 0x09 || byte === RETURN);
    const starts: { start: number; linesBefore: number; records: number }[] = [];
    let header: Buffer[] | undefined = csv ? [] : undefined;
    let headerDone = !csv;
    let lines = 0;
    let records = 0;
    let content = false;
    const buf = Buffer.allocUnsafe(1024 * 1024);
    for (let position = 0; position < size && starts.length < targets.length;) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, position);
      if (bytesRead === 0) break;
      const bytes = buf.subarray(0, bytesRead);
      if (csv && (bytes.includes(QUOTE) || bytes.includes(RETURN))) return undefined;
      let from = 0;
      while (from < bytes.length && starts.length < targets.length) {
        const end = bytes.indexOf(NEWLINE, from);
        const stop = end < 0 ? bytes.length : end;
        for (let i = from; i < stop && !content; i++) if (!blank(bytes[i]!)) content = true;
        if (!headerDone) header!.push(Buffer.from(bytes.subarray(from, stop)));
        if (end < 0) break;
        lines++;
        if (content) {
          if (headerDone) records++;
          headerDone = true;
        } else if (header && !headerDone) header = [];
        content = false;
        from = end + 1;
        const start = position + from;
        if (headerDone && start >= targets[starts.length]! && records % pipeline.batchSize === 0 && start < size)
          starts.push({ start, linesBefore: lines, records });
      }
      position += bytesRead;
    }
    if (starts.length === 0) return undefined;
    const names = header
      ? headerOf((Papa.parse<string[]>(Buffer.concat(header).toString('utf8'), { delimiter: ',' }).data[0] ?? []) as string[])
      : undefined;
    const bounds = [{ start: 0, linesBefore: 0, records: 0 }, ...starts];
    return {
      ranges: bounds.map((b, i) => ({
        start: b.start,
        end: bounds[i + 1]?.start ?? size,
        linesBefore: b.linesBefore,
        ...(i > 0 && names ? { header: names } : {}),
      })),
      firstIndexes: bounds.map((b) => b.records / pipeline.batchSize),
      records: starts.map((s, i) => s.records - bounds[i]!.records),
    };
  } finally {
    await handle.close();
  }
}
