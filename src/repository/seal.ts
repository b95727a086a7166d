import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

/**
 * How one chunk or metadata object is stored. Plain: `00 codec payload`.
 * Encrypted: `01 nonce(12) AES-256-GCM(codec payload) tag(16)`, with the
 * object's identity (chunk id or key) as associated data, so a valid object
 * moved to another name does not open. The codec byte sits inside the
 * ciphertext: whether a chunk compressed says something about its content.
 */
export const Codec = { raw: 0, brotli: 1 } as const;
export type Compression = 'brotli' | 'none';

const PLAIN = 0;
const SEALED = 1;
const NONCE = 12;
const TAG = 16;

const brotli = promisify(zlib.brotliCompress);
const unbrotli = promisify(zlib.brotliDecompress);
const brotliOptions = (size: number) => ({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 2, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size } });

/** Too little saved to be worth a decompression on every restore. */
const worthKeeping = (raw: number, packed: number) => packed <= raw * 0.97;

export class DamagedObject extends Error {
  constructor(
    readonly what: string,
    readonly reason: string,
  ) {
    super(`${what} is damaged: ${reason}`);
    this.name = 'DamagedObject';
  }
}

export interface Sealed {
  parts: Buffer[];
  length: number;
  compressed: boolean;
}

/** Random nonces drawn 1,024 at a time: one call to the system's generator instead of one per chunk. */
function nonceSource() {
  let pool = Buffer.alloc(0);
  let at = 0;
  return {
    next(): Buffer {
      if (at + NONCE > pool.length) {
        pool = randomBytes(NONCE * 1024);
        at = 0;
      }
      at += NONCE;
      return pool.subarray(at - NONCE, at);
    },
  };
}

export interface SealKeys {
  /** AES-256-GCM key for chunks and metadata. */
  encryption: Buffer;
  /** HMAC-SHA256 key for chunk ids. */
  mac: Buffer;
}

/** Seals and opens objects; without keys it only frames them. */
export class Sealer {
  constructor(
    readonly keys: SealKeys | undefined,
    readonly compression: Compression,
  ) {}

  get encrypted(): boolean {
    return this.keys !== undefined;
  }

  /** A chunk's name: its sha256, or with encryption its HMAC, so names say nothing about contents to whoever holds no key. */
  idOf(plain: Uint8Array): string {
    return (this.keys ? createHmac('sha256', this.keys.mac) : createHash('sha256')).update(plain).digest('hex');
  }

  /** Compresses (compression runs on libuv's pool, off the event loop) when `tryCompress` and it pays. */
  async seal(plain: Buffer, identity: string, tryCompress = true): Promise<{ bytes: Buffer; compressed: boolean }> {
    const sealed = this.compresses(plain, tryCompress)
      ? this.framePacked(plain, await brotli(plain, brotliOptions(plain.length)), identity)
      : this.frame(Codec.raw, plain, identity);
    return { bytes: Buffer.concat(sealed.parts), compressed: sealed.compressed };
  }

  /** The sealed object as pieces, in order, made on the calling thread: for a chunk thread, which seals whole batches. */
  sealPartsSync(plain: Buffer, identity: string, tryCompress: boolean): Sealed {
    if (this.compresses(plain, tryCompress)) return this.framePacked(plain, zlib.brotliCompressSync(plain, brotliOptions(plain.length)), identity);
    return this.frame(Codec.raw, plain, identity);
  }

  private compresses(plain: Buffer, tryCompress: boolean): boolean {
    return tryCompress && this.compression === 'brotli' && plain.length > 64;
  }

  private framePacked(plain: Buffer, packed: Buffer, identity: string): Sealed {
    return worthKeeping(plain.length, packed.length) ? this.frame(Codec.brotli, packed, identity) : this.frame(Codec.raw, plain, identity);
  }

