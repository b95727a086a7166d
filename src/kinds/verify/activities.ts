import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { bindAll } from '../../activities/bind';
import type { ActivityDeps } from '../../activities/deps';
import { ObjectNotFoundError } from '../../stores';

/** Reads every part of a stored backup and compares its size and sha256 with the manifest. */
export async function verifyStoredBackup(
  deps: ActivityDeps,
  input: { name: string },
): Promise<{ partCount: number; size: number; bad: { index: number; reason: string }[] }> {
  const context = Context.current();
  deps.manifests.forget(input.name);
  const manifest = await deps.manifests.read(input.name);
  const bad: { index: number; reason: string }[] = [];
  for (const part of manifest.parts) {
    const range = manifest.layout === 'object' ? { start: part.offset, length: part.size } : undefined;
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of await deps.store.get(part.key, { signal: context.cancellationSignal, range })) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) throw err;
      bad.push({ index: part.index, reason: `missing from ${deps.store.description} (${part.key})` });
      continue;
    }
    const sha256 = hash.digest('hex');
    if (size !== part.size || sha256 !== part.sha256)
      bad.push({ index: part.index, reason: `${size} bytes with sha256 ${sha256}, expected ${part.size} bytes with ${part.sha256}` });
    context.heartbeat(part.index + 1);
  }
  return { partCount: manifest.parts.length, size: manifest.size, bad };
}

export const verifyActivities = (deps: ActivityDeps) => bindAll(deps, { verifyStoredBackup });
