import fs from 'node:fs';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, createDeps, createHandlerActivities, createHostActivities, type Activities, type ActivityDeps } from './activities';
import { hostQueue, hostTopicQueue, topicQueue } from './jobs/keys';
import type { Config } from './config';
import { createLogger, installRuntimeLogger, type Logger } from './logger';
import { untilReady } from './startup/until-ready';
import { ENCODED_FAILURES, workerDataConverter } from './security/codec';
import { hostIdOf } from './security/host-tags';
import { limitHeapGrowth, workerTuning } from './worker-tuning';

export interface WorkerParts {
  connection?: NativeConnection;
  /** A prebuilt bundle (tests bundle once per file); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  logger?: Logger;
  /** The activities' dependencies; by default, what the configuration opens. One set serves every worker of a process. */
  deps?: ActivityDeps;
  /** Fault injection for tests: wraps the real activities (crash after a step, lose a file). */
  wrapActivities?: (activities: Activities) => Activities;
}

/** The worker's connection, waiting up to COURIER_CONNECT_TIMEOUT for the server to answer. */
export async function connectWorker(config: Config, logger?: Logger): Promise<NativeConnection> {
  return untilReady(`the Temporal server at ${config.temporal.address}`, () => NativeConnection.connect(config.temporal.connectionOptions), {
    timeoutMs: config.connectTimeoutMs,
    log: (line) => (logger ?? createLogger(config)).warn(line),
    hint: 'check TEMPORAL_ADDRESS and that the server runs, or wait longer with COURIER_CONNECT_TIMEOUT',
  });
}

/**
 * The prebuilt bundle of COURIER_WORKFLOW_BUNDLE (images, hosts), else the
 * sources bundled here; webpack's report goes to debug and one line says how it went.
 */
async function workflowCode(config: Config, logger: Logger): Promise<Pick<WorkerOptions, 'workflowBundle'>> {
  const failureConverterPath = config.codecKeys ? ENCODED_FAILURES : undefined;
  if (config.workflowBundlePath) {
    // With the codec on, workflows must put failure texts into the encrypted payload: the bundle built for that.
    const codePath = failureConverterPath ? encodedFailuresBundle(config.workflowBundlePath) : config.workflowBundlePath;
    if (!fs.existsSync(codePath)) {
      throw new Error(
        `COURIER_WORKFLOW_BUNDLE: ${codePath} does not exist; build it with \`npm run build\` or unset the variable to bundle at start`,
      );
    }
    return { workflowBundle: { codePath } };
  }
  const started = Date.now();
  const quiet = (level: 'debug' | 'warn' | 'error') => (message: string) => logger[level]({ bundler: true }, message.split('\n')[0]);
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    failureConverterPath,
    logger: { trace: () => undefined, debug: quiet('debug'), info: quiet('debug'), warn: quiet('warn'), error: quiet('error'), log: () => undefined },
  });
  logger.info({ ms: Date.now() - started, kib: Math.round(bundle.code.length / 1024) }, 'workflow code bundled');
  return { workflowBundle: bundle };
}

/** The bundle `npm run build` makes beside the plain one, for workers with the codec on. */
export const encodedFailuresBundle = (bundlePath: string) => bundlePath.replace(/\.js$/, '') + '.encoded-failures.js';

/** pid@host: `courier queues` finds the hosts from the identities of the workers that poll. */
const workerIdentity = (config: Config) => `${process.pid}@${hostIdOf(config)}`;

/** The one place that joins workflows, activities and the store onto a task queue. */
export async function createWorker(config: Config, parts: WorkerParts = {}): Promise<Worker> {
  const logger = parts.logger ?? createLogger(config);
  installRuntimeLogger(logger);
  const connection = parts.connection ?? (await connectWorker(config, logger));
  const activities = createActivities(parts.deps ?? createDeps(config));
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueue,
    identity: workerIdentity(config),
    dataConverter: workerDataConverter(config.codecKeys),
    activities: parts.wrapActivities ? parts.wrapActivities(activities) : activities,
    ...(parts.workflowBundle ? { workflowBundle: parts.workflowBundle } : await workflowCode(config, logger)),
    // A SIGTERM lets running uploads finish or checkpoint instead of cancelling them at once.
    shutdownGraceTime: config.shutdownGraceMs,
    ...workerTuning(config),
  });
}

