import { createHmac } from 'node:crypto';
import type { Config } from '../config';
import type { CodecKey } from './codec';

/**
 * How a host is named where Temporal keeps names in clear (task queues,
 * worker identities, the CourierHost attribute): its name, or with the codec
 * on a keyed digest of it, so a stored history does not say which machines
 * hold what. The oldest key makes the digest, so tags survive a key rotation.
 */
export function hostTag(keys: CodecKey[] | undefined, host: string): string {
  if (!keys) return host;
  return `h${createHmac('sha256', keys[keys.length - 1].key)
    .update(host)
    .digest('hex')
    .slice(0, 24)}`;
}

/** This worker's host as queues and identities carry it. */
export const hostIdOf = (config: Config): string => hostTag(config.codecKeys, config.host);
