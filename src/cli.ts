import { Command } from 'commander';
import { registerEtlCommands } from './cli/etl-commands';
import { registerJobCommands } from './cli/job-commands';
import { exitCodeFor } from './cli/output';
import { registerHoldCommands } from './cli/hold-commands';
import { registerOperatorCommands } from './cli/operator-commands';
import { registerServerCommands } from './cli/server-commands';
import { registerStoreCommands } from './cli/store-commands';

const program = new Command('courier')
  .description('durable file and message pipelines on Temporal')
  .showHelpAfterError()
  .configureOutput({ outputError: (text, write) => write(text) });

registerServerCommands(program);
registerJobCommands(program);
registerOperatorCommands(program);
registerHoldCommands(program);
registerEtlCommands(program);
registerStoreCommands(program);

program.exitOverride();
program.parseAsync(process.argv).catch((err: unknown) => {
  const commanderCode = (err as { code?: string; exitCode?: number }).code;
  if (commanderCode?.startsWith('commander.')) {
    process.exit(commanderCode === 'commander.helpDisplayed' || commanderCode === 'commander.version' ? 0 : 2);
  }
  const { code, text } = exitCodeFor(err);
  process.stderr.write(`courier: ${text}\n`);
  process.exit(code);
});
