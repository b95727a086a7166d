import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parseWatchSpec, startWatchers } from './etl-commands';
import { loadConfig, type Config } from '../config';
import { startDevServer, type DevServer } from '../dev-server/dev-server';
import { createLogger } from '../logger';
import { builtInHandlers } from '../kinds/dispatch/handlers';
import { AesGcmCodec } from '../security/codec';
import { createCodecServer } from '../security/codec-server';
import { connectClient } from '../client';
import { freePort, portOpen } from '../dev-server/free-port';
import { startHttpServer } from '../http/start';
import type { Logger } from '../logger';
import { runWorker } from '../worker';
import { CliError, EXIT, hostOption } from './output';

function portOf(address: string): number {
  const port = Number(address.split(':').pop());
  if (!Number.isInteger(port) || port <= 0) throw new CliError(`TEMPORAL_ADDRESS=${address} has no port`, EXIT.badInput);
  return port;
}

function hostOf(address: string): string {
  const host = address.slice(0, address.lastIndexOf(':'));
  return host === 'localhost' || host === '' ? '127.0.0.1' : host;
}

async function devServerFor(config: Config, port: number, uiPort: number | undefined, headless: boolean): Promise<DevServer> {
  const server = await startDevServer({
    host: hostOf(config.temporal.address),
    port,
    uiPort: uiPort ?? config.devServerUiPort ?? port + 1000,
    headless,
    dbFile: path.join(config.dataDir, 'temporal', 'dev-server.db'),
    logFile: path.join(config.dataDir, 'temporal', 'dev-server.log'),
    namespace: config.temporal.namespace,
  });
  process.stderr.write(`Temporal dev server at ${server.address}${server.uiUrl ? `, web UI ${server.uiUrl}` : ''}\n`);
  return server;
}

/** What `start` handles besides the control queue: COURIER_HANDLES, else every configured format that has a built-in handler. */
function embeddedTopics(config: Config): string[] {
  if (config.dispatch.handles.length > 0) return config.dispatch.handles;
  if (config.dispatch.route !== 'format') return [];
  const known = builtInHandlers();
  return config.dispatch.formats.filter((format) => known.handlerFor(format));
}

/** Stops the dev server when this process is told to stop. */
function stopOnSignal(server: DevServer): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void server.stop().then(() => process.exit(0)));
  }
}

function packageVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** The HTTP API, with or without a worker in this process; closed when the returned function is called. */
async function serveHttp(
  config: Config,
  logger: Logger,
  worker?: { startedAt: Date; sdkMetricsUrl?: string },
): Promise<{ url: string; close(): Promise<void> }> {
  const client = await connectClient(config, (line) => logger.warn(line));
  const { app, url } = await startHttpServer({ config, client, logger, worker, version: packageVersion() });
  return {
    url,
    close: async () => {
      await app.close();
      await client.connection.close();
    },
  };
}

/** What a new user needs once everything answers: where to look and one thing to try. */
function readyBanner(config: Config, uiUrl: string | undefined, httpUrl: string): string {
  const ui = uiUrl ?? `the web UI of your Temporal server at ${config.temporal.address}`;
  return [
    '',
    'courier is ready',
    `  Temporal web UI   ${ui}`,
    `  HTTP API          ${httpUrl}  (routes: ${httpUrl}/openapi.json)`,
    `  data and store    ${config.dataDir}`,
    '  try first         npx courier backup package.json --wait   (in another terminal)',
    '  stop              Ctrl-C',
    '',
  ].join('\n');
}

