import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

/** A new directory under COURIER_TEST_TMP (or the system's), removed once the test file's tests are done. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(path.join(process.env.COURIER_TEST_TMP ?? os.tmpdir(), `${prefix}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
