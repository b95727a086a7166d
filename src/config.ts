import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { z } from 'zod';
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { callbackUrl, hostName, notifyEvent } from './jobs/fields';
import { codecKeys, CodecKeyError, type CodecKey } from './security/codec';

const topicPart = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be lowercase letters, digits, "-" and "_"');
/** A dispatch topic: a format, or project.format when routing by project. */
const topicName = z.string().regex(/^([A-Za-z0-9][A-Za-z0-9_-]*\.)?[a-z0-9][a-z0-9_-]*$/, 'must be a format or project.format');

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

const list = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((text) =>
      text
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));

const envSchema = z.object({
  COURIER_DATA_DIR: z.string().min(1).default('./data'),
  COURIER_PART_SIZE: size(1, 5 * 1024 * MiB).default(64 * MiB),
  COURIER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  // Worker tuning (see worker-tuning.ts): unset, the SDK's defaults.
  COURIER_WORKFLOW_POLLERS: z.coerce.number().int().min(2).max(100).optional(),
  COURIER_ACTIVITY_POLLERS: z.coerce.number().int().min(1).max(100).optional(),
  COURIER_WORKFLOW_SLOTS: z.coerce.number().int().min(2).max(1000).optional(),
  COURIER_ACTIVITY_SLOTS: z.coerce.number().int().min(1).max(1000).optional(),
  COURIER_SOURCE_ROOTS: z.string().optional(),
  COURIER_RESTORE_ROOTS: z.string().optional(),
  COURIER_CHECKSUMS: z.enum(['sha256', 'sha256,md5']).default('sha256'),
  COURIER_TASK_QUEUE: z.string().min(1).default('courier'),
  // Many hosts: this worker's host name (its own task queue host-NAME), when a host that stops polling counts as lost, and how long a job that named its host waits for it.
  COURIER_HOST: hostName.optional(),
  COURIER_HOST_TIMEOUT: duration(500).default(60_000),
  COURIER_HOST_WAIT: duration(500).default(60 * 60_000),
  COURIER_HEARTBEAT_TIMEOUT: duration(1000).default(30_000),
  // Parts a backup or restore run handles before continuing as new: each costs about 6 history events, and a run must stay far below 10,240.
  COURIER_PARTS_PER_RUN: z.coerce.number().int().min(10).max(1500).default(1000),
  COURIER_STORE: z
    .string()
    .regex(
      /^(fs|file:\/\/\/[^\0]*|s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9._/-]*)?)$/,
      'must be "fs" (under the data dir), file:///absolute/path (a shared mount) or s3://bucket[/prefix]',
    )
    .default('fs'),
  COURIER_S3_PATH_STYLE: z.enum(['true', 'false', '1', '0']).default('false'),
  COURIER_S3_LAYOUT: z.enum(['chunks', 'parts', 'object']).default('chunks'),
  COURIER_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  COURIER_DEV_SERVER_UI_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  // Notifications: defaults for messages that do not say, and how to deliver them.
  COURIER_NOTIFY_EMAIL: list(z.email('must be a comma-separated list of email addresses')).default([]),
  COURIER_NOTIFY_CALLBACK_URL: callbackUrl.optional(),
  COURIER_NOTIFY_ON: list(notifyEvent).optional(),
  COURIER_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  // Payload encryption: keys inline (id:base64,...) or in a JSON file; the first encrypts, all decrypt.
  COURIER_CODEC_KEYS: z.string().optional(),
  COURIER_CODEC_KEY_FILE: z.string().optional(),
  COURIER_WEBHOOK_TIMEOUT: duration(100).default(10_000),
  COURIER_WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8),
  COURIER_WEBHOOK_RETRY_INTERVAL: duration(10).default(5_000),
  COURIER_SMTP_URL: z.url({ protocol: /^smtps?$/, error: 'must be an smtp:// or smtps:// URL' }).optional(),
  COURIER_MAIL_FROM: z.email().default('courier@localhost'),
  COURIER_LEDGER_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
  // Dispatch: which formats exist, how a message finds its workers, and how long to wait for one.
  COURIER_DISPATCH_FORMATS: list(topicPart).default(['archive']),
  COURIER_DISPATCH_ROUTE: z.enum(['format', 'project.format']).default('format'),
  COURIER_HANDLES: list(topicName).default([]),
  COURIER_DISPATCH_CHECK_INTERVAL: duration(100).default(5 * 60_000),
  COURIER_DISPATCH_MAX_CHECKS: z.coerce.number().int().min(1).max(1000).default(3),
  COURIER_DISPATCH_DEADLINE: duration(100).default(60 * 60_000),
  COURIER_DISPATCH_WORK_TIMEOUT: duration(1000).default(6 * 60 * 60_000),
  COURIER_SPAWN_HOOK: z.string().min(1).optional(),
  COURIER_SPAWN_HOOK_TIMEOUT: duration(100).default(60_000),
  // Deployment: how long a stopping worker lets running work finish, and a prebuilt workflow bundle.
  COURIER_SHUTDOWN_GRACE: duration(0).default(30_000),
  COURIER_WORKFLOW_BUNDLE: z.string().min(1).optional(),
  // The HTTP API: port, bind address (loopback only without a token), bearer token, request body limit.
  COURIER_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8088),
  COURIER_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  COURIER_HTTP_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  // A token that may read (GET) but not act; it needs COURIER_HTTP_TOKEN beside it.
  COURIER_HTTP_READ_TOKEN: z
    .string()
    .min(16, 'must be at least 16 characters')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  COURIER_HTTP_BODY_LIMIT: size(1024, 64 * MiB).default(1 * MiB),
  /** Where the dashboard links a job's history: the Temporal web UI's base URL. */
  COURIER_TEMPORAL_UI_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  // Push: how long a host may leave its queue unpolled before it counts as unreachable; post-command limit; where a host writes.
  COURIER_PUSH_HOST_TIMEOUT: duration(100).default(60_000),
  COURIER_PUSH_COMMAND_TIMEOUT: duration(100).default(5 * 60_000),
  COURIER_DELIVERY_ROOT: z.string().min(1).optional(),
  // On a host: the post-commands it runs, by key (JSON, or @/path/to/file.json), and the owners a push may give files.
  COURIER_PUSH_COMMANDS: z.string().optional(),
  COURIER_PUSH_OWNERS: z.string().optional(),
  // ETL (seed 002): the pipeline file, the root holding E/, T/, L/ and archive/, and how often a failing location is retried.
  COURIER_ETL_CONFIG: z.string().min(1).optional(),
  COURIER_ETL_ROOT: z.string().min(1).optional(),
  COURIER_ETL_LOAD_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(3),
  // T splits a file larger than twice this on several threads at once, each taking a range of at least this much.
  COURIER_ETL_SPLIT_RANGE: size(1024, 1024 * 1024 * MiB).default(8 * MiB),
  COURIER_WATCH_STABLE: duration(50).default(2000),
  // The backup repository: its key (a key file's bytes or a passphrase) and, for one made without `courier store init`, compression.
  COURIER_REPO_KEY_FILE: z.string().min(1).optional(),
  COURIER_REPO_PASSWORD: z.string().min(1).optional(),
  COURIER_COMPRESSION: z.enum(['brotli', 'none']).default('brotli'),
  // Start-up: how long a process waits for the Temporal server (and a test for its S3 server) to answer.
  COURIER_CONNECT_TIMEOUT: duration(100).default(60_000),
  COURIER_METRICS_ADDRESS: z
    .string()
    .regex(/^[^:\s]*:\d{1,5}$/, 'must be host:port, e.g. 0.0.0.0:9464')
    .optional(),
});

