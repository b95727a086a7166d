import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { Config } from '../../config';
import { hostTopicQueue, topicQueue } from '../../jobs/keys';
import { MessageError } from '../../jobs/message-error';
import { hostTag } from '../../security/host-tags';
import { digest } from '../digest';
import type { MessageKind } from '../kind';
import { settingsFor } from '../settings';
import type { DispatchInput, DispatchProgress, DispatchResult, DispatchSettings } from './contract';
import { dispatchMessage, type DispatchMessage } from './message';
import { dispatchActivities } from './activities';
import { dispatch } from './workflow';

/** Where a dispatch message's work runs; an unknown format is refused before anything starts. */
export function dispatchSettingsFor(config: Config, message: DispatchMessage): DispatchSettings {
  if (!config.dispatch.formats.includes(message.format)) {
    throw new MessageError(
      `format: "${message.format}" is not a format any worker is configured for (COURIER_DISPATCH_FORMATS=${config.dispatch.formats.join(',')})`,
      ['format'],
    );
  }
  const topic = config.dispatch.route === 'format' ? message.format : `${message.project}.${message.format}`;
  return {
    topic,
    taskQueue: message.host ? hostTopicQueue(config.taskQueue, topic, hostTag(config.codecKeys, message.host)) : topicQueue(config.taskQueue, topic),
    ...(message.host ? { host: message.host } : {}),
    checkIntervalMs: config.dispatch.checkIntervalMs,
    maxChecks: config.dispatch.maxChecks,
    deadlineMs: config.dispatch.deadlineMs,
    workTimeoutMs: config.dispatch.workTimeoutMs,
  };
}

export const dispatchKind: MessageKind<
  'dispatch',
  typeof dispatchMessage,
  DispatchInput,
  DispatchResult,
  DispatchProgress,
  ReturnType<typeof dispatchActivities>
> = {
  name: 'dispatch',
  description: "a producer's work request, routed by its topic to the workers that handle its format (seed 003)",
  schema: dispatchMessage,
  workflow: dispatch,
  jobId: (m) => `dispatch-${m.project}-${m.format}-${digest(m.name, m.version, m.buildType ?? '', m.origin, JSON.stringify(m.payload ?? null))}`,
  reusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
  activities: dispatchActivities,
  input: (config, message) => ({ message, settings: settingsFor(config, message), dispatch: dispatchSettingsFor(config, message) }),
  summary: (r) =>
    `dispatch ${r.jobId}: format ${r.format} done by ${r.worker || 'a worker'} on topic ${r.topic}${r.checks ? ` after ${r.checks} check(s)` : ''}: ${JSON.stringify(r.output)}`,
  meter: (p) => ({
    done: p.done ? 1 : 0,
    total: 1,
    unit: 'work',
    text: `topic ${p.topic}${p.worker ? `, taken by ${p.worker}` : ''}${p.checks ? `, ${p.checks} check(s) found no worker` : ''}`,
  }),
};
