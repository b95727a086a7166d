import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../src/config';
import { repoKeys } from '../../src/repository/layout';
import { repositorySecret } from '../../src/repository/open';
import { PackIndex } from '../../src/repository/pack-index';
import { openRepository, type Repository } from '../../src/repository/repository';
import { listSnapshots, readList, type Snapshot } from '../../src/repository/snapshots';
import { openStore } from '../../src/stores';

/** The repository as a worker with this configuration opens it. */
export function repositoryOf(config: Config): Promise<Repository> {
  return openRepository(openStore(config), { secret: repositorySecret(config), autoInit: config.repository.compression });
}

/** Bytes on the fs store's disk under a key prefix, read from the files, not from anything courier reports. */
export async function bytesOnDisk(config: Config, prefix: string = repoKeys.packsPrefix): Promise<number> {
  const dir = path.join(config.storeDir, 'objects', prefix);
  let total = 0;
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (entry.isFile()) total += (await fs.stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** From the store's own pack tables: chunk bytes stored more than once (a pack a killed worker stored but had not yet recorded). */
export async function storedTwice(config: Config): Promise<{ bytes: number; packs: number }> {
  const index = await new PackIndex().refresh(await repositoryOf(config));
  const seen = new Set<string>();
  let bytes = 0;
  for (const table of index.packs()) {
    for (const [id, , length] of table.chunks) {
      if (seen.has(id)) bytes += length;
      seen.add(id);
    }
  }
  return { bytes, packs: index.packCount };
}

export async function snapshotsOf(config: Config, name: string): Promise<Snapshot[]> {
  return listSnapshots(await repositoryOf(config), name);
}

/** Where on the fs store's disk the first chunk of a snapshot's given segment lies. */
export async function chunkOnDisk(
  config: Config,
  snapshot: Snapshot,
  segment = 0,
  objectsDir = path.join(config.storeDir, 'objects'),
): Promise<{ chunk: string; pack: string; file: string; offset: number; length: number }> {
  const repo = await repositoryOf(config);
  const index = await new PackIndex().refresh(repo);
  const [[chunk]] = (await readList(repo, snapshot.segments[segment]!.list)).chunks as [[string, number]];
  const at = index.locate(chunk)!;
  return { chunk, pack: at.pack, file: path.join(objectsDir, repoKeys.pack(at.pack)), offset: at.offset, length: at.length };
}

/** Flips one byte in the middle of a chunk, as bit rot on the store's disk would. */
export async function flipByte(file: string, offset: number): Promise<void> {
  const handle = await fs.open(file, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, offset);
  byte[0]! ^= 0xff;
  await handle.write(byte, 0, 1, offset);
  await handle.close();
}
