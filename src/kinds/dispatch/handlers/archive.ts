import path from 'node:path';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { permanent } from '../../../activities/failures';
import { PathRefused, resolveInside } from '../../../security/paths';
import { sourceRoots } from '../../../security/roots';
import type { Handler } from './registry';

/** What an `archive` message's payload names: the files to pack. */
export const archivePayload = z.strictObject({
  files: z.array(z.string().refine((p) => path.isAbsolute(p), 'must be an absolute path')).min(1),
});

export const archiveKey = (jobId: string, name: string, version: string) =>
  `dispatch/${jobId}/${`${name}-${version}`.replace(/[^A-Za-z0-9._-]/g, '_')}.tar.gz`;

/** Packs the files the message names into a tar.gz in the store, with its checksum. */
export const archiveHandler: Handler = async (message, { jobId, config, store, heartbeat, signal }) => {
  const parsed = archivePayload.safeParse(message.payload);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `payload.${issue.path.join('.')}: ${issue.message}`);
    throw permanent('BadInput', `archive ${message.name}: ${lines.join('; ')}`);
  }
  const files: string[] = [];
  for (const [i, file] of parsed.data.files.entries()) {
    try {
      files.push(await resolveInside(file, sourceRoots(config, `payload.files[${i}]`), { mustExist: true }));
    } catch (err) {
      if (err instanceof PathRefused) throw permanent('BadInput', `archive ${message.name}: ${err.message}`);
      throw err;
    }
  }
  const key = archiveKey(jobId, message.name, message.version);
  // Loaded here, not with the worker: most workers never pack an archive.
  const { create } = await import('tar');
  // Paths relative to / keep the tree recognisable when unpacked elsewhere.
  const stream = create(
    { gzip: true, portable: true, cwd: '/' },
    files.map((file) => path.relative('/', file)),
  );
  const info = await store.put(key, stream as unknown as Readable, {
    signal,
    onProgress: (bytes) => heartbeat(bytes),
  });
  return { key: info.key, size: info.size, sha256: info.sha256, files: files.length };
};