  private frame(codec: number, payload: Buffer, identity: string): Sealed {
    const compressed = codec !== Codec.raw;
    // The payload itself, not a copy: both callers join the parts at once, before the caller's buffer is reused (the copy was most of a chunk thread's garbage).
    if (!this.keys) return { parts: [Buffer.from([PLAIN, codec]), payload], length: 2 + payload.length, compressed };
    const nonce = this.nonces.next();
    const cipher = createCipheriv('aes-256-gcm', this.keys.encryption, nonce);
    cipher.setAAD(Buffer.from(identity));
    const head = cipher.update(Buffer.from([codec]));
    const body = cipher.update(payload);
    cipher.final();
    const parts = [Buffer.from([SEALED]), nonce, head, body, cipher.getAuthTag()];
    return { parts, length: 1 + NONCE + head.length + body.length + TAG, compressed };
  }

  private readonly nonces = nonceSource();

  /**
   * Why an opened chunk is not the one its id and table name, if it is not.
   * A restore, which checks the whole file's sha256 at its end, passes
   * `wholeFileChecked`: encrypted, the chunk opened only because the cipher
   * authenticated it under its id, so its HMAC is not computed again (that was
   * a third pass over every byte). Plain, nothing else ties a chunk to its id.
   */
  chunkMismatch(plain: Uint8Array, id: string, raw: number, options: { wholeFileChecked?: boolean } = {}): string | undefined {
    const idToCheck = !(options.wholeFileChecked && this.keys);
    return plain.length !== raw || (idToCheck && this.idOf(plain) !== id) ? `chunk ${id}: its content does not match its id` : undefined;
  }

  /** The plain bytes; a wrong key, a tampered object or one moved from another name throws DamagedObject naming `what`. */
  async open(sealed: Buffer, identity: string, what: string): Promise<Buffer> {
    const { codec, payload } = this.unframe(sealed, identity, what);
    if (codec !== Codec.brotli) return payload;
    try {
      return await unbrotli(payload);
    } catch (err) {
      throw new DamagedObject(what, `does not decompress: ${(err as Error).message}`);
    }
  }

  /** The same on the calling thread, for a thread of its own that opens whole batches. */
  openSync(sealed: Buffer, identity: string, what: string): Buffer {
    const { codec, payload } = this.unframe(sealed, identity, what);
    if (codec !== Codec.brotli) return payload;
    try {
      return zlib.brotliDecompressSync(payload);
    } catch (err) {
      throw new DamagedObject(what, `does not decompress: ${(err as Error).message}`);
    }
  }

  private unframe(sealed: Buffer, identity: string, what: string): { codec: number; payload: Buffer } {
    const kind = sealed[0];
    let framed: Buffer;
    if (kind === PLAIN) {
      if (this.keys) throw new DamagedObject(what, 'stored unencrypted in an encrypted repository');
      framed = sealed.subarray(1);
    } else if (kind === SEALED) {
      if (!this.keys) throw new DamagedObject(what, 'encrypted, but this repository is opened without a key');
      if (sealed.length < 1 + NONCE + TAG + 1) throw new DamagedObject(what, `only ${sealed.length} bytes`);
      const decipher = createDecipheriv('aes-256-gcm', this.keys.encryption, sealed.subarray(1, 1 + NONCE));
      decipher.setAAD(Buffer.from(identity));
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
      try {
        framed = decipher.update(sealed.subarray(1 + NONCE, sealed.length - TAG));
        decipher.final();
      } catch {
        throw new DamagedObject(what, 'authentication failed (changed bytes, or the wrong repository key)');
      }
    } else {
      throw new DamagedObject(what, `unknown format byte ${kind}`);
    }
    const codec = framed[0]!;
    if (codec !== Codec.raw && codec !== Codec.brotli) throw new DamagedObject(what, `unknown codec ${codec}`);
    return { codec, payload: framed.subarray(1) };
  }

  async sealJson(value: unknown, identity: string): Promise<Buffer> {
    return (await this.seal(Buffer.from(JSON.stringify(value)), identity)).bytes;
  }

  async openJson(sealed: Buffer, identity: string, what: string): Promise<unknown> {
    const text = (await this.open(sealed, identity, what)).toString('utf8');
    try {
      return JSON.parse(text);
    } catch {
      throw new DamagedObject(what, 'not JSON');
    }
  }
}
