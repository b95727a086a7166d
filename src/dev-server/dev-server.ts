import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../search-attributes';
import { freePort } from './free-port';
import { ensureTemporalCli } from './temporal-cli';
import { temporal } from '@temporalio/proto';
import { NotReadyError, untilReady } from '../startup/until-ready';

export interface DevServerOptions {
  host?: string;
  port: number;
  uiPort?: number;
  /** Without a UI port the web UI is off. */
  headless?: boolean;
  dbFile: string;
  logFile: string;
  namespace?: string;
  /** How long a cold start may take before it counts as failed (a loaded machine needs tens of seconds). */
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Connects and asks for the server's info, within the time given: a frontend that accepts but cannot serve yet does not count. */
async function answer(address: string, timeoutMs: number): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: timeoutMs });
  try {
    await connection.withDeadline(Date.now() + timeoutMs, () => connection.workflowService.getSystemInfo({}));
  } finally {
    await connection.close();
  }
}

/**
 * Registers courier's search attributes where missing. The dev server's
 * --search-attribute flag only applies to a new database file, so this runs on every start.
 */
export async function ensureSearchAttributes(address: string, namespace: string, log?: (line: string) => void): Promise<void> {
  const connection = await untilReady(`the Temporal dev server at ${address}`, (callMs) => Connection.connect({ address, connectTimeout: callMs }), {
    timeoutMs: 60_000,
    log,
  });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = SEARCH_ATTRIBUTES.filter((key) => !existing.customAttributes?.[key.name]);
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
    });
  } finally {
    await connection.close();
  }
}

/**
 * A dev server on a port free when picked. Between the pick and the server's
 * bind another process may take the port (it then exits with "address
 * already in use"), so a server that exits at start is tried again on another.
 */
export async function startDevServerOnFreePort(
  options: Omit<DevServerOptions, 'port'>,
  log = (line: string) => console.error(line),
  attempts = 3,
  pickPort = freePort,
): Promise<DevServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServer({ ...options, port: await pickPort() }, log);
    } catch (err) {
      if (attempt >= attempts || !/exited with code/.test((err as Error).message)) throw err;
      log(`${(err as Error).message.split('\n')[0]}; trying another port`);
    }
  }
}

/**
 * The dev server's SQLite file in write-ahead-log mode, each commit still
 * synced: the default rollback journal syncs the journal and then the
 * database on every commit, on the one connection every task waits behind;
 * a WAL commit is one append and one sync. WAL needs a local filesystem (not NFS).
 */
export const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=FULL'] as const;

/** Starts `temporal server start-dev` on a SQLite file (jobs survive a restart) and waits until it answers. */
export async function startDevServer(options: DevServerOptions, log = (line: string) => console.error(line)): Promise<DevServer> {
  const cli = await ensureTemporalCli(process.env, log);
  const host = options.host ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    host,
    '--port',
    String(options.port),
    '--db-filename',
    options.dbFile,
    ...SQLITE_PRAGMAS.flatMap((pragma) => ['--sqlite-pragma', pragma]),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    ...SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
    ...(options.headless || !options.uiPort ? ['--headless'] : ['--ui-port', String(options.uiPort)]),
  ];
  const logFd = fs.openSync(options.logFile, 'a');
  const child = spawn(cli, args, { stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  const address = `${host}:${options.port}`;
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? 1));

  const tail = () => fs.readFileSync(options.logFile, 'utf8').split('\n').slice(-15).join('\n');
  try {
    await untilReady(`the Temporal dev server at ${address}`, (callMs) => answer(address, callMs), {
      timeoutMs: options.startTimeoutMs ?? 180_000,
      log,
      giveUp: () => (exited !== null ? `it exited with code ${exited}` : undefined),
    });
    await ensureSearchAttributes(address, namespace, log);
  } catch (err) {
    child.kill('SIGKILL');
    const why = err instanceof NotReadyError ? err.summary : (err as Error).message;
    throw new Error(`the Temporal dev server did not start at ${address}: ${why}\nits log ${options.logFile} ends:\n${tail()}`);
  }
  return {
    address,
    uiUrl: options.uiPort && !options.headless ? `http://${host}:${options.uiPort}` : undefined,
    process: child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
