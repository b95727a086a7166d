import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../search-attributes';
import { ensureTemporalCli } from './temporal-cli';
import { temporal } from '@temporalio/proto';

export interface DevServerOptions {
  host?: string;
  port: number;
  uiPort?: number;
  /** Without a UI port the web UI is off. */
  headless?: boolean;
  dbFile: string;
  logFile: string;
  namespace?: string;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** True when a Temporal frontend answers at the address within the timeout. */
export async function temporalAnswers(address: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    try {
      await connection.withDeadline(Date.now() + timeoutMs, () => connection.workflowService.getSystemInfo({}));
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

/**
 * Registers courier's search attributes where missing. The dev server's
 * --search-attribute flag only applies to a new database file, so this runs on every start.
 */
export async function ensureSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
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

/** Starts `temporal server start-dev` on a SQLite file (jobs survive a restart) and waits until it answers. */
export async function startDevServer(options: DevServerOptions, log = (line: string) => console.error(line)): Promise<DevServer> {
  const cli = await ensureTemporalCli(process.env, log);
  const host = options.host ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  const args = [
    'server', 'start-dev',
    '--ip', host,
    '--port', String(options.port),
    '--db-filename', options.dbFile,
    '--namespace', namespace,
    '--log-level', 'warn',
    ...SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]),
    ...(options.headless || !options.uiPort ? ['--headless'] : ['--ui-port', String(options.uiPort)]),
  ];
  const logFd = fs.openSync(options.logFile, 'a');
  const child = spawn(cli, args, { stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  const address = `${host}:${options.port}`;
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? 1));

  const deadline = Date.now() + 120_000;
  while (!(await temporalAnswers(address, 1000))) {
    if (exited !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      const tail = fs.readFileSync(options.logFile, 'utf8').split('\n').slice(-15).join('\n');
      throw new Error(`the Temporal dev server did not start at ${address} (${exited !== null ? `exited ${exited}` : 'timed out'}); its log ${options.logFile} ends:\n${tail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await ensureSearchAttributes(address, namespace);
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
