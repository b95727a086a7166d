import { createCipheriv, createDecipheriv, createHash, randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto';
import { z } from 'zod';
import type { SealKeys } from './seal';

function scrypt(secret: Buffer, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(secret, salt, length, options, (err, key) => (err ? reject(err) : resolve(key))));
}

/** Where a process finds the secret that opens the repository: a key file's bytes or a passphrase. */
export interface RepositorySecret {
  /** Named in errors: "COURIER_REPO_KEY_FILE /keys/repo.key". */
  source: string;
  secret: Buffer;
}

/** A stored key: the master key wrapped by a key derived from one secret. Adding one for a new secret and removing the old rotates without touching data. */
export const keyFileSchema = z.object({
  version: z.literal(1),
  created: z.string(),
  kdf: z.object({ name: z.literal('scrypt'), N: z.number().int(), r: z.number().int(), p: z.number().int(), salt: z.base64() }),
  nonce: z.base64(),
  wrapped: z.base64(),
});
export type KeyFile = z.infer<typeof keyFileSchema>;

// 2^15: ~100 ms and 32 MiB once per process; a key file's random bytes would not need it, a passphrase does.
const KDF = { N: 1 << 15, r: 8, p: 1 };
const MASTER = 64;

export interface MasterKey extends SealKeys {
  /** Seeds the chunker's gear table, so chunk boundaries reveal nothing either. */
  gearSeed: Buffer;
}

export function newMasterKey(): Buffer {
  return randomBytes(MASTER);
}

export function masterKeyParts(master: Buffer): MasterKey {
  return {
    encryption: master.subarray(0, 32),
    mac: master.subarray(32, 64),
    gearSeed: createHash('sha256').update('courier-gear').update(master).digest(),
  };
}

async function wrappingKey(secret: Buffer, kdf: KeyFile['kdf']): Promise<Buffer> {
  return scrypt(secret, Buffer.from(kdf.salt, 'base64'), 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * 1024 * 1024 });
}

export async function wrapMasterKey(master: Buffer, secret: Buffer): Promise<KeyFile> {
  const kdf = { name: 'scrypt' as const, ...KDF, salt: randomBytes(16).toString('base64') };
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', await wrappingKey(secret, kdf), nonce);
  const wrapped = Buffer.concat([cipher.update(master), cipher.final(), cipher.getAuthTag()]);
  return { version: 1, created: new Date().toISOString(), kdf, nonce: nonce.toString('base64'), wrapped: wrapped.toString('base64') };
}

/** The master key, or undefined when this secret does not open this key file. */
export async function unwrapMasterKey(file: KeyFile, secret: Buffer): Promise<Buffer | undefined> {
  const wrapped = Buffer.from(file.wrapped, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', await wrappingKey(secret, file.kdf), Buffer.from(file.nonce, 'base64'));
  decipher.setAuthTag(wrapped.subarray(wrapped.length - 16));
  try {
    return Buffer.concat([decipher.update(wrapped.subarray(0, wrapped.length - 16)), decipher.final()]);
  } catch {
    return undefined;
  }
}
