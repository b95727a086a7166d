import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, createHandlerActivities, type Activities } from './activities';
import { registeredFormats } from './handlers';
import { topicQueue } from './jobs';
import type { Config } from './config';
import { createLogger, installRuntimeLogger, type Logger } from './logger';
import { openStore } from './stores';

export interface WorkerParts {
  connection?: NativeConnection;
  /** A prebuilt bundle (tests bundle once per file); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  logger?: Logger;
  /** Fault injection for tests: wraps the real activities (crash after a step, lose a file). */
  wrapActivities?: (activities: Activities) => Activities;
}

export async function connectWorker(config: Config): Promise<NativeConnection> {
  return NativeConnection.connect(config.temporal.connectionOptions);
}

/** The one place that joins workflows, activities and the store onto a task queue. */
export async function createWorker(config: Config, parts: WorkerParts = {}): Promise<Worker> {
  const logger = parts.logger ?? createLogger(config);
  installRuntimeLogger(logger);
  const connection = parts.connection ?? (await connectWorker(config));
  const store = openStore(config);
  const activities = createActivities({ config, store });
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueue,
    activities: parts.wrapActivities ? parts.wrapActivities(activities) : activities,
    ...(parts.workflowBundle ? { workflowBundle: parts.workflowBundle } : { workflowsPath: require.resolve('./workflows') }),
    // A SIGTERM lets running uploads finish or checkpoint instead of cancelling them at once.
    shutdownGraceTime: '30 seconds',
  });
}

/**
 * Workers for dispatch topics: each polls its topic's task queue and runs only
 * the handler activity. A topic is a format, or project.format when routing by project.
 */
export async function createHandlerWorkers(config: Config, topics: string[], parts: Pick<WorkerParts, 'connection' | 'logger'> = {}): Promise<Worker[]> {
  for (const topic of topics) {
    const format = topic.split('.').pop()!;
    if (!registeredFormats().includes(format)) {
      throw new Error(`--handles ${topic}: no handler is registered for format "${format}"; this worker knows ${registeredFormats().join(', ')}`);
    }
  }
  const logger = parts.logger ?? createLogger(config);
  installRuntimeLogger(logger);
  const connection = parts.connection ?? (await connectWorker(config));
  const activities = createHandlerActivities({ config, store: openStore(config) });
  return Promise.all(
    topics.map((topic) =>
      Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: topicQueue(config.taskQueue, topic),
        activities,
        shutdownGraceTime: '30 seconds',
      }),
    ),
  );
}

/**
 * Runs until SIGINT/SIGTERM: the control worker (workflows and their
 * activities) unless `handlersOnly`, plus a worker for each topic it handles.
 */
export async function runWorker(config: Config, options: { logger?: Logger; handles?: string[]; handlersOnly?: boolean } = {}): Promise<void> {
  const logger = options.logger ?? createLogger(config);
  const handles = options.handles ?? config.dispatch.handles;
  // The runtime takes its logger once, before the first connection creates it.
  installRuntimeLogger(logger);
  const connection = await connectWorker(config);
  const workers = await createHandlerWorkers(config, handles, { connection, logger });
  if (!options.handlersOnly) workers.unshift(await createWorker(config, { logger, connection }));
  logger.info(
    {
      taskQueue: options.handlersOnly ? undefined : config.taskQueue,
      handles,
      address: config.temporal.address,
      namespace: config.temporal.namespace,
      store: config.storeDir,
    },
    'worker started',
  );
  await Promise.all(workers.map((worker) => worker.run()));
  logger.info('worker stopped');
}
