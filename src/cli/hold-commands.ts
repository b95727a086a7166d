import type { Command } from 'commander';
import { loadConfig } from '../config';
import { HOLD_SCOPES } from '../jobs/holds';
import { listHolds, placeHold, releaseHold } from '../operations/holds';
import { openStore } from '../stores';
import { printJson } from './output';
import { holdRows, withClient } from './operator-commands';

/** Seed 001's administrative state: hold a kind, a dispatch topic or a host so its jobs start no new work, and release it. */
export function registerHoldCommands(program: Command): void {
  const scopes = HOLD_SCOPES.join('|');
  program
    .command('hold')
    .description('hold every job of a kind, a dispatch topic or a host: running jobs start no new work, new jobs wait; the hold outlives restarts')
    .argument('<scope>', scopes)
    .argument('<name>', 'the kind, topic or host')
    .option('--note <text>', 'why, shown beside the hold')
    .option('--json', 'print JSON for scripts')
    .action((scope: string, name: string, opts: { note?: string; json?: boolean }) =>
      withClient(async (client, config) => {
        const placed = await placeHold({ client, config, store: openStore(config) }, { scope, name, ...(opts.note ? { note: opts.note } : {}) });
        if (opts.json) return printJson(placed);
        process.stdout.write(`${placed.hold.id}: held since ${placed.hold.at}; ${placed.held} running job(s) told\n`);
      }),
    );

  program
    .command('release')
    .description('release a hold: the jobs it held go on, new jobs start at once')
    .argument('<scope>', scopes)
    .argument('<name>', 'the kind, topic or host')
    .option('--json', 'print JSON for scripts')
    .action((scope: string, name: string, opts: { json?: boolean }) =>
      withClient(async (client, config) => {
        const released = await releaseHold({ client, config, store: openStore(config) }, { scope, name });
        if (opts.json) return printJson(released);
        process.stdout.write(`${released.released.id}: released; ${released.resumed} running job(s) told\n`);
      }),
    );

  program
    .command('holds')
    .description('the holds in place')
    .option('--json', 'print JSON for scripts')
    .action(async (opts: { json?: boolean }) => {
      const holds = await listHolds(openStore(loadConfig()));
      if (opts.json) return printJson(holds);
      if (holds.length === 0) process.stderr.write('no holds\n');
      else process.stdout.write(holdRows(holds));
    });
}
