import { createHash } from 'node:crypto';
import type { Message } from './kinds/messages';

function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 12);
}

/**
 * The workflow id is the message id; when the producer gave none it is derived
 * from what the message asks for, so submitting the same message twice finds the same job.
 */
export function jobIdFor(message: Message): string {
  if (message.id) return message.id;
  switch (message.kind) {
    case 'backup':
      return `backup-${message.name}-${digest(message.source, String(message.partSize ?? ''), message.checksums ?? '')}`;
    case 'restore':
      return `restore-${message.name}-${digest(message.dest)}`;
    case 'dispatch':
      return `dispatch-${message.project}-${message.format}-${digest(
        message.name,
        message.version,
        message.buildType ?? '',
        message.origin,
        JSON.stringify(message.payload ?? null),
      )}`;
    case 'push':
      return `push-${message.name}-${digest(message.file ?? message.object ?? '', message.dest, message.hosts.join(','))}`;
    case 'etl':
      return `etl-${message.pipeline}-${digest(message.source, (message.patterns ?? []).join(','))}`;
  }
}