/** Every COURIER_* variable courier reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export type Config = ReturnType<typeof toConfig>;

function toConfig(env: z.infer<typeof envSchema>, temporal: ClientConnectConfig, rawEnv: NodeJS.ProcessEnv, codec?: CodecKey[]) {
  const dataDir = path.resolve(env.COURIER_DATA_DIR);
  return {
    dataDir,
    /** Payload encryption keys, the first encrypting; absent, payloads are stored as they are. */
    codecKeys: codec,
    stagingDir: path.join(dataDir, 'staging'),
    /** The fs store's root: under the data dir, or the path of a file:// store (a mount several hosts share). */
    storeDir: env.COURIER_STORE.startsWith('file://')
      ? path.resolve(decodeURIComponent(new URL(env.COURIER_STORE).pathname))
      : path.join(dataDir, 'store'),
    store: storeSetting(env.COURIER_STORE, env.COURIER_S3_PATH_STYLE === 'true' || env.COURIER_S3_PATH_STYLE === '1', env.COURIER_S3_LAYOUT, rawEnv),
    partSize: env.COURIER_PART_SIZE,
    repository: { keyFile: env.COURIER_REPO_KEY_FILE, password: env.COURIER_REPO_PASSWORD, compression: env.COURIER_COMPRESSION },
    concurrency: env.COURIER_CONCURRENCY,
    tuning: {
      workflowPollers: env.COURIER_WORKFLOW_POLLERS,
      activityPollers: env.COURIER_ACTIVITY_POLLERS,
      workflowSlots: env.COURIER_WORKFLOW_SLOTS,
      activitySlots: env.COURIER_ACTIVITY_SLOTS,
    },
    /**
     * Where paths a message names for reading may lead (backup source, push file,
     * ETL source, dispatch payload files); by default only the directory the
     * worker runs in, so a reachable API never means "any file on the worker".
     */
    sourceRoots: rootsFrom(env.COURIER_SOURCE_ROOTS),
    /** Where a restore may write; the same default. */
    restoreRoots: rootsFrom(env.COURIER_RESTORE_ROOTS),
    md5: env.COURIER_CHECKSUMS === 'sha256,md5',
    taskQueue: env.COURIER_TASK_QUEUE,
    /** This worker's host: its file steps run here, on task queue host-NAME. */
    host: env.COURIER_HOST ?? defaultHostName(),
    hosts: { lostAfterMs: env.COURIER_HOST_TIMEOUT, waitMs: env.COURIER_HOST_WAIT },
    heartbeatTimeoutMs: env.COURIER_HEARTBEAT_TIMEOUT,
    partsPerRun: env.COURIER_PARTS_PER_RUN,
    logLevel: env.COURIER_LOG_LEVEL,
    devServerUiPort: env.COURIER_DEV_SERVER_UI_PORT,
    notify: {
      email: env.COURIER_NOTIFY_EMAIL,
      callbackUrl: env.COURIER_NOTIFY_CALLBACK_URL,
      on: env.COURIER_NOTIFY_ON,
    },
    webhook: {
      secret: env.COURIER_WEBHOOK_SECRET,
      timeoutMs: env.COURIER_WEBHOOK_TIMEOUT,
      attempts: env.COURIER_WEBHOOK_ATTEMPTS,
      retryIntervalMs: env.COURIER_WEBHOOK_RETRY_INTERVAL,
    },
    smtp: { url: env.COURIER_SMTP_URL, from: env.COURIER_MAIL_FROM },
    ledgerUrl: env.COURIER_LEDGER_URL,
    dispatch: {
      formats: env.COURIER_DISPATCH_FORMATS,
      route: env.COURIER_DISPATCH_ROUTE,
      handles: env.COURIER_HANDLES,
      checkIntervalMs: env.COURIER_DISPATCH_CHECK_INTERVAL,
      maxChecks: env.COURIER_DISPATCH_MAX_CHECKS,
      deadlineMs: env.COURIER_DISPATCH_DEADLINE,
      workTimeoutMs: env.COURIER_DISPATCH_WORK_TIMEOUT,
      spawnHook: env.COURIER_SPAWN_HOOK,
      spawnHookTimeoutMs: env.COURIER_SPAWN_HOOK_TIMEOUT,
    },
    shutdownGraceMs: env.COURIER_SHUTDOWN_GRACE,
    metricsAddress: env.COURIER_METRICS_ADDRESS,
    push: {
      hostTimeoutMs: env.COURIER_PUSH_HOST_TIMEOUT,
      postCommandTimeoutMs: env.COURIER_PUSH_COMMAND_TIMEOUT,
      /** The commands this host runs after a delivery, by the key a push names; none by default. */
      commands: pushCommands(env.COURIER_PUSH_COMMANDS),
      /** The owners (user or user:group) a push may give its file on this host; none by default. */
      owners: (env.COURIER_PUSH_OWNERS ?? '')
        .split(',')
        .map((o) => o.trim())
        .filter(Boolean),
      /** On a host: every destination is written under this directory, whatever it spells; unset, the host refuses deliveries. `/` allows any path. */
      deliveryRoot: env.COURIER_DELIVERY_ROOT ? path.resolve(env.COURIER_DELIVERY_ROOT) : undefined,
    },
    etl: etlSetting(dataDir, env),
    /** How long a dropped file's size must stay unchanged before the watcher takes it. */
    watchStableMs: env.COURIER_WATCH_STABLE,
    http: {
      port: env.COURIER_HTTP_PORT,
      host: env.COURIER_HTTP_HOST,
      token: env.COURIER_HTTP_TOKEN,
      readToken: env.COURIER_HTTP_READ_TOKEN,
      bodyLimit: env.COURIER_HTTP_BODY_LIMIT,
      temporalUiUrl: env.COURIER_TEMPORAL_UI_URL?.replace(/\/+$/, ''),
    },
    workflowBundlePath: env.COURIER_WORKFLOW_BUNDLE ? path.resolve(env.COURIER_WORKFLOW_BUNDLE) : undefined,
    /** How long start-up waits for the Temporal server to answer before giving up, naming what it tried. */
    connectTimeoutMs: env.COURIER_CONNECT_TIMEOUT,
    temporal: {
      address: temporal.connectionOptions.address ?? 'localhost:7233',
      namespace: temporal.namespace ?? 'default',
      connectionOptions: temporal.connectionOptions,
    },
  };
}

