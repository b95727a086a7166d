import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { DEFAULT_CHUNKER, checkChunkerParams, type ChunkerParams } from './chunker';
import { keyFileSchema, masterKeyParts, newMasterKey, unwrapMasterKey, wrapMasterKey, type RepositorySecret } from './keys';
import { idOfKey, repoKeys } from './layout';
import type { RepositoryRecipe } from './recipe';
import { Sealer, type Compression } from './seal';
import { ObjectNotFoundError, StoreError, type ObjectStore } from '../stores';

export const repositoryConfigSchema = z.object({
  version: z.literal(1),
  id: z.string(),
  created: z.string(),
  encrypted: z.boolean(),
  compression: z.enum(['brotli', 'none']),
  chunker: z.object({ min: z.number().int(), avg: z.number().int(), max: z.number().int() }),
  /** Chunks travel and are stored in packs of about this many bytes. */
  packSize: z.number().int().min(1024),
});
export type RepositoryConfig = z.infer<typeof repositoryConfigSchema>;

const MiB = 1024 * 1024;
export const DEFAULT_PACK_SIZE = 16 * MiB;

/** A repository the caller may not use as asked: no repository, no key, the wrong key. Permanent: retrying changes nothing. */
export class RepositoryError extends Error {
  constructor(
    message: string,
    readonly reason: 'NoRepository' | 'NeedsKey' | 'WrongKey' | 'Exists' | 'Damaged',
  ) {
    super(message);
    this.name = 'RepositoryError';
  }
}

export interface Repository {
  store: ObjectStore;
  config: RepositoryConfig;
  /** Seals and opens metadata and, where the event loop reads them (verify, check), chunks. */
  sealer: Sealer;
  /** What the chunk threads need to cut and seal chunks as this repository does: the event loop never cuts. */
  recipe: RepositoryRecipe;
  /** The key that opened it, when encrypted. */
  keyId?: string;
}

export interface InitOptions {
  secret?: RepositorySecret;
  compression?: Compression;
  chunker?: ChunkerParams;
  packSize?: number;
}

export async function readObject(store: ObjectStore, key: string): Promise<Buffer | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      const parts: Buffer[] = [];
      for await (const part of await store.get(key)) parts.push(part as Buffer);
      return Buffer.concat(parts);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      // A body cut off mid-stream (past the store client's own retries) is read again, a few times, before the step fails.
      if (attempt >= 3 || err instanceof StoreError || (err as Error).name === 'AbortError') throw err;
    }
  }
}

export const putBytes = (store: ObjectStore, key: string, bytes: Buffer) => store.put(key, Readable.from([bytes]), { expectedSize: bytes.length });

async function readConfig(store: ObjectStore): Promise<RepositoryConfig | undefined> {
  const bytes = await readObject(store, repoKeys.config);
  if (!bytes) return undefined;
  const parsed = repositoryConfigSchema.safeParse(JSON.parse(bytes.toString('utf8')));
  if (!parsed.success)
    throw new RepositoryError(`${repoKeys.config} in ${store.description} is damaged: ${parsed.error.issues[0]?.message}`, 'Damaged');
  return parsed.data;
}

function assemble(store: ObjectStore, config: RepositoryConfig, master?: Buffer, keyId?: string): Repository {
  const parts = master ? masterKeyParts(master) : undefined;
  const recipe: RepositoryRecipe = {
    id: randomUUID(),
    chunker: config.chunker,
    compression: config.compression,
    ...(parts ? { gearSeed: parts.gearSeed, keys: { encryption: parts.encryption, mac: parts.mac } } : {}),
  };
  return {
    store,
    config,
    sealer: new Sealer(recipe.keys, recipe.compression),
    recipe,
    ...(keyId ? { keyId } : {}),
  };
}

