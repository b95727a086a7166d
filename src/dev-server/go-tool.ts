import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { toolCacheDir } from '../config';

/** A Go program courier builds once with `go install` when the machine does not have it. */
export interface GoTool {
  /** The command's name on PATH. */
  command: string;
  module: string;
  version: string;
  /** The variable that points at a copy the user installed. */
  envVar: string;
  /** What to tell a user who has neither the tool nor Go. */
  installHint: string;
}

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

export const cachedToolPath = (tool: GoTool, env: NodeJS.ProcessEnv = process.env) => path.join(toolCacheDir(env), `${tool.command}-${tool.version}`);

/**
 * The tool's path: $<envVar>, else the command on PATH, else a copy built once
 * with `go install` into a cache dir outside the checkout (so fresh clones and CI reuse it).
 */
export async function ensureGoTool(tool: GoTool, env: NodeJS.ProcessEnv = process.env, log = (line: string) => console.error(line)): Promise<string> {
  const given = env[tool.envVar];
  if (given) {
    if (!fs.existsSync(given)) throw new Error(`${tool.envVar}=${given} does not exist`);
    return given;
  }
  const found = onPath(tool.command, env);
  if (found) return found;
  const cached = cachedToolPath(tool, env);
  if (fs.existsSync(cached)) return cached;
  const go = findGo(env);
  if (!go) {
    throw new Error(
      `${tool.command} is not installed and Go is not available to build it.\n${tool.installHint}\n` +
        `or install Go (https://go.dev/dl) and run this again: courier builds ${tool.module}@${tool.version} once.`,
    );
  }
  await build(tool, go, cached, env, log);
  return cached;
}

async function build(tool: GoTool, go: string, target: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  const dir = path.dirname(target);
  // Build into a private dir and rename, so a concurrent build or a killed one never leaves a half-written binary.
  fs.mkdirSync(dir, { recursive: true });
  const gobin = fs.mkdtempSync(path.join(dir, '.build-'));
  log(`courier: building ${tool.module}@${tool.version} with go install into ${dir} (once; this takes a few minutes)...`);
  const started = Date.now();
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(go, ['install', `${tool.module}@${tool.version}`], {
      env: { ...env, GOBIN: gobin, GOFLAGS: '-mod=mod' },
      stdio: ['ignore', 'inherit', 'inherit'],
      cwd: gobin,
    });
    child.on('error', reject);
    child.on('exit', (status) => resolve(status ?? 1));
  });
  const built = path.join(gobin, path.basename(tool.module));
  if (code !== 0 || !fs.existsSync(built)) {
    fs.rmSync(gobin, { recursive: true, force: true });
    throw new Error(`building ${tool.command} failed (go install exited ${code}). ${tool.installHint}`);
  }
  fs.renameSync(built, target);
  fs.rmSync(gobin, { recursive: true, force: true });
  log(`courier: built ${tool.command} ${tool.version} in ${Math.round((Date.now() - started) / 1000)} s`);
}
