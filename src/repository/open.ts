import fs from 'node:fs';
import type { Config } from '../config';
import type { ObjectStore } from '../stores';
import type { RepositorySecret } from './keys';
import { openRepository, RepositoryError, type Repository } from './repository';

/** The secret this process was given, from COURIER_REPO_KEY_FILE or COURIER_REPO_PASSWORD. */
export function repositorySecret(config: Pick<Config, 'repository'>): RepositorySecret | undefined {
  const { keyFile, password } = config.repository;
  if (keyFile && password) throw new RepositoryError('set COURIER_REPO_KEY_FILE or COURIER_REPO_PASSWORD, not both', 'NeedsKey');
  if (password) return { source: 'COURIER_REPO_PASSWORD', secret: Buffer.from(password) };
  if (!keyFile) return undefined;
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(keyFile);
  } catch (err) {
    throw new RepositoryError(`COURIER_REPO_KEY_FILE ${keyFile} cannot be read: ${(err as Error).message}`, 'NeedsKey');
  }
  return { source: `COURIER_REPO_KEY_FILE ${keyFile}`, secret: Buffer.from(bytes.toString('utf8').trim()) };
}

/** Opens the repository once per process (unlocking a key costs ~100 ms); a failed open is tried afresh next time. */
export function repositoryOpener(config: Pick<Config, 'repository'>, store: ObjectStore): () => Promise<Repository> {
  let opening: Promise<Repository> | undefined;
  return () => {
    opening ??= (async () => openRepository(store, { secret: repositorySecret(config), autoInit: config.repository.compression }))();
    opening.catch(() => (opening = undefined));
    return opening;
  };
}
