import fs from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { startDevServer, type DevServer } from '../../../src/dev-server/dev-server';
import { freePort } from '../../../src/dev-server/free-port';

/**
 * A Temporal dev server of the campaign's own (never the suite's shared one:
 * the campaign kills it), on a fixed port and database file so a restart keeps
 * every job, and a workflow bundle made once so workers start without webpack.
 */
export interface Cluster {
  address: string;
  base: string;
  bundle: string;
  client: Client;
  /** SIGKILLs the dev server and starts it again on the same port and database after `downMs`. */
  restartServer(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startCluster(base: string, log: (line: string) => void): Promise<Cluster> {
  const port = await freePort();
  const options = { port, headless: true, dbFile: path.join(base, 'temporal.db'), logFile: path.join(base, 'temporal.log') };
  let server: DevServer = await startDevServer(options, log);
  const bundle = path.join(base, 'workflow-bundle.js');
  await fs.writeFile(bundle, (await bundleWorkflowCode({ workflowsPath: require.resolve('../../../src/workflows'), logger: quiet })).code);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  return {
    address: server.address,
    base,
    bundle,
    client,
    async restartServer(downMs) {
      const gone = new Promise((resolve) => server.process.once('exit', resolve));
      server.process.kill('SIGKILL');
      await gone;
      await new Promise((resolve) => setTimeout(resolve, downMs));
      server = await startDevServer(options, log);
    },
    async stop() {
      await connection.close();
      await server.stop();
    },
  };
}

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (message: string) => console.error(message) };