const commandMap = z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a key of letters, digits, ".", "-", "_"'), z.string().min(1));

/** A host's post-commands: a JSON object of key to command line, inline or in a file (`@/etc/courier/commands.json`). */
function pushCommands(setting: string | undefined): Record<string, string> {
  if (!setting) return {};
  let text = setting;
  if (setting.startsWith('@')) {
    try {
      text = fs.readFileSync(setting.slice(1), 'utf8');
    } catch (err) {
      throw new ConfigError(`invalid courier configuration:\n  COURIER_PUSH_COMMANDS=${setting}: cannot read the file: ${(err as Error).message}`);
    }
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      `invalid courier configuration:\n  COURIER_PUSH_COMMANDS: not JSON (${(err as Error).message}); give {"key": "command line", ...} or @/path/to/file.json`,
    );
  }
  const parsed = commandMap.safeParse(data);
  if (!parsed.success) {
    throw new ConfigError(
      `invalid courier configuration:\n  COURIER_PUSH_COMMANDS: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(map)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/** Colon-separated absolute directories; unset or empty means the working directory. `/` allows everything. */
function rootsFrom(setting: string | undefined): string[] {
  const roots = (setting ?? '')
    .split(':')
    .filter(Boolean)
    .map((root) => path.resolve(root));
  return roots.length > 0 ? roots : [process.cwd()];
}

function etlSetting(dataDir: string, env: z.infer<typeof envSchema>) {
  const root = path.resolve(env.COURIER_ETL_ROOT ?? path.join(dataDir, 'etl'));
  return {
    root,
    /** The pipeline file (JSON): storage locations and pipelines. */
    configFile: path.resolve(env.COURIER_ETL_CONFIG ?? path.join(root, 'pipelines.json')),
    loadAttempts: env.COURIER_ETL_LOAD_ATTEMPTS,
    splitRangeBytes: env.COURIER_ETL_SPLIT_RANGE,
  };
}

/** The standard AWS variables, read with the rest of the configuration so a worker's store does not depend on the process env. */
export interface AwsSettings {
  endpoint?: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
}

export type StoreSetting =
  { kind: 'fs' } | { kind: 's3'; bucket: string; prefix: string; pathStyle: boolean; layout: 'chunks' | 'parts' | 'object'; aws: AwsSettings };

function storeSetting(url: string, pathStyle: boolean, layout: 'chunks' | 'parts' | 'object', env: NodeJS.ProcessEnv): StoreSetting {
  if (url === 'fs' || url.startsWith('file://')) return { kind: 'fs' };
  const [bucket, ...rest] = url.slice('s3://'.length).split('/');
  const prefix = rest.filter(Boolean).join('/');
  const aws: AwsSettings = {
    endpoint: env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    accessKeyId: env.AWS_ACCESS_KEY_ID || undefined,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY || undefined,
    sessionToken: env.AWS_SESSION_TOKEN || undefined,
  };
  return { kind: 's3', bucket, prefix: prefix ? `${prefix}/` : '', pathStyle, layout, aws };
}

export class ConfigError extends Error {}

const SECRET_NAME = /TOKEN|SECRET|PASSWORD|_KEY$|_KEYS$/;

/** A bad setting as an error may show it: secrets by their length only, passwords in URLs masked. */
export function shown(name: string, value: string | undefined): string {
  if (value === undefined) return 'unset';
  if (SECRET_NAME.test(name)) return `(hidden, ${value.length} characters)`;
  return JSON.stringify(value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1***@'));
}

/**
 * Reads the environment once; a bad value stops the program with a message that
 * names the variable, instead of surfacing later as a confusing runtime failure.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.')}=${shown(String(issue.path[0]), env[String(issue.path[0])])}: ${issue.message}`,
    );
    throw new ConfigError(`invalid courier configuration:\n${lines.join('\n')}`);
  }
  let codec: CodecKey[] | undefined;
  try {
    codec = codecKeys(parsed.data.COURIER_CODEC_KEYS, parsed.data.COURIER_CODEC_KEY_FILE);
  } catch (err) {
    if (err instanceof CodecKeyError) throw new ConfigError(`invalid courier configuration:\n  ${err.message}`);
    throw err;
  }
  if (parsed.data.COURIER_HTTP_READ_TOKEN && !parsed.data.COURIER_HTTP_TOKEN) {
    throw new ConfigError(
      'invalid courier configuration:\n  COURIER_HTTP_READ_TOKEN is set without COURIER_HTTP_TOKEN: set both, or neither (the API then listens on loopback only)',
    );
  }
  let temporal: ClientConnectConfig;
  try {
    temporal = loadClientConnectConfig({ overrideEnvVars: pickTemporalEnv(env) });
  } catch (err) {
    throw new ConfigError(`invalid Temporal connection settings (TEMPORAL_* or the profile file): ${(err as Error).message}`);
  }
  return toConfig(parsed.data, temporal, env, codec);
}

function pickTemporalEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('TEMPORAL_') && value !== undefined) picked[key] = value;
  }
  return picked;
}

/** The machine's name as a valid host name: the part a host name allows, before any illegal character. */
function defaultHostName(): string {
  const name = os
    .hostname()
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  return name || 'localhost';
}

/** Where built tools (the Temporal CLI) are cached, outside any checkout so fresh clones reuse them. */
export function toolCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'courier', 'bin');
}
