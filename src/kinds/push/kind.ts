import { WorkflowIdReusePolicy } from '@temporalio/common';
import { formatBytes } from '../../cli/format';
import { digest } from '../digest';
import type { MessageKind } from '../kind';
import { settingsFor } from '../settings';
import type { PushInput, PushProgress, PushResult } from './contract';
import { pushMessage } from './message';
import { pushActivities } from './activities';
import { push } from './workflow';

export const pushKind: MessageKind<'push', typeof pushMessage, PushInput, PushResult, PushProgress, ReturnType<typeof pushActivities>> = {
  name: 'push',
  description: 'one file to many hosts, each writing it atomically and running a post-command (seed 001)',
  schema: pushMessage,
  workflow: push,
  jobId: (m) => `push-${m.name}-${digest(m.file ?? m.object ?? '', m.dest, m.hosts.join(','))}`,
  reusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
  activities: pushActivities,
  input: (config, message) => ({
    message,
    settings: settingsFor(config, message),
    push: { hostTimeoutMs: config.push.hostTimeoutMs, postCommandTimeoutMs: config.push.postCommandTimeoutMs },
  }),
  summary: (r) => {
    const hosts = r.hosts.map(
      (h) => `  ${h.host}: ${h.outcome}${h.outcome === 'delivered' ? (h.written ? '' : ' (already there)') : `: ${h.cause}`}`,
    );
    return [`push ${r.name} to ${r.dest}: ${formatBytes(r.size)}, sha256 ${r.sha256}, job ${r.jobId}`, ...hosts].join('\n');
  },
  meter: (p) => ({
    done: p.hostsDone,
    total: p.hostsTotal,
    unit: 'hosts',
    text: `hosts ${p.hostsDone}/${p.hostsTotal}${p.hostsFailed ? ` (${p.hostsFailed} failed or unreachable)` : ''}${p.fileSize ? `, ${formatBytes(p.fileSize)} each` : ''}`,
  }),
};
