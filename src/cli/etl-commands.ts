import path from 'node:path';
import type { Command } from 'commander';
import { connectClient } from '../client';
import { loadConfig, parseDuration, type Config } from '../config';
import { createLogger } from '../logger';
import {
  createCleanupSchedule,
  deleteCleanupSchedule,
  describeCleanupSchedule,
  listCleanupSchedules,
  triggerCleanupSchedule,
} from '../operations/cleanup-schedule';
import { watchBackupDrop } from '../kinds/backup/drop-folder';
import { watchEtlInbox } from '../kinds/etl/drop-folder';
import type { Inbox } from '../watch/inbox';
import { CliError, EXIT, hostOption, printJson } from './output';
import { table, withClient } from './operator-commands';

export function durationOption(flag: string, text: string): number {
  // Days are the natural unit for cleanup ages; parseDuration knows up to hours.
  const days = /^\s*(\d+)\s*d\s*$/.exec(text);
  if (days) return Number(days[1]) * 86_400_000;
  try {
    return parseDuration(text);
  } catch (err) {
    throw new CliError(`${flag}: ${(err as Error).message.replace('1h', '1h, 7d')}`, EXIT.badInput);
  }
}

export interface WatchSpec {
  dir: string;
  /** An ETL pipeline; absent for a backup drop folder. */
  pipeline?: string;
}

/** `etl:PIPELINE:DIR` or `backup:DIR`, as `courier start --watch` takes them. */
export function parseWatchSpec(text: string): WatchSpec {
  const etl = /^etl:([A-Za-z0-9][A-Za-z0-9_-]*):(.+)$/.exec(text);
  if (etl) return { pipeline: etl[1], dir: path.resolve(etl[2]) };
  const backup = /^backup:(.+)$/.exec(text);
  if (backup) return { dir: path.resolve(backup[1]) };
  throw new CliError(`--watch ${text}: use etl:PIPELINE:DIR (an inbox for an ETL pipeline) or backup:DIR (a backup drop folder)`, EXIT.badInput);
}

/** Starts the watchers; they run until closed. */
export async function startWatchers(config: Config, specs: WatchSpec[], logger = createLogger(config)): Promise<{ close(): Promise<void> }> {
  const client = await connectClient(config);
  const inboxes: Inbox[] = [];
  for (const spec of specs) {
    inboxes.push(
      spec.pipeline
        ? await watchEtlInbox(spec.dir, spec.pipeline, { config, client, logger })
        : await watchBackupDrop(spec.dir, { config, client, logger }),
    );
  }
  return {
    async close() {
      await Promise.all(inboxes.map((inbox) => inbox.close()));
      await client.connection.close();
    },
  };
}

/** Drop-folder watchers and the ETL cleanup schedule (the `etl` command itself comes from its kind). */
export function registerEtlCommands(program: Command): void {
  program
    .command('watch')
    .description('start a job for every file dropped into a directory, once it is complete')
    .argument('<dir>', 'with --etl: the inbox; with --backup: the drop folder holding inbox/, working/, resolved/ and failed/')
    .option('--etl <pipeline>', 'start an ETL job of this pipeline for each file')
    .option('--backup', 'back up each file')
    .action(async (dir: string, opts: { etl?: string; backup?: boolean }) => {
      if (!opts.etl === !opts.backup) throw new CliError('watch: give exactly one of --etl PIPELINE or --backup', EXIT.badInput);
      const config = loadConfig();
      const watchers = await startWatchers(config, [{ dir: path.resolve(dir), pipeline: opts.etl }]);
      await new Promise<void>((resolve) => {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolve());
      });
      await watchers.close();
    });

  const schedule = program.command('schedule').description('the ETL cleanup on a Temporal Schedule: archive resolved files, mail about stale ones');
  schedule
    .command('create')
    .description('run the ETL cleanup every interval')
    .argument('[id]', 'schedule id', 'etl-cleanup')
    .option('--every <duration>', 'how often, e.g. 1d, 6h, 30m', '1d')
    .option('--older-than <duration>', 'mail about working and failed files older than this, e.g. 7d', '7d')
    .option('--host <name>', "clean this host's ETL tree (with many hosts, one schedule per host)")
    .option('--json', 'print JSON for scripts')
    .action((id: string, opts: { every: string; olderThan: string; host?: string; json?: boolean }) =>
      withClient(async (client, config) => {
        const host = opts.host === undefined ? undefined : hostOption(opts.host);
        await createCleanupSchedule(client, config, {
          id,
          everyMs: durationOption('--every', opts.every),
          olderThanMs: durationOption('--older-than', opts.olderThan),
          host,
        });
        const view = await describeCleanupSchedule(client, id);
        if (opts.json) printJson(view);
        else process.stdout.write(`schedule ${id} created: cleanup every ${opts.every}, next run ${view.nextRuns[0] ?? '-'}\n`);
      }),
    );
  schedule
    .command('list')
    .description('the cleanup schedules, their next and recent runs')
    .option('--json', 'print JSON for scripts')
    .action((opts: { json?: boolean }) =>
      withClient(async (client) => {
        const views = await listCleanupSchedules(client);
        if (opts.json) return printJson(views);
        process.stdout.write(
          table(
            ['ID', 'EVERY', 'OLDER THAN', 'NEXT RUN', 'LAST RUN'],
            views.map((v) => [
              v.id,
              v.every ?? '-',
              v.olderThanMs ? `${Math.round(v.olderThanMs / 86_400_000)}d` : '-',
              v.nextRuns[0] ?? '-',
              v.recentRuns.at(-1)?.workflowId ?? '-',
            ]),
          ),
        );
      }),
    );
  schedule
    .command('delete')
    .description('remove a cleanup schedule (runs already started finish)')
    .argument('[id]', 'schedule id', 'etl-cleanup')
    .action((id: string) =>
      withClient(async (client) => {
        await deleteCleanupSchedule(client, id);
        process.stdout.write(`schedule ${id} deleted\n`);
      }),
    );
  schedule
    .command('trigger')
    .description('run the cleanup now and print the job id of the run')
    .argument('[id]', 'schedule id', 'etl-cleanup')
    .action((id: string) =>
      withClient(async (client) => {
        process.stdout.write(`${await triggerCleanupSchedule(client, id)}\n`);
      }),
    );
}