export function registerServerCommands(program: Command): void {
  program
    .command('codec-keys')
    .description('make a payload encryption key file if there is none (with --rotate, put a new key first; older keys still decrypt)')
    .argument('<file>', 'the key file, as COURIER_CODEC_KEY_FILE names it')
    .option('--rotate', 'add a new encrypting key in front of the existing ones')
    .action(async (file: string, opts: { rotate?: boolean }) => {
      const existing = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { id: string; key: string }[]) : [];
      if (existing.length > 0 && !opts.rotate) {
        process.stdout.write(`${file}: ${existing.length} key(s), "${existing[0].id}" encrypts; nothing to do\n`);
        return;
      }
      const id = `k${Date.now().toString(36)}`;
      const keys = [{ id, key: randomBytes(32).toString('base64') }, ...existing];
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      fs.writeFileSync(`${file}.new`, JSON.stringify(keys, null, 1), { mode: 0o600 });
      fs.renameSync(`${file}.new`, file);
      process.stdout.write(`${file}: key "${id}" encrypts from now on (${keys.length} key(s)); restart workers and clients to use it\n`);
    });

  program
    .command('codec-server')
    .description('serve /encode and /decode with the configured codec keys, for the Temporal UI and CLI (--codec-endpoint)')
    .option('--port <port>', 'port', '8888')
    .option('--host <address>', 'bind address (whoever reaches it reads decoded payloads)', '127.0.0.1')
    .option('--origin <urls>', 'comma-separated web UI origins allowed by CORS', 'http://localhost:8233')
    .action(async (opts: { port: string; host: string; origin: string }) => {
      const config = loadConfig();
      if (!config.codecKeys) throw new CliError('codec-server: no codec keys; set COURIER_CODEC_KEYS or COURIER_CODEC_KEY_FILE', EXIT.badInput);
      const app = createCodecServer(
        new AesGcmCodec(config.codecKeys),
        opts.origin.split(',').map((o) => o.trim()),
      );
      const url = await app.listen({ port: Number(opts.port), host: opts.host });
      process.stderr.write(`codec server at ${url} (key ${config.codecKeys[0].id} encrypts; origins ${opts.origin})\n`);
      await new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
      });
      await app.close();
    });

  program
    .command('dev-server')
    .description('run only the local Temporal dev server (SQLite file under the data dir, web UI on)')
    .option('--port <port>', 'gRPC port (default: the port of TEMPORAL_ADDRESS, 7233)')
    .option('--ui-port <port>', 'web UI port (default: gRPC port + 1000)')
    .option('--headless', 'no web UI')
    .action(async (opts: { port?: string; uiPort?: string; headless?: boolean }) => {
      const config = loadConfig();
      const port = opts.port ? Number(opts.port) : portOf(config.temporal.address);
      const server = await devServerFor(config, port, opts.uiPort ? Number(opts.uiPort) : undefined, Boolean(opts.headless));
      stopOnSignal(server);
      await new Promise((resolve) => server.process.once('exit', resolve));
      throw new CliError('the Temporal dev server exited', EXIT.unavailable);
    });

  program
    .command('worker')
    .description('run one worker process: it runs the jobs; with --handles, only the work of those dispatch topics')
    .option('--handles <topics>', 'comma-separated dispatch topics (formats, or project.format) this worker does the work for')
    .option(
      '--host <name>',
      "this machine's host name (over COURIER_HOST, default the hostname): file steps of jobs pinned here and pushed files arrive on host-NAME",
    )
    .option('--host-only', 'only the work of this host (file steps, deliveries), no workflows and no dispatch work')
    .action(async (opts: { handles?: string; host?: string; hostOnly?: boolean }) => {
      const handles = opts.handles
        ?.split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      if (opts.host) hostOption(opts.host);
      await runWorker(loadConfig(), {
        handles: opts.hostOnly ? [] : handles,
        handlersOnly: handles !== undefined,
        host: opts.host,
        hostOnly: opts.hostOnly,
      });
    });

  program
    .command('http')
    .description('run only the HTTP API (COURIER_HTTP_PORT, COURIER_HTTP_TOKEN); `courier start` runs it beside a worker')
    .action(async () => {
      const config = loadConfig();
      const logger = createLogger(config);
      const http = await serveHttp(config, logger);
      await new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
      });
      await http.close();
    });

  program
    .command('health')
    .description('exit 0 when the Temporal server of this configuration answers (the container healthcheck), 3 when it does not')
    .action(async () => {
      const config = loadConfig();
      const client = await connectClient(config);
      try {
        const info = await client.connection.workflowService.getSystemInfo({});
        await client.workflowService.describeNamespace({ namespace: config.temporal.namespace });
        process.stdout.write(`ok: Temporal ${info.serverVersion || ''} at ${config.temporal.address}, namespace ${config.temporal.namespace}\n`);
      } catch (err) {
        throw new CliError(
          `the Temporal server at ${config.temporal.address} does not serve namespace ${config.temporal.namespace}: ${(err as Error).message}`,
          EXIT.unavailable,
        );
      } finally {
        await client.connection.close();
      }
    });

  program
    .command('start')
    .description('everything on one machine: the dev server (unless one answers already), a worker and the HTTP API')
    .option('--watch <spec...>', 'also watch drop folders: etl:PIPELINE:DIR (an ETL inbox) or backup:DIR (a backup drop folder)')
    .action(async (opts: { watch?: string[] }) => {
      const config = loadConfig();
      const specs = (opts.watch ?? []).map(parseWatchSpec);
      const logger = createLogger(config);
      let server: DevServer | undefined;
      // A listening port means a server is there (perhaps still starting): connect to it and wait. Nothing listening: start one.
      if (await portOpen(hostOf(config.temporal.address), portOf(config.temporal.address))) {
        logger.info({ address: config.temporal.address }, 'using the Temporal server at the configured address');
      } else {
        server = await devServerFor(config, portOf(config.temporal.address), undefined, false);
      }
      // The SDK's metrics are served by the runtime; the HTTP API's /metrics joins them with courier's own.
      const metricsAddress = config.metricsAddress ?? `127.0.0.1:${await freePort()}`;
      const sdkMetricsUrl = `http://${metricsAddress.replace(/^0\.0\.0\.0:/, '127.0.0.1:')}/metrics`;
      let http: Awaited<ReturnType<typeof serveHttp>> | undefined;
      let watchers: { close(): Promise<void> } | undefined;
      try {
        // The dashboard links each job to its history in the web UI of the dev server started here.
        const temporalUiUrl = config.http.temporalUiUrl ?? server?.uiUrl;
        http = await serveHttp({ ...config, http: { ...config.http, temporalUiUrl } }, logger, { startedAt: new Date(), sdkMetricsUrl });
        watchers = await startWatchers(config, specs, logger);
        const httpUrl = http.url;
        const onReady = () => process.stderr.write(`${readyBanner(config, server?.uiUrl, httpUrl)}\n`);
        await runWorker({ ...config, metricsAddress }, { logger, handles: embeddedTopics(config), onReady });
      } finally {
        await watchers?.close();
        await http?.close();
        await server?.stop();
      }
    });
}
