/**
 * The small-jobs bench's reference worker: the no-op floor workflow on its
 * own task queue, with courier's worker tuning, in a process of its own.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../../../src/config';
import { workerTuning } from '../../../src/worker-tuning';

export const FLOOR_QUEUE = 'bench-floor';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const connection = await NativeConnection.connect(config.temporal.connectionOptions);
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: FLOOR_QUEUE,
    workflowsPath: require.resolve('./workflows'),
    activities: { floorStep: async () => undefined },
    ...workerTuning(config),
  });
  await worker.run();
  await connection.close();
}

if (require.main === module) {
  main().catch((err: Error) => {
    console.error(`floor worker failed: ${err.message}`);
    process.exit(1);
  });
}
