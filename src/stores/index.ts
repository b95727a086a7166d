import type { Config } from '../config';
import { FsStore } from './fs-store';
import type { ObjectStore } from './store';

export type { CheckedObject, ListedObject, MultipartStore, ObjectInfo, ObjectStore, PartBytes, RangeReader, UploadedPart } from './store';
export { ChecksumMismatchError, ObjectNotFoundError, StoreError, supportsMultipart } from './store';

/** The fs store is the embedded default; COURIER_STORE=s3://bucket/prefix selects S3. */
export function openStore(config: Config): ObjectStore {
  const setting = config.store;
  if (setting.kind === 's3') {
    // Loaded only for an S3 store: an fs store never needs the AWS SDK (about 12 MiB loaded alone, 4 MiB of a host worker's RSS at rest).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { S3Store } = require('./s3-store') as typeof import('./s3-store');
    return new S3Store(setting);
  }
  return new FsStore(config.storeDir);
}
