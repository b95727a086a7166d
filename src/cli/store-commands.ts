import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { Command } from 'commander';
import { loadConfig, parseSize, type Config } from '../config';
import { DEFAULT_CHUNKER } from '../repository/chunker';
import type { RepositorySecret } from '../repository/keys';
import { repositorySecret } from '../repository/open';
import { addKey, initRepository, listKeyIds, openRepository, RepositoryError, unlock, type Repository } from '../repository/repository';
import { repoKeys } from '../repository/layout';
import { snapshotViews } from '../operations/snapshot-views';
import { openStore } from '../stores';
import { formatBytes } from './format';
import { CliError, EXIT, printJson } from './output';
import { table, withClient } from './operator-commands';
import { createRepositorySchedule } from '../operations/cleanup-schedule';
import { durationOption } from './etl-commands';

function secretFrom(opts: { keyFile?: string; passwordEnv?: string }, config: Config, what: string): RepositorySecret | undefined {
  if (opts.keyFile) {
    try {
      return { source: `${what} ${opts.keyFile}`, secret: Buffer.from(fs.readFileSync(opts.keyFile, 'utf8').trim()) };
    } catch (err) {
      throw new CliError(`${what} ${opts.keyFile} cannot be read: ${(err as Error).message}`, EXIT.badInput);
    }
  }
  if (opts.passwordEnv) {
    const value = process.env[opts.passwordEnv];
    if (!value) throw new CliError(`${what}: environment variable ${opts.passwordEnv} is empty or not set`, EXIT.badInput);
    return { source: `$${opts.passwordEnv}`, secret: Buffer.from(value) };
  }
  return repositorySecret(config);
}

async function opened(): Promise<{ config: Config; repo: Repository }> {
  const config = loadConfig();
  const store = openStore(config);
  return { config, repo: await openRepository(store, { secret: repositorySecret(config), autoInit: config.repository.compression }) };
}

