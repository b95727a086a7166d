import { ensureGoTool, type GoTool } from './go-tool';

export const TEMPORAL_CLI: GoTool = {
  command: 'temporal',
  module: 'github.com/temporalio/cli/cmd/temporal',
  version: 'v1.5.1',
  envVar: 'TEMPORAL_CLI',
  installHint: 'Install the Temporal CLI (https://docs.temporal.io/cli) and put `temporal` on PATH or set TEMPORAL_CLI=/path/to/temporal,',
};

/** The Temporal CLI that runs the dev server: $TEMPORAL_CLI, else `temporal` on PATH, else built once into the cache. */
export function ensureTemporalCli(env: NodeJS.ProcessEnv = process.env, log = (line: string) => console.error(line)): Promise<string> {
  return ensureGoTool(TEMPORAL_CLI, env, log);
}
