/**
 * `npm test`: builds the Temporal CLI once if needed, starts one dev server for
 * the whole suite on a free loopback port, runs every test file against it with
 * node's test runner, and stops the server.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServer } from '../src/dev-server/dev-server';
import { freePort } from '../src/dev-server/free-port';

async function main(): Promise<number> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'courier-test-'));
  const server = await startDevServer({
    port: await freePort(),
    headless: true,
    dbFile: path.join(workDir, 'temporal.db'),
    logFile: path.join(workDir, 'temporal.log'),
  });
  console.error(`test Temporal dev server at ${server.address} (log ${workDir}/temporal.log)`);
  const files = process.argv.slice(2);
  const testFiles =
    files.length > 0
      ? files
      : fs
          .readdirSync('test')
          .filter((f) => f.endsWith('.test.ts'))
          .sort()
          .map((f) => path.join('test', f));
  try {
    return await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...testFiles], {
        stdio: 'inherit',
        env: { ...process.env, COURIER_TEST_TEMPORAL_ADDRESS: server.address, COURIER_TEST_TMP: workDir },
      });
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    });
  } finally {
    await server.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`courier tests could not start: ${err.message}`);
    process.exit(1);
  },
);
