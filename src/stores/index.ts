import type { Config } from '../config';
import { FsStore } from './fs-store';
import { S3Store } from './s3-store';
import type { ObjectStore } from './store';

export type { CheckedObject, ListedObject, MultipartStore, ObjectInfo, ObjectStore, PartBytes, RangeReader, UploadedPart } from './store';
export { ChecksumMismatchError, ObjectNotFoundError, StoreError, supportsMultipart } from './store';

/** The fs store is the embedded default; COURIER_STORE=s3://bucket/prefix selects S3. */
export function openStore(config: Config): ObjectStore {
  const setting = config.store;
  if (setting.kind === 's3') return new S3Store(setting);
  return new FsStore(config.storeDir);
}