/** The repository's administration (init, keys) and its snapshots, run where the store and key are. */
export function registerStoreCommands(program: Command): void {
  program
    .command('snapshots')
    .description("a backup name's snapshots, oldest first (restore one with `courier restore NAME DEST --snapshot ID`)")
    .argument('<name>', 'backup name')
    .option('--json', 'print JSON for scripts')
    .action(async (name: string, opts: { json?: boolean }) => {
      const { repo } = await opened();
      const views = await snapshotViews(repo, repo.store, name);
      if (opts.json) return printJson(views);
      if (views.length === 0) throw new CliError(`no snapshots of "${name}" in ${repo.store.description}`, EXIT.badInput);
      process.stdout.write(
        table(
          ['ID', 'TIME', 'SIZE', 'STORED', 'LAYOUT', 'SOURCE'],
          views.map((v) => [v.id, v.time, formatBytes(v.size), v.bytesStored === undefined ? '-' : formatBytes(v.bytesStored), v.layout, v.source]),
        ),
      );
    });

  const schedule = program.commands.find((c) => c.name() === 'schedule') ?? program.command('schedule');
  schedule
    .command('prune')
    .description('run prune on a Temporal Schedule')
    .argument('[id]', 'schedule id', 'prune')
    .option('--every <duration>', 'how often, e.g. 1d, 6h', '1d')
    .action((id: string, opts: { every: string }) =>
      withClient(async (client, config) => {
        await createRepositorySchedule(client, config, { id, everyMs: durationOption('--every', opts.every), message: { kind: 'prune' } });
        process.stdout.write(`schedule ${id} created: prune every ${opts.every}\n`);
      }),
    );
  schedule
    .command('check')
    .description('run a repository check on a Temporal Schedule, each run reading the next share of the chunks')
    .argument('[id]', 'schedule id', 'check')
    .option('--every <duration>', 'how often, e.g. 1d, 6h', '1d')
    .option('--read-data-subset <share>', 'share of the chunks each run reads, e.g. 5% (all of them over 20 runs)', '5%')
    .action((id: string, opts: { every: string; readDataSubset: string }) =>
      withClient(async (client, config) => {
        await createRepositorySchedule(client, config, {
          id,
          everyMs: durationOption('--every', opts.every),
          message: { kind: 'check', readDataSubset: opts.readDataSubset },
        });
        process.stdout.write(`schedule ${id} created: check ${opts.readDataSubset} every ${opts.every}\n`);
      }),
    );

  const store = program.command('store').description('the backup repository: create it, manage its keys');
  store
    .command('init')
    .description(
      'create the repository; encrypted when a key is given (--key-file, --password-env, or COURIER_REPO_KEY_FILE / COURIER_REPO_PASSWORD)',
    )
    .option('--key-file <file>', 'a file whose contents open the repository (make one with `head -c 32 /dev/urandom | base64 > FILE`)')
    .option('--password-env <variable>', 'an environment variable holding the passphrase')
    .option('--new-key', 'make the --key-file (32 random bytes, mode 0600) when it does not exist yet')
    .option('--if-missing', 'succeed, changing nothing, when the store already holds a repository the key opens')
    .option('--no-encryption', 'store chunks unencrypted even if a key is configured')
    .option('--compression <codec>', 'brotli or none', 'brotli')
    .option('--chunk-size <size>', `average chunk size, a power of two (default ${DEFAULT_CHUNKER.avg / 1024}KiB)`)
    .action(
      async (opts: {
        keyFile?: string;
        passwordEnv?: string;
        newKey?: boolean;
        ifMissing?: boolean;
        encryption: boolean;
        compression: string;
        chunkSize?: string;
      }) => {
        const config = loadConfig();
        if (opts.newKey) {
          if (!opts.keyFile) throw new CliError('--new-key needs --key-file: where to write the key', EXIT.badInput);
          if (!fs.existsSync(opts.keyFile)) fs.writeFileSync(opts.keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
        }
        if (opts.ifMissing) {
          const found = await openRepository(openStore(config), {
            secret: opts.encryption ? secretFrom(opts, config, '--key-file') : undefined,
          }).catch((err: Error) => {
            if (err instanceof RepositoryError && err.reason === 'NoRepository') return undefined;
            throw new CliError(err.message, EXIT.badInput);
          });
          if (found) {
            process.stdout.write(
              `repository ${found.config.id} already in ${found.store.description}${found.keyId ? ` (opened by key ${found.keyId})` : ''}\n`,
            );
            return;
          }
        }
        if (opts.compression !== 'brotli' && opts.compression !== 'none')
          throw new CliError(`--compression ${opts.compression}: use brotli or none`, EXIT.badInput);
        const secret = opts.encryption ? secretFrom(opts, config, '--key-file') : undefined;
        const avg = opts.chunkSize ? parseSize(opts.chunkSize) : DEFAULT_CHUNKER.avg;
        const repo = await initRepository(openStore(config), {
          ...(secret ? { secret } : {}),
          compression: opts.compression,
          chunker: { min: avg / 4, avg, max: avg * 4 },
        }).catch((err: Error) => {
          throw new CliError(err.message, EXIT.badInput);
        });
        process.stdout.write(
          `repository ${repo.config.id} created in ${repo.store.description}: ${repo.config.encrypted ? `encrypted (key ${repo.keyId})` : 'not encrypted'}, ` +
            `compression ${repo.config.compression}, chunks ${avg / 1024} KiB on average\n`,
        );
      },
    );

  const key = store
    .command('key')
    .description('the keys that open an encrypted repository: add a new one, then remove the old, to rotate without re-uploading');
  key
    .command('list')
    .description('the stored keys')
    .action(async () => {
      const config = loadConfig();
      const s = openStore(config);
      const current = repositorySecret(config);
      const using = current ? (await unlock(s, current)).keyId : undefined;
      for (const id of await listKeyIds(s)) process.stdout.write(`${id}${id === using ? '  (opened by the configured key)' : ''}\n`);
    });
  key
    .command('add')
    .description('add a key for a new key file or passphrase; the configured key opens the repository to wrap it')
    .option('--new-key-file <file>', 'the new key file')
    .option('--new-password-env <variable>', 'an environment variable holding the new passphrase')
    .action(async (opts: { newKeyFile?: string; newPasswordEnv?: string }) => {
      const config = loadConfig();
      const s = openStore(config);
      const current = repositorySecret(config);
      if (!current) throw new CliError('set COURIER_REPO_KEY_FILE or COURIER_REPO_PASSWORD to the key that opens the repository now', EXIT.badInput);
      const next = secretFrom(
        { keyFile: opts.newKeyFile, passwordEnv: opts.newPasswordEnv },
        { ...config, repository: { ...config.repository, keyFile: undefined, password: undefined } },
        '--new-key-file',
      );
      if (!next) throw new CliError('give --new-key-file or --new-password-env', EXIT.badInput);
      const { master } = await unlock(s, current);
      process.stdout.write(`key ${await addKey(s, master, next.secret)} added\n`);
    });
  key
    .command('remove')
    .description('remove a stored key; the last one cannot go')
    .argument('<id>', 'key id (`courier store key list`)')
    .action(async (id: string) => {
      const config = loadConfig();
      const s = openStore(config);
      const ids = await listKeyIds(s);
      if (!ids.includes(id)) throw new CliError(`no key ${id}; \`courier store key list\` shows the ones there are`, EXIT.badInput);
      if (ids.length === 1) throw new CliError(`key ${id} is the only one: without it nothing in the repository can be read`, EXIT.badInput);
      await s.delete(repoKeys.key(id));
      process.stdout.write(`key ${id} removed\n`);
    });
}
