import { Readable } from 'node:stream';
import { z } from 'zod';
import { backupMessage } from './message';
import type { ObjectStore } from '../../stores';
import { ObjectNotFoundError } from '../../stores';
import { manifestKey, objectKey, partKey } from '../../jobs/keys';
import { permanent } from '../../activities/failures';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const manifestSchema = z.object({
  version: z.literal(1),
  jobId: z.string(),
  name: z.string(),
  message: backupMessage,
  source: z.string(),
  size: z.number().int().min(0),
  sha256: sha256Hex,
  md5: z.string().optional(),
  partSize: z.number().int().min(1),
  /** parts: each part its own object; object: one object, each part a byte range of it. */
  layout: z.enum(['parts', 'object']).default('parts'),
  parts: z.array(
    z.object({
      index: z.number().int().min(0),
      key: z.string(),
      offset: z.number().int().min(0),
      size: z.number().int().min(0),
      sha256: sha256Hex,
      md5: z.string().optional(),
    }),
  ),
  startedAt: z.string(),
  completedAt: z.string(),
});

export type Manifest = z.infer<typeof manifestSchema>;

export async function putManifest(store: ObjectStore, manifest: Manifest) {
  const body = Buffer.from(JSON.stringify(manifest, null, 1));
  return store.put(manifestKey(manifest.name), Readable.from([body]));
}

/** Reads and checks a manifest; a missing or malformed one is a permanent failure naming the backup. */
export async function readManifest(store: ObjectStore, name: string): Promise<Manifest> {
  const key = manifestKey(name);
  let text: string;
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (err instanceof ObjectNotFoundError) {
      throw permanent('NotFound', `no backup named "${name}" in ${store.description} (looked for ${key})`);
    }
    throw err;
  }
  const parsed = manifestSchema.safeParse(safeJson(text));
  if (!parsed.success) {
    throw permanent('Corrupt', `manifest ${key} in ${store.description} is damaged: ${parsed.error.issues[0]?.message}`);
  }
  const manifest = parsed.data;
  manifest.parts.forEach((part, i) => {
    const expectedKey = manifest.layout === 'object' ? objectKey(name) : partKey(name, i);
    if (part.index !== i || part.key !== expectedKey) {
      throw permanent('Corrupt', `manifest ${key} lists part ${part.index} at position ${i}; the manifest is damaged`);
    }
  });
  return manifest;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Manifests a worker has read, so a restore's every part does not fetch its manifest again. */
export interface ManifestCache {
  /**
   * The manifest under `name`. Given the whole-file sha256 the restore began
   * with, a cached manifest of another file (the name backed up again since,
   * read by this worker before) is read afresh, and a manifest that still
   * differs fails naming both.
   */
  read(name: string, sha256?: string): Promise<Manifest>;
  /** A restore starting reads the manifest afresh: the backup may have been made again. */
  forget(name: string): void;
}

export function createManifestCache(store: ObjectStore, size = 16): ManifestCache {
  const cache = new Map<string, Promise<Manifest>>();
  const load = (name: string) => {
    let manifest = cache.get(name);
    if (!manifest) {
      manifest = readManifest(store, name);
      manifest.catch(() => cache.delete(name));
      cache.set(name, manifest);
      if (cache.size > size) cache.delete(cache.keys().next().value!);
    }
    return manifest;
  };
  return {
    async read(name, sha256) {
      const cached = await load(name);
      if (sha256 === undefined || cached.sha256 === sha256) return cached;
      cache.delete(name);
      const fresh = await load(name);
      if (fresh.sha256 === sha256) return fresh;
      throw permanent(
        'SourceChanged',
        `backup "${name}" was made again while it was being restored: its manifest now describes a file with sha256 ${fresh.sha256}, the restore began with ${sha256}; restore it again`,
      );
    },
    forget: (name) => cache.delete(name),
  };
}
