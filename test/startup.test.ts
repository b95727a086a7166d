import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { connectClient } from '../src/client';
import { loadConfig } from '../src/config';
import { startDevServer, startDevServerOnFreePort } from '../src/dev-server/dev-server';
import { freePort } from '../src/dev-server/free-port';
import { createLogger } from '../src/logger';
import { NotReadyError, untilReady } from '../src/startup/until-ready';
import { connectWorker } from '../src/worker';
import { runCli, temporalAddress, testEnv, waitUntil } from './helpers/stack';

const ROOT = path.resolve(__dirname, '..');

/** A TCP forwarder to the suite's dev server that starts listening only when asked: a server that is slow to come up. */
function lateServer(port: number) {
  const [host, upstreamPort] = temporalAddress().split(':');
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const upstream = net.connect(Number(upstreamPort), host);
    for (const s of [socket, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
    }
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  return {
    listen: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    // gRPC keeps idle connections open for minutes; closing the server alone would wait for them.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

describe('start-up waits for what it connects to', () => {
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close();
  });

  it('a dev server whose port was taken meanwhile is started again on another port', async () => {
    // Holds the port and hangs up on whoever connects, so nothing lingers once the test is done.
    const taken = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const dir = fs.mkdtempSync(path.join(process.env.COURIER_TEST_TMP ?? os.tmpdir(), 'dev-server-'));
    const options = { headless: true, dbFile: path.join(dir, 'temporal.db'), logFile: path.join(dir, 'temporal.log'), startTimeoutMs: 60_000 };
    const lines: string[] = [];
    try {
      // What the retry recognises: the server exits at start when it cannot bind.
      await assert.rejects(
        startDevServer({ ...options, port }, (line) => lines.push(line)),
        /exited with code/,
      );
      let picks = 0;
      const server = await startDevServerOnFreePort(
        options,
        (line) => lines.push(line),
        3,
        async () => (++picks === 1 ? port : freePort()),
      );
      try {
        assert.equal(picks, 2);
        assert.notEqual(server.address, `127.0.0.1:${port}`);
        // Bytes 18 and 19 of a SQLite file are its write and read versions: 2 in write-ahead-log mode, 1 with a rollback journal.
        const header = fs.readFileSync(options.dbFile).subarray(18, 20);
        assert.deepEqual([...header], [2, 2], `${options.dbFile} is not in WAL mode`);
        assert.ok(fs.existsSync(`${options.dbFile}-wal`), `no ${options.dbFile}-wal beside the database`);
        assert.ok(
          lines.some((line) => /trying another port/.test(line)),
          lines.join('\n'),
        );
      } finally {
        await server.stop();
      }
    } finally {
      taken.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('retries until the attempt answers, and gives up early when told why', async () => {
    let calls = 0;
    const lines: string[] = [];
    const value = await untilReady('a flaky thing', async () => (++calls < 3 ? Promise.reject(new Error('not yet')) : 'up'), {
      timeoutMs: 10_000,
      log: (l) => lines.push(l),
      firstDelayMs: 10,
    });
    assert.equal(value, 'up');
    assert.equal(calls, 3);
    assert.match(lines[0], /^waiting for a flaky thing .*last error: not yet/);
    assert.match(lines.at(-1)!, /^a flaky thing: ready after [\d.]+ s \(3 attempts\)/);

    const failed = await untilReady('a dead thing', () => Promise.reject(new Error('refused')), {
      timeoutMs: 10_000,
      giveUp: () => 'it exited with code 1',
      firstDelayMs: 10,
    }).catch((err) => err);
    assert.ok(failed instanceof NotReadyError);
    assert.match(failed.message, /^a dead thing: no answer after 1 attempt over [\d.]+ s; last error: it exited with code 1$/);

    const timedOut = await untilReady('a silent thing', () => Promise.reject(new Error('ECONNREFUSED')), {
      timeoutMs: 300,
      firstDelayMs: 50,
      hint: 'start it first',
    }).catch((err) => err);
    assert.match(timedOut.message, /^a silent thing: no answer after \d+ attempts over 0\.\d s; last error: ECONNREFUSED\nstart it first$/);
  });

  it('a client and a worker started before the server listens wait for it, say so, and then work', async () => {
    const port = await freePort();
    const config = loadConfig({ ...(await testEnv()), TEMPORAL_ADDRESS: `127.0.0.1:${port}`, COURIER_CONNECT_TIMEOUT: '60s' });
    const clientLines: string[] = [];
    const client = connectClient(config, (line) => clientLines.push(line));
    const worker = connectWorker(config, createLogger(config));
    const server = lateServer(port);
    closers.push(server.close);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await server.listen();
    const [connected, workerConnection] = await Promise.all([client, worker]);
    closers.push(
      () => connected.connection.close(),
      () => workerConnection.close(),
    );
    const info = await connected.workflowService.getSystemInfo({});
    assert.ok(info.serverVersion, 'a real call goes through once the server answers');
    assert.match(clientLines[0], /^waiting for the Temporal server at 127\.0\.0\.1:\d+ \(\d+ s of at most 60 s; last error: /);
    assert.match(clientLines.at(-1)!, /ready after [3-9]\.\d s|ready after \d\d+\.\d s/, 'it waited for the server rather than failing');
  });

  it('courier start with a server already there: a few readable start-up lines, then where to look and a first command that works', async () => {
    // The roots a new user has: none set, so the worker reads this checkout, where the first command's package.json lives.
    const env = {
      ...(await testEnv({
        COURIER_LOG_LEVEL: 'info',
        COURIER_HTTP_PORT: String(await freePort()),
        COURIER_SOURCE_ROOTS: '',
        COURIER_RESTORE_ROOTS: '',
      })),
    };
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'courier'), 'start'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    closers.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await waitUntil('courier start to say it is ready', async () => output.includes('courier is ready') || child.exitCode !== null, 120_000);
    assert.equal(child.exitCode, null, `courier start is running; it printed:\n${output}`);
    const before = output.slice(0, output.indexOf('courier is ready')).trim().split('\n');
    assert.ok(before.length <= 8, `a few start-up lines, not ${before.length}:\n${before.join('\n')}`);
    for (const line of before) assert.ok(line.length < 400, `a readable line, not ${line.length} characters: ${line.slice(0, 200)}…`);
    assert.ok(
      before.some((line) => line.includes('workflow code bundled')),
      'the bundle is one summary line',
    );
    assert.match(output, new RegExp(`HTTP API {2,}http://127\\.0\\.0\\.1:${env.COURIER_HTTP_PORT}`));
    assert.match(output, /Temporal web UI {2,}\S/);
    const tryFirst = /try first {2,}npx courier (.+?) {2,}/.exec(output);
    assert.ok(tryFirst, `a first command to try:\n${output}`);
    const run = await runCli(tryFirst[1].split(' '), env);
    assert.equal(run.code, 0, `the first command works: ${run.stderr}`);
    assert.match(run.stdout, /^backup package\.json: .* in 1 part\(s\), sha256 [0-9a-f]{64}/m);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, `courier start stops cleanly on SIGTERM:\n${output.slice(-2000)}`);
  });
});
