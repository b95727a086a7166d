import type { Config } from '../config';
import type { ChecksumSet, NotifySettings } from '../jobs/fields';
import { MessageError } from '../jobs/message-error';
import type { JobSettings, NotifyPlan } from '../jobs/settings';
import { hostTag } from '../security/host-tags';

/** What a message may ask of its settings; each kind's message has some of these fields. */
export interface SettingsAsked {
  partSize?: number;
  checksums?: ChecksumSet;
  layout?: JobSettings['layout'];
  notify?: NotifySettings;
  /** A dispatch message's own callback (seed 003); notify.callbackUrl wins. */
  callbackUrl?: string;
  /** The hosts a message names: with the codec on, the job learns the tags they go by. */
  host?: string;
  hosts?: string[];
}

/** A job's settings: what its message asks over the configured defaults; a job no message asked for (the scheduled cleanup) gets the defaults. */
export function settingsFor(config: Config, asked: SettingsAsked = {}): JobSettings {
  return {
    partSize: asked.partSize || config.partSize,
    concurrency: config.concurrency,
    checksums: asked.checksums || (config.md5 ? 'sha256+md5' : 'sha256'),
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    partsPerRun: config.partsPerRun,
    notify: notifyPlanFor(config, asked),
    ledger: config.ledgerUrl !== undefined,
    layout: layoutFor(config, asked.layout),
    hosts: config.hosts,
    ...hostTagsFor(config, [...(asked.host ? [asked.host] : []), ...(asked.hosts ?? [])]),
  };
}

function hostTagsFor(config: Config, names: string[]): Pick<JobSettings, 'hostTags'> {
  if (!config.codecKeys || names.length === 0) return {};
  return { hostTags: Object.fromEntries(names.map((name) => [name, hostTag(config.codecKeys, name)])) };
}

function layoutFor(config: Config, asked?: JobSettings['layout']): JobSettings['layout'] {
  const layout = asked ?? (config.store.kind === 's3' ? config.store.layout : 'chunks');
  if (layout === 'object' && config.store.kind !== 's3') {
    throw new MessageError('layout: "object" needs an S3 store (COURIER_STORE=s3://bucket/prefix); the fs store keeps chunks', ['layout']);
  }
  // "parts" is what chunks were called before backups became snapshots.
  return layout === 'parts' ? 'chunks' : layout;
}

/**
 * The message's notify settings over the configured defaults. Mail goes out on
 * failure and escalation unless the message lists events; a callback hears every event.
 */
export function notifyPlanFor(config: Config, asked: Pick<SettingsAsked, 'notify' | 'callbackUrl'> = {}): NotifyPlan {
  const notify = asked.notify ?? {};
  const callbackUrl = notify.callbackUrl ?? asked.callbackUrl ?? config.notify.callbackUrl;
  const email = notify.email ?? config.notify.email;
  const on = notify.on ?? config.notify.on;
  if (callbackUrl && !config.webhook.secret) {
    throw new MessageError(`notify.callbackUrl ${callbackUrl}: callbacks are signed, but COURIER_WEBHOOK_SECRET is not set`, ['notify.callbackUrl']);
  }
  if (email.length > 0 && !config.smtp.url) {
    throw new MessageError(`notify.email ${email.join(', ')}: no mail server is configured; set COURIER_SMTP_URL`, ['notify.email']);
  }
  return {
    callbackUrl,
    webhookOn: on ?? ['completed', 'failed', 'cancelled', 'escalated'],
    email,
    emailOn: on ?? ['failed', 'escalated'],
    webhook: { attempts: config.webhook.attempts, retryIntervalMs: config.webhook.retryIntervalMs, timeoutMs: config.webhook.timeoutMs },
  };
}
