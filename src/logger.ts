import pino, { type Logger } from 'pino';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Config } from './config';

export type { Logger } from 'pino';

export function createLogger(config: Pick<Config, 'logLevel'>, name = 'courier'): Logger {
  return pino({ name, level: config.logLevel });
}

const SDK_LEVEL: Record<string, LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

/** pino prints an Error nested in meta as `{}`; keep what an operator needs from it. */
function serializable(meta: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta ?? {})) {
    if (key === 'taskToken') continue;
    out[key] = value instanceof Error ? { type: value.name, message: value.message } : value;
  }
  return out;
}

/** The SDK's routine start-up notes: true of every worker, so at info they only bury what matters. */
const ROUTINE = /^(Worker state changed|No Nexus services registered|No workflows registered|No activities registered)/;

let installed = false;

/**
 * Routes the SDK's own logs, and the workflow and activity loggers (which
 * attach workflowId, runId and activityType to every entry), into pino.
 * The Runtime can be installed once per process, before any connection.
 */
export function installRuntimeLogger(logger: Logger, metricsAddress?: string): void {
  if (installed) return;
  installed = true;
  Runtime.install({
    // The SDK's own Prometheus exporter: pollers, task latencies, activity and workflow outcomes.
    ...(metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } } : {}),
    logger: new DefaultLogger(SDK_LEVEL[logger.level] ?? 'INFO', (entry) => {
      const level = ROUTINE.test(entry.message) ? 'debug' : (entry.level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error');
      logger[level](serializable(entry.meta), entry.message);
    }),
  });
}
