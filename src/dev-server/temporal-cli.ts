import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { toolCacheDir } from '../config';

export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this dir
    }
  }
  return undefined;
}

function findGo(env: NodeJS.ProcessEnv): string | undefined {
  return onPath('go', env) ?? (fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

export const cachedCliPath = (env: NodeJS.ProcessEnv = process.env) =>
  path.join(toolCacheDir(env), `temporal-${TEMPORAL_CLI_VERSION}`);

/**
 * The Temporal CLI that runs the dev server: $TEMPORAL_CLI, else `temporal` on
 * PATH, else a copy built once with `go install` into a cache dir outside the
 * checkout (so fresh clones and CI reuse it).
 */
export async function ensureTemporalCli(env: NodeJS.ProcessEnv = process.env, log = (line: string) => console.error(line)): Promise<string> {
  if (env.TEMPORAL_CLI) {
    if (!fs.existsSync(env.TEMPORAL_CLI)) throw new Error(`TEMPORAL_CLI=${env.TEMPORAL_CLI} does not exist`);
    return env.TEMPORAL_CLI;
  }
  const found = onPath('temporal', env);
  if (found) return found;
  const cached = cachedCliPath(env);
  if (fs.existsSync(cached)) return cached;
  const go = findGo(env);
  if (!go) {
    throw new Error(
      'the Temporal CLI is not installed and Go is not available to build it.\n' +
        'Install the Temporal CLI (https://docs.temporal.io/cli) and put `temporal` on PATH or set TEMPORAL_CLI=/path/to/temporal,\n' +
        `or install Go (https://go.dev/dl) and run this again: courier builds ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION} once.`,
    );
  }
  await buildCli(go, cached, env, log);
  return cached;
}

async function buildCli(go: string, target: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  const dir = path.dirname(target);
  // Build into a private dir and rename, so a concurrent build or a killed one never leaves a half-written binary.
  fs.mkdirSync(dir, { recursive: true });
  const gobin = fs.mkdtempSync(path.join(dir, '.build-'));
  log(`courier: building the Temporal CLI ${TEMPORAL_CLI_VERSION} with go install into ${dir} (once; this takes a few minutes)...`);
  const started = Date.now();
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
      env: { ...env, GOBIN: gobin, GOFLAGS: '-mod=mod' },
      stdio: ['ignore', 'inherit', 'inherit'],
      cwd: gobin,
    });
    child.on('error', reject);
    child.on('exit', (status) => resolve(status ?? 1));
  });
  const built = path.join(gobin, 'temporal');
  if (code !== 0 || !fs.existsSync(built)) {
    fs.rmSync(gobin, { recursive: true, force: true });
    throw new Error(
      `building the Temporal CLI failed (go install exited ${code}). Install the Temporal CLI yourself ` +
        '(https://docs.temporal.io/cli) and set TEMPORAL_CLI=/path/to/temporal.',
    );
  }
  fs.renameSync(built, target);
  fs.rmSync(gobin, { recursive: true, force: true });
  const check = spawnSync(target, ['--version'], { encoding: 'utf8' });
  log(`courier: built ${check.stdout.trim()} in ${Math.round((Date.now() - started) / 1000)} s`);
}