/** `courier store init`: a new repository, encrypted when a secret is given. */
export async function initRepository(store: ObjectStore, options: InitOptions = {}): Promise<Repository> {
  if (await readConfig(store)) throw new RepositoryError(`${store.description} already holds a repository (${repoKeys.config})`, 'Exists');
  const chunker = options.chunker ?? DEFAULT_CHUNKER;
  checkChunkerParams(chunker);
  const config: RepositoryConfig = {
    version: 1,
    id: randomBytes(8).toString('hex'),
    created: new Date().toISOString(),
    encrypted: options.secret !== undefined,
    compression: options.compression ?? 'brotli',
    chunker,
    packSize: options.packSize ?? DEFAULT_PACK_SIZE,
  };
  let master: Buffer | undefined;
  let keyId: string | undefined;
  if (options.secret) {
    master = newMasterKey();
    keyId = await addKey(store, master, options.secret.secret);
  }
  // The config goes last: a repository that has one is complete.
  await putBytes(store, repoKeys.config, Buffer.from(JSON.stringify(config, null, 1)));
  return assemble(store, config, master, keyId);
}

export async function addKey(store: ObjectStore, master: Buffer, secret: Buffer): Promise<string> {
  const id = randomBytes(8).toString('hex');
  await putBytes(store, repoKeys.key(id), Buffer.from(JSON.stringify(await wrapMasterKey(master, secret), null, 1)));
  return id;
}

export async function listKeyIds(store: ObjectStore): Promise<string[]> {
  return (await store.list(repoKeys.keysPrefix)).map((o) => idOfKey(o.key).replace(/\.json$/, ''));
}

/** The master key and the id of the stored key the secret opened. */
export async function unlock(store: ObjectStore, secret: RepositorySecret): Promise<{ master: Buffer; keyId: string }> {
  const ids = await listKeyIds(store);
  for (const id of ids) {
    const bytes = await readObject(store, repoKeys.key(id));
    const parsed = bytes && keyFileSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    if (!parsed?.success) continue;
    const master = await unwrapMasterKey(parsed.data, secret.secret);
    if (master) return { master, keyId: id };
  }
  throw new RepositoryError(
    `the repository in ${store.description} is encrypted and ${secret.source} opens none of its ${ids.length} keys; give the right key file or passphrase`,
    'WrongKey',
  );
}

export interface OpenOptions {
  secret?: RepositorySecret;
  /** Without a repository: create an unencrypted one with this compression (only without a secret: an encrypted one is made on purpose, by `courier store init`). */
  autoInit?: Compression;
}

export async function openRepository(store: ObjectStore, options: OpenOptions = {}): Promise<Repository> {
  let config = await readConfig(store);
  if (!config) {
    if (options.secret || !options.autoInit) {
      throw new RepositoryError(
        `${store.description} holds no repository yet${options.secret ? `; ${options.secret.source} is set, so create it encrypted` : ''}: run \`courier store init\``,
        'NoRepository',
      );
    }
    // Every process that auto-creates writes the same settings; there is no key to get wrong.
    config = {
      version: 1,
      id: 'plain',
      created: new Date(0).toISOString(),
      encrypted: false,
      compression: options.autoInit,
      chunker: DEFAULT_CHUNKER,
      packSize: DEFAULT_PACK_SIZE,
    };
    await putBytes(store, repoKeys.config, Buffer.from(JSON.stringify(config, null, 1)));
  }
  if (!config.encrypted) {
    if (options.secret) {
      // Someone may have replaced the config to make workers write in clear.
      throw new RepositoryError(
        `${options.secret.source} is set but the repository in ${store.description} is not encrypted; unset it, or back up to a store made with \`courier store init\` and a key`,
        'WrongKey',
      );
    }
    return assemble(store, config);
  }
  if (!options.secret) {
    throw new RepositoryError(
      `the repository in ${store.description} is encrypted: set COURIER_REPO_KEY_FILE (or COURIER_REPO_PASSWORD) to open it`,
      'NeedsKey',
    );
  }
  const { master, keyId } = await unlock(store, options.secret);
  return assemble(store, config, master, keyId);
}
