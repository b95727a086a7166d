import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** A file of random bytes, written in chunks so large files do not sit in memory. */
export async function randomFile(dir: string, name: string, size: number): Promise<string> {
  const file = path.join(dir, name);
  const handle = await fs.open(file, 'w');
  const chunk = 8 * 1024 * 1024;
  for (let written = 0; written < size; written += chunk) {
    await handle.write(randomBytes(Math.min(chunk, size - written)));
  }
  await handle.close();
  return file;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
