/**
 * The S3 part of `npm run bench`: the same file backed up to one S3 server
 * (versitygw, posix backend on local disk) by courier, in both layouts, and by
 * `rclone copy` with its s3 backend at courier's part size and concurrency.
 */
import path from 'node:path';
import { connectClient, submit, waitForJob } from '../../src/client';
import { loadConfig } from '../../src/config';
import { S3Store } from '../../src/stores/s3-store';
import { startS3Server } from '../../test/helpers/s3-server';
import { median, run, secondsSince, spawnWorker, stopWorker } from './processes';

const BUCKET = 'bench';

export interface S3BenchResult {
  courierParts: number;
  courierObject: number;
  rclone: number;
}

export async function benchS3(options: { work: string; source: string; rounds: number; env: NodeJS.ProcessEnv }): Promise<S3BenchResult> {
  const s3 = await startS3Server();
  await s3.createBucket(BUCKET);
  const env: NodeJS.ProcessEnv = {
    ...options.env,
    ...s3.envFor(BUCKET, 'courier'),
    COURIER_DATA_DIR: path.join(options.work, 'data-s3'),
    COURIER_TASK_QUEUE: 'bench-s3',
  };
  const config = loadConfig(env);
  const worker = spawnWorker(env);
  const client = await connectClient(config);
  const bucket = new S3Store({
    bucket: BUCKET,
    prefix: '',
    pathStyle: true,
    aws: { endpoint: s3.endpoint, region: 'us-east-1', accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  // rclone 1.60 cannot apply AWS_CA_BUNDLE to its transport and refuses to start; the endpoint is plain http anyway.
  const { AWS_CA_BUNDLE: _unused, ...inherited } = process.env;
  const rcloneEnv: NodeJS.ProcessEnv = {
    ...inherited,
    RCLONE_CONFIG_S3_TYPE: 's3',
    RCLONE_CONFIG_S3_PROVIDER: 'Other',
    RCLONE_CONFIG_S3_ENDPOINT: s3.endpoint,
    RCLONE_CONFIG_S3_REGION: 'us-east-1',
    RCLONE_CONFIG_S3_ACCESS_KEY_ID: s3.accessKeyId,
    RCLONE_CONFIG_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    RCLONE_CONFIG_S3_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_S3_CHUNK_SIZE: `${config.partSize}B`, // a bare number would be KiB
    RCLONE_CONFIG_S3_UPLOAD_CONCURRENCY: `${config.concurrency}`,
  };
  // Each round's copy is removed before the next, so the server's disk holds one copy at a time.
  const empty = async (prefix: string) => {
    for (const object of await bucket.list(prefix)) await bucket.delete(object.key);
  };
  const samples: Record<keyof S3BenchResult, number[]> = { courierParts: [], courierObject: [], rclone: [] };

  const courier = (layout: 'parts' | 'object') => async (round: number) => {
    const started = process.hrtime.bigint();
    const { jobId } = await submit(client, config, { kind: 'backup', name: `s3-${layout}-${round}`, source: options.source, layout });
    await waitForJob(client, jobId);
    samples[layout === 'parts' ? 'courierParts' : 'courierObject'].push(secondsSince(started));
    await empty('courier/');
  };
  const rclone = async (round: number) => {
    const { seconds } = await run('rclone', ['copy', options.source, `s3:${BUCKET}/rclone-${round}`], rcloneEnv);
    samples.rclone.push(seconds);
    await empty(`rclone-${round}/`);
  };

  try {
    for (let round = 1; round <= options.rounds; round++) {
      const steps = [rclone, courier('parts'), courier('object')];
      // Rotate who goes first, so none always meets a warm or a cold page cache.
      for (let i = 0; i < steps.length; i++) await steps[(i + round - 1) % steps.length](round);
      const last = (key: keyof S3BenchResult) => samples[key].at(-1)!.toFixed(2);
      console.log(
        `s3 round ${round}/${options.rounds}: courier parts ${last('courierParts')}s, courier object ${last('courierObject')}s, rclone ${last('rclone')}s`,
      );
    }
    return { courierParts: median(samples.courierParts), courierObject: median(samples.courierObject), rclone: median(samples.rclone) };
  } finally {
    await stopWorker(worker);
    await client.connection.close();
    bucket.client.destroy();
    await s3.stop();
  }
}
