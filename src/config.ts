import path from 'node:path';
import os from 'node:os';
import { z } from 'zod';
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';

const MiB = 1024 * 1024;

/** Parses sizes such as `64MiB`, `512k`, `1G` or a plain byte count. */
export function parseSize(text: string): number {
  const match = /^\s*(\d+)\s*([kmgt]?)(i?b)?\s*$/i.exec(text);
  if (!match) throw new Error(`"${text}" is not a size: use bytes or a unit, e.g. 67108864, 64MiB, 512KiB`);
  const power = ' kmgt'.indexOf(match[2].toLowerCase() || ' ');
  return Number(match[1]) * 1024 ** power;
}

/** Parses `500ms`, `30s`, `5m`, `1h` or plain milliseconds. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration: use e.g. 500ms, 30s, 5m, 1h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 'ms') as 'ms'];
  return Number(match[1]) * unit;
}

const size = (min: number, max: number) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return parseSize(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    })
    .pipe(z.number().int().min(min).max(max));

const duration = (min: number) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return parseDuration(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    })
    .pipe(z.number().int().min(min));

const envSchema = z.object({
  COURIER_DATA_DIR: z.string().min(1).default('./data'),
  COURIER_PART_SIZE: size(1, 5 * 1024 * MiB).default(64 * MiB),
  COURIER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  COURIER_SOURCE_ROOTS: z.string().optional(),
  COURIER_CHECKSUMS: z.enum(['sha256', 'sha256,md5']).default('sha256'),
  COURIER_TASK_QUEUE: z.string().min(1).default('courier'),
  COURIER_HEARTBEAT_TIMEOUT: duration(1000).default(30_000),
  COURIER_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  COURIER_DEV_SERVER_UI_PORT: z.coerce.number().int().min(1).max(65535).optional(),
});

export type Config = ReturnType<typeof toConfig>;

function toConfig(env: z.infer<typeof envSchema>, temporal: ClientConnectConfig) {
  const dataDir = path.resolve(env.COURIER_DATA_DIR);
  return {
    dataDir,
    stagingDir: path.join(dataDir, 'staging'),
    storeDir: path.join(dataDir, 'store'),
    partSize: env.COURIER_PART_SIZE,
    concurrency: env.COURIER_CONCURRENCY,
    /** Absolute directories a source must live under; empty means any readable path. */
    sourceRoots: (env.COURIER_SOURCE_ROOTS ?? '')
      .split(':')
      .filter(Boolean)
      .map((root) => path.resolve(root)),
    md5: env.COURIER_CHECKSUMS === 'sha256,md5',
    taskQueue: env.COURIER_TASK_QUEUE,
    heartbeatTimeoutMs: env.COURIER_HEARTBEAT_TIMEOUT,
    logLevel: env.COURIER_LOG_LEVEL,
    devServerUiPort: env.COURIER_DEV_SERVER_UI_PORT,
    temporal: {
      address: temporal.connectionOptions.address ?? 'localhost:7233',
      namespace: temporal.namespace ?? 'default',
      connectionOptions: temporal.connectionOptions,
    },
  };
}

export class ConfigError extends Error {}

/**
 * Reads the environment once; a bad value stops the program with a message that
 * names the variable, instead of surfacing later as a confusing runtime failure.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.')}=${JSON.stringify(env[String(issue.path[0])])}: ${issue.message}`,
    );
    throw new ConfigError(`invalid courier configuration:\n${lines.join('\n')}`);
  }
  let temporal: ClientConnectConfig;
  try {
    temporal = loadClientConnectConfig({ overrideEnvVars: pickTemporalEnv(env) });
  } catch (err) {
    throw new ConfigError(`invalid Temporal connection settings (TEMPORAL_* or the profile file): ${(err as Error).message}`);
  }
  return toConfig(parsed.data, temporal);
}

function pickTemporalEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('TEMPORAL_') && value !== undefined) picked[key] = value;
  }
  return picked;
}

/** Where built tools (the Temporal CLI) are cached, outside any checkout so fresh clones reuse them. */
export function toolCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'courier', 'bin');
}
