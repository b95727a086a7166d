import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type Activities } from './activities';
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

/** Runs a worker until SIGINT/SIGTERM. */
export async function runWorker(config: Config, logger = createLogger(config)): Promise<void> {
  const worker = await createWorker(config, { logger });
  logger.info(
    { taskQueue: config.taskQueue, address: config.temporal.address, namespace: config.temporal.namespace, store: config.storeDir },
    'worker started',
  );
  await worker.run();
  logger.info('worker stopped');
}
