import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { hostQueue } from '../../src/jobs/keys';
import { waitUntil } from './stack';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Whether worker processes can get a mount namespace of their own (root, or
 * a kernel that allows unprivileged ones). With it every host sees its own
 * disk at the same data path, as separate machines do; without it each host
 * gets its own data path, which still keeps their staging apart.
 */
export const privateMounts = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0;

export interface TestHost {
  name: string;
  /** The host's own disk, as the test sees it from outside. */
  disk: string;
  /** Where the host itself sees its disk: COURIER_DATA_DIR. */
  dataDir: string;
  child?: ChildProcess;
  /** Starts (or starts again, with the same disk) and waits until it polls its host queue. */
  start(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * A courier worker process as one host: its own disk and COURIER_HOST, the
 * shared queue, the shared store given in `env`.
 */
export function testHost(client: Client, name: string, base: string, env: Record<string, string>): TestHost {
  const disk = path.join(base, 'disks', name);
  const dataDir = privateMounts ? path.join(base, 'data') : disk;
  const host: TestHost = {
    name,
    disk,
    dataDir,
    async start() {
      await fs.mkdir(disk, { recursive: true });
      await fs.mkdir(dataDir, { recursive: true });
      const hostEnv = { ...process.env, ...env, COURIER_HOST: name, COURIER_DATA_DIR: dataDir };
      const courier = [process.execPath, path.join(ROOT, 'bin', 'courier'), 'worker'];
      // unshare execs sh, which execs node after the bind mount: the child's pid is the worker's.
      const child = privateMounts
        ? spawn(
            'unshare',
            ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$0" "$1" && exec "$2" "$3" "$4"', disk, dataDir, ...courier],
            { env: hostEnv, stdio: ['ignore', 'ignore', 'pipe'] },
          )
        : spawn(courier[0], courier.slice(1), { env: hostEnv, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
      host.child = child;
      await waitUntil(
        `host ${name} to poll ${hostQueue(name)}`,
        async () => {
          if (child.exitCode !== null) throw new Error(`host ${name} exited ${child.exitCode}: ${stderr}`);
          const described = await client.workflowService.describeTaskQueue({
            namespace: client.options.namespace,
            taskQueue: { name: hostQueue(name) },
            taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
          });
          return (described.pollers ?? []).some((p) => p.identity === `${child.pid}@${name}`);
        },
        120_000,
      );
    },
    async kill(signal = 'SIGKILL') {
      const child = host.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await gone;
    },
  };
  return host;
}

export interface CountingProxy {
  endpoint: string;
  /** Bytes clients sent through the proxy so far. */
  readonly sent: number;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of a server that counts what clients send and caps it at
 * `bytesPerSecond`: the bytes a backup really put on the wire, at a pace a test can act in.
 */
export async function countingProxy(target: string, bytesPerSecond: number): Promise<CountingProxy> {
  const { hostname, port } = new URL(target);
  let sent = 0;
  let windowStart = Date.now();
  let windowBytes = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      upstream.write(chunk);
      const now = Date.now();
      if (now - windowStart >= 100) {
        windowStart = now;
        windowBytes = 0;
      }
      windowBytes += chunk.length;
      if (windowBytes >= bytesPerSecond / 10) {
        client.pause();
        setTimeout(() => client.resume(), windowStart + 100 - now);
      }
    });
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    get sent() {
      return sent;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
