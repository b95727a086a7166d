/**
 * `npm test`: lint, formatting and typecheck first (the whole suite only; a
 * run of named files skips them), then builds the Temporal CLI once if needed,
 * starts one dev server for the whole suite on a free loopback port, runs
 * every test file against it with node's test runner, two files at a time,
 * and stops the server. Two at a time because the files mostly wait (on
 * heartbeat timeouts, workers starting, Temporal): each has its own task
 * queue, data dir, store, tables and ports, so they do not meet; one at a
 * time took 21 minutes on a 2-core machine, two at a time 13.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDevServerOnFreePort } from '../src/dev-server/dev-server';

/** One check as npm runs it; resolves with its exit code, its output shown as it comes. */
function check(script: string): Promise<number> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', script], { stdio: 'inherit' });
    child.on('exit', (code, signal) => {
      console.error(`npm run ${script}: ${code === 0 ? 'ok' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

/** Runs a command, its output shown; resolves with its exit code. */
function run(command: string, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit' });
    child.on('error', () => resolve(127));
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

/**
 * The dashboard tests drive Debian's Chromium. A machine without it gets it
 * from Debian's packages once, as the Go tools are built once; where that is
 * not possible the test names what to install.
 */
async function ensureChromium(): Promise<void> {
  const known = [process.env.COURIER_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  if (known.some((p) => p && fs.existsSync(p))) return;
  if (process.getuid?.() !== 0 || !fs.existsSync('/usr/bin/apt-get')) return;
  console.error('installing Chromium from Debian for the dashboard tests (once): apt-get install chromium');
  const install = () => run('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'chromium']);
  if ((await install()) !== 0 && (await run('apt-get', ['update', '-q'])) === 0) await install();
}

async function main(): Promise<number> {
  if (process.argv.length <= 2) {
    // CI runs `npm test`; code that fails lint, formatting or types fails it before any test runs.
    for (const script of ['lint', 'typecheck']) {
      const code = await check(script);
      if (code !== 0) return code;
    }
  }
  await ensureChromium();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'courier-test-'));
  const server = await startDevServerOnFreePort({
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
      const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...testFiles], {
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
