import type { SendMailOptions, Transporter } from 'nodemailer';
import type { Config } from '../config';
import { builtInHandlers, type HandlerRegistry } from '../kinds/dispatch/handlers';
import { createManifestCache, type ManifestCache } from '../kinds/backup/manifest';
import { openPipelineFile, type PipelineFile } from '../kinds/etl/pipelines';
import { messageKinds, type AnyMessageKind } from '../kinds/registry';
import { openStore, type ObjectStore } from '../stores';
import { openLedger, type Ledger } from './ledger';
import { processThreads, type ChunkThreads } from '../repository/chunk-threads';
import { TrailingHashes } from '../hashing/trailing-hash';
import { PackIndex } from '../repository/pack-index';
import { repositoryOpener } from '../repository/open';
import type { Repository } from '../repository/repository';
import { createSnapshotCache, type SnapshotCache } from '../repository/snapshot-cache';
import { Databases } from '../kinds/etl/databases';
import { CheckedBatches } from '../kinds/etl/checked-batches';
import { Turns } from './turns';
import { createLogger } from '../logger';

/** What every activity needs from the worker that hosts it; nothing an activity uses lives in a module global. */
export interface ActivityDeps {
  config: Config;
  store: ObjectStore;
  /** The message kinds this worker admits, when a job arrives with just its message. */
  kinds: readonly AnyMessageKind[];
  /** The status ledger, when COURIER_LEDGER_URL is set. */
  ledger?: Ledger;
  /** The mail server, when COURIER_SMTP_URL is set. */
  mailer?: Mailer;
  manifests: ManifestCache;
  /** The backup repository, opened (and unlocked) once per worker. */
  repository: () => Promise<Repository>;
  /** Which chunks the repository holds, kept between activities. */
  packIndex: PackIndex;
  /** Threads that cut, seal and open chunks and hash files beside the event loop: the process's own unless given. */
  chunkThreads: ChunkThreads;
  /** Whole-file hashes of restores, computed as their segments land. */
  trailingHashes: TrailingHashes;
  snapshots: SnapshotCache;
  /** COURIER_ETL_CONFIG, re-read when it changes. */
  pipelines: PipelineFile;
  /** Connection pools of the ETL storage locations, shared by every load. */
  databases: Databases;
  /** Batch files this worker wrote and checked, so their Load job need not read them to check them again. */
  checkedBatches: CheckedBatches;
  /** Limits how many activities of a kind hold their data at once. */
  turns: Turns;
  /** Dispatch handlers by format. */
  handlers: HandlerRegistry;
}

export interface Mailer {
  sendMail(mail: SendMailOptions): Promise<unknown>;
}

/** A transport to `url`, with nodemailer loaded at the first mail: most workers never send one. */
function mailerFor(url: string): Mailer & { close(): void } {
  let transport: Promise<Transporter> | undefined;
  const open = () => (transport ??= import('nodemailer').then(({ createTransport }) => createTransport(url)));
  return {
    sendMail: async (mail) => (await open()).sendMail(mail),
    close: () => void transport?.then((t) => t.close()),
  };
}

export interface OwnedDeps extends ActivityDeps {
  /** Closes what the worker opened (the ledger's pool, the mail transport). */
  close(): Promise<void>;
}

/** The dependencies a worker's activities share, from its configuration; any of them may be given instead. */
export function createDeps(config: Config, given: Partial<ActivityDeps> = {}): OwnedDeps {
  const store = given.store ?? openStore(config);
  const repository = given.repository ?? repositoryOpener(config, store);
  const ledger = 'ledger' in given ? given.ledger : config.ledgerUrl ? openLedger(config.ledgerUrl) : undefined;
  const transport = 'mailer' in given ? undefined : config.smtp.url ? mailerFor(config.smtp.url) : undefined;
  const chunkThreads = given.chunkThreads ?? processThreads();
  return {
    config,
    store,
    kinds: given.kinds ?? messageKinds(),
    ledger,
    mailer: given.mailer ?? transport,
    manifests: given.manifests ?? createManifestCache(store),
    repository,
    packIndex: given.packIndex ?? new PackIndex(),
    chunkThreads,
    trailingHashes: given.trailingHashes ?? new TrailingHashes({ threads: chunkThreads }),
    snapshots: given.snapshots ?? createSnapshotCache(repository),
    pipelines: given.pipelines ?? openPipelineFile(config.etl.configFile),
    handlers: given.handlers ?? builtInHandlers(),
    databases: given.databases ?? new Databases({ logger: createLogger(config, 'etl'), applicationName: `courier ${config.host}` }),
    checkedBatches: given.checkedBatches ?? new CheckedBatches(),
    turns: given.turns ?? new Turns(),
    async close() {
      if (!given.databases) await this.databases.close();
      transport?.close();
      if (!given.trailingHashes) this.trailingHashes.close();
      if (!('ledger' in given)) await ledger?.close().catch(() => undefined);
    },
  };
}
