import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { ensureGoTool, type GoTool } from '../../src/dev-server/go-tool';
import { freePort } from '../../src/dev-server/free-port';
import { untilReady } from '../../src/startup/until-ready';

export const VERSITYGW: GoTool = {
  command: 'versitygw',
  module: 'github.com/versity/versitygw/cmd/versitygw',
  version: 'v1.7.0',
  envVar: 'VERSITYGW',
  installHint: 'The S3 tests need versitygw: install it (https://github.com/versity/versitygw) and set VERSITYGW=/path/to/versitygw,',
};

export interface S3Server {
  endpoint: string;
  /** Where the posix backend keeps buckets: <root>/<bucket>/<key>. */
  root: string;
  accessKeyId: string;
  secretAccessKey: string;
  client: S3Client;
  createBucket(name: string): Promise<void>;
  /** The environment of a courier installation that stores into the bucket. */
  envFor(bucket: string, prefix?: string): Record<string, string>;
  stop(): Promise<void>;
}

/** A real S3 server: versitygw with its posix backend on a temp dir, on a free loopback port. */
export async function startS3Server(): Promise<S3Server> {
  const binary = await ensureGoTool(VERSITYGW);
  const root = await fs.mkdtemp(path.join(process.env.COURIER_TEST_TMP ?? os.tmpdir(), 's3-'));
  const port = await freePort();
  const accessKeyId = 'courier-test-access';
  const secretAccessKey = 'courier-test-secret-0123456789';
  const endpoint = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(binary, ['--port', `127.0.0.1:${port}`, '--access', accessKeyId, '--secret', secretAccessKey, 'posix', root], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  // A loaded machine can take tens of seconds to start it; an exit ends the wait at once.
  await untilReady(`versitygw at ${endpoint}`, (callMs) => fetch(endpoint, { signal: AbortSignal.timeout(callMs) }), {
    timeoutMs: 120_000,
    quietMs: 3000,
    log: (line) => console.error(line),
    giveUp: () => (child.exitCode !== null ? `it exited with code ${child.exitCode}: ${stderr}` : undefined),
  });
  return {
    endpoint,
    root,
    accessKeyId,
    secretAccessKey,
    client,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    envFor: (bucket, prefix = 'courier') => ({
      COURIER_STORE: `s3://${bucket}/${prefix}`,
      COURIER_S3_PATH_STYLE: 'true',
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
    }),
    async stop() {
      client.destroy();
      if (child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}
