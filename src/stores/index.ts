import type { Config } from '../config';
import { FsStore } from './fs-store';
import type { ObjectStore } from './store';

export type { ObjectInfo, ObjectStore } from './store';
export { ChecksumMismatchError, ObjectNotFoundError } from './store';

/** The fs store is the embedded default; other adapters slot in here. */
export function openStore(config: Config): ObjectStore {
  return new FsStore(config.storeDir);
}
