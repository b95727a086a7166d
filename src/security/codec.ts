import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

/** The metadata other SDKs' encryption samples use too, so their codec servers can read courier's payloads with the same keys. */
const ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface CodecKey {
  id: string;
  key: Buffer;
}

export class CodecKeyError extends Error {}

/**
 * Keys from `COURIER_CODEC_KEYS` (`id:base64,id:base64`) or the JSON file
 * `COURIER_CODEC_KEY_FILE` (`[{"id": …, "key": base64}, …]`); the first one
 * encrypts, all of them decrypt, so a key can rotate without losing history.
 */
export function codecKeys(inline: string | undefined, file: string | undefined): CodecKey[] | undefined {
  let entries: { id: string; key: string }[];
  if (file) {
    try {
      entries = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new CodecKeyError(`COURIER_CODEC_KEY_FILE=${file}: cannot read it as JSON: ${(err as Error).message}`);
    }
  } else if (inline) {
    entries = inline.split(',').map((entry) => {
      const at = entry.indexOf(':');
      return { id: entry.slice(0, at).trim(), key: entry.slice(at + 1).trim() };
    });
  } else {
    return undefined;
  }
  if (!Array.isArray(entries) || entries.length === 0) throw new CodecKeyError('the codec key list is empty');
  return entries.map(({ id, key }, i) => {
    const bytes = Buffer.from(String(key ?? ''), 'base64');
    if (!id || !/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new CodecKeyError(`codec key ${i + 1}: give it an id of letters, digits, ".", "-", "_"`);
    if (bytes.length !== 32) throw new CodecKeyError(`codec key "${id}": must be 32 bytes in base64 (openssl rand -base64 32), not ${bytes.length}`);
    return { id, key: bytes };
  });
}

/** AES-256-GCM over each whole payload (metadata included), with the key's id beside it in clear. */
export class AesGcmCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: CodecKey[]) {
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0];
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCODING), [KEY_ID]: Buffer.from(id) }, data };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (Buffer.from(payload.metadata?.[METADATA_ENCODING_KEY] ?? []).toString() !== ENCODING) return payload;
      const id = Buffer.from(payload.metadata?.[KEY_ID] ?? []).toString();
      const key = this.byId.get(id);
      if (!key) throw new Error(`a payload is encrypted with codec key "${id}", which this process does not have (COURIER_CODEC_KEYS)`);
      const data = Buffer.from(payload.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}

/** What a client needs to read and write encrypted payloads; nothing when no key is configured. */
export function clientDataConverter(keys: CodecKey[] | undefined) {
  if (!keys) return undefined;
  return { payloadCodecs: [new AesGcmCodec(keys)] };
}

/** The failure converter that moves failure texts into the (encrypted) payload; bundles and workers load it by path. */
export const ENCODED_FAILURES = require.resolve('./failure-converter');

/** A worker's: the codec, and failures whose texts go into the encrypted payload. */
export function workerDataConverter(keys: CodecKey[] | undefined) {
  if (!keys) return undefined;
  return { payloadCodecs: [new AesGcmCodec(keys)], failureConverterPath: ENCODED_FAILURES };
}
