import { spawn } from 'node:child_process';
import { log } from '@temporalio/activity';
import type { ActivityDeps } from '../../../activities/deps';
import { permanent } from '../../../activities/failures';

export interface SpawnHookInput {
  jobId: string;
  topic: string;
  format: string;
  project: string;
  taskQueue: string;
}

/**
 * Runs the configured spawn hook (seed 003's "spawn a new worker") with the
 * topic in its environment. The hook is expected to start a worker in the
 * background and exit; exit 0 counts as done, anything else fails.
 */
export async function runSpawnHook(deps: ActivityDeps, input: SpawnHookInput): Promise<string> {
  const { spawnHook, spawnHookTimeoutMs } = deps.config.dispatch;
  if (!spawnHook) throw permanent('NotConfigured', `no worker handles topic ${input.topic} and no spawn hook is configured (COURIER_SPAWN_HOOK)`);
  const child = spawn('/bin/sh', ['-c', spawnHook], {
    env: {
      ...process.env,
      COURIER_HOOK_JOB_ID: input.jobId,
      COURIER_HOOK_TOPIC: input.topic,
      COURIER_HOOK_FORMAT: input.format,
      COURIER_HOOK_PROJECT: input.project,
      COURIER_HOOK_TASK_QUEUE: input.taskQueue,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: spawnHookTimeoutMs,
  });
  let output = '';
  const keep = (data: Buffer) => (output = (output + data.toString()).slice(-2000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  // 'exit', not 'close': a worker started in the background may hold the hook's pipes open for its whole life.
  const code = await new Promise<number | string>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? signal ?? 'unknown'));
  });
  child.stdout.destroy();
  child.stderr.destroy();
  if (code !== 0) {
    throw permanent('BadInput', `spawn hook \`${spawnHook}\` for topic ${input.topic} exited ${code}${output.trim() ? `: ${output.trim()}` : ''}`);
  }
  log.info('spawn hook ran', { topic: input.topic, hook: spawnHook });
  return output.trim();
}