/**
 * Workers for dispatch topics: each polls its topic's task queue and runs only
 * the handler activity. A topic is a format, or project.format when routing by project.
 */
export async function createHandlerWorkers(
  config: Config,
  topics: string[],
  parts: Pick<WorkerParts, 'connection' | 'logger' | 'deps'> = {},
): Promise<Worker[]> {
  const deps = parts.deps ?? createDeps(config);
  for (const topic of topics) {
    const format = topic.split('.').pop()!;
    if (!deps.handlers.handlerFor(format)) {
      throw new Error(`--handles ${topic}: no handler is registered for format "${format}"; this worker knows ${deps.handlers.formats().join(', ')}`);
    }
  }
  const logger = parts.logger ?? createLogger(config);
  installRuntimeLogger(logger);
  const connection = parts.connection ?? (await connectWorker(config, logger));
  const activities = createHandlerActivities(deps);
  const dataConverter = workerDataConverter(config.codecKeys);
  // Each topic twice: its shared queue, and this host's own for work that names the host.
  const queues = topics.flatMap((topic) => [topicQueue(config.taskQueue, topic), hostTopicQueue(config.taskQueue, topic, hostIdOf(config))]);
  return Promise.all(
    queues.map((taskQueue) =>
      Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue,
        identity: workerIdentity(config),
        dataConverter,
        activities,
        shutdownGraceTime: config.shutdownGraceMs,
      }),
    ),
  );
}

/**
 * The worker of this host: it polls host-NAME and runs the file steps of jobs
 * pinned here (split, upload, restore, ETL stages) and deliveries of pushes.
 */
export async function createHostWorker(config: Config, parts: Omit<WorkerParts, 'workflowBundle'> = {}): Promise<Worker> {
  const logger = parts.logger ?? createLogger(config);
  installRuntimeLogger(logger);
  const connection = parts.connection ?? (await connectWorker(config, logger));
  const deps = parts.deps ?? createDeps(config);
  const activities = createActivities(deps);
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: hostQueue(hostIdOf(config)),
    identity: workerIdentity(config),
    dataConverter: workerDataConverter(config.codecKeys),
    activities: { ...(parts.wrapActivities ? parts.wrapActivities(activities) : activities), ...createHostActivities(deps) },
    shutdownGraceTime: config.shutdownGraceMs,
    ...workerTuning(config),
  });
}

/**
 * Runs until SIGINT/SIGTERM: the control worker (workflows and their
 * activities) unless `handlersOnly`, this host's worker, plus a worker for each topic it handles.
 */
export async function runWorker(
  config: Config,
  options: { logger?: Logger; handles?: string[]; handlersOnly?: boolean; host?: string; hostOnly?: boolean; onReady?: () => void } = {},
): Promise<void> {
  // --host names this worker's host for this run, over COURIER_HOST.
  config = { ...config, host: options.host ?? config.host };
  limitHeapGrowth();
  const logger = options.logger ?? createLogger(config);
  const handles = options.handles ?? config.dispatch.handles;
  // The runtime takes its logger and metrics exporter once, before the first connection creates it.
  installRuntimeLogger(logger, config.metricsAddress);
  const connection = await connectWorker(config, logger);
  const deps = createDeps(config);
  const workers = options.hostOnly ? [] : await createHandlerWorkers(config, handles, { connection, logger, deps });
  if (!options.handlersOnly && !options.hostOnly) workers.unshift(await createWorker(config, { logger, connection, deps }));
  // A worker that only handles dispatch topics is a host only when told so.
  if (!options.handlersOnly || options.host || options.hostOnly) workers.push(await createHostWorker(config, { connection, logger, deps }));
  logger.info(
    {
      taskQueue: options.handlersOnly || options.hostOnly ? undefined : config.taskQueue,
      handles,
      host: config.host,
      address: config.temporal.address,
      namespace: config.temporal.namespace,
      store: config.storeDir,
    },
    'worker started',
  );
  // The SDK stops polling on SIGINT/SIGTERM; running activities get COURIER_SHUTDOWN_GRACE to finish.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => logger.info({ signal, graceMs: config.shutdownGraceMs }, 'stopping: no new work, letting running work finish'));
  }
  const running = Promise.all(workers.map((worker) => worker.run()));
  options.onReady?.();
  await running;
  await deps.close();
  await connection.close();
  logger.info('worker stopped');
}
