/**
 * The one list of kinds. Submission, the CLI, the HTTP API's enums, the
 * OpenAPI description, the worker's admission of bare messages and the types
 * of results and progress all read it; adding a kind means a folder and a line here.
 */
import type { WorkflowIdReusePolicy } from '@temporalio/common';
import type { z } from 'zod';
import { MessageError, parseWith } from '../jobs/message-error';
import { backupKind } from './backup/kind';
import { dispatchKind } from './dispatch/kind';
import { etlCleanupType, etlKind, etlLoadType, etlTransformType } from './etl/kind';
import type { Meter } from './kind';
import { pushKind } from './push/kind';
import { restoreKind } from './restore/kind';
import { verifyKind } from './verify/kind';
import { forgetKind } from './forget/kind';
import { pruneKind } from './prune/kind';
import { checkKind } from './check/kind';

/** Every kind of message courier takes. */
export const KINDS = [backupKind, restoreKind, dispatchKind, pushKind, etlKind, verifyKind, forgetKind, pruneKind, checkKind] as const;

/** Every workflow courier runs: the kinds', and the jobs they start. */
export const JOB_TYPES = [...KINDS, etlTransformType, etlLoadType, etlCleanupType] as const;

type AnyKind = (typeof KINDS)[number];
type AnyJobType = (typeof JOB_TYPES)[number];

export type MessageKind = AnyKind['name'];
export type JobTypeName = AnyJobType['name'];
export const KIND_NAMES: MessageKind[] = KINDS.map((k) => k.name);
export const JOB_TYPE_NAMES: JobTypeName[] = JOB_TYPES.map((t) => t.name);

/** A message of any kind, as its schema parses it. */
export type Message = AnyKind extends infer K ? (K extends { schema: z.ZodType } ? z.output<K['schema']> : never) : never;
/** Any job's result; each carries its `kind`. */
export type JobResult = Awaited<ReturnType<AnyJobType['workflow']>>;
/** Any job's progress, in its own type's counts; `kind` tells which. */
export type JobProgress = AnyJobType extends infer T ? (T extends { meter(p: infer P): Meter } ? P : never) : never;

/**
 * A kind seen without its types, for code that handles whichever kind a
 * message names (submission, admission). Each entry's own types hold inside its folder.
 */
export interface AnyMessageKind {
  name: MessageKind;
  description: string;
  schema: z.ZodType;
  workflow: (input: never) => Promise<unknown>;
  reusePolicy: WorkflowIdReusePolicy;
  jobId(message: Message): string;
  input(config: Parameters<AnyKind['input']>[0], message: Message & { id: string }): unknown;
  /** Validates a message of this kind, naming each bad field. */
  parse(input: unknown): Message;
  command?: AnyKind['command'];
}

const erase = (kind: AnyKind): AnyMessageKind => ({
  ...(kind as unknown as AnyMessageKind),
  parse: (input) => parseWith(kind.schema, input) as Message,
});

const byName = new Map<string, AnyMessageKind>(KINDS.map((kind) => [kind.name, erase(kind)]));

export const messageKinds = (): AnyMessageKind[] => [...byName.values()];

export function kindNamed(name: string): AnyMessageKind | undefined {
  return byName.get(name);
}

/** The job type of a workflow type (`etlTransform` is the job type `etl-transform`). */
export function jobTypeOfWorkflow(workflowType: string): AnyJobType | undefined {
  return JOB_TYPES.find((t) => t.workflow.name === workflowType);
}

export function jobTypeNamed(name: string): AnyJobType | undefined {
  return JOB_TYPES.find((t) => t.name === name);
}

/** Validates a message of any kind; the error lists every bad field by its path. */
export function parseMessage(input: unknown): Message {
  const kind = typeof input === 'object' && input !== null ? (input as { kind?: unknown }).kind : undefined;
  const found = typeof kind === 'string' ? byName.get(kind) : undefined;
  if (!found) {
    const given = kind === undefined ? 'missing' : JSON.stringify(kind);
    throw new MessageError(`invalid message:\n  kind: ${given}; use one of ${KIND_NAMES.join(', ')}`, ['kind']);
  }
  return found.parse(input);
}

/** Parses JSON text first, so a syntax error is reported as such rather than as a schema error. */
export function parseMessageJson(text: string, origin = 'message'): Message {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new MessageError(`${origin} is not valid JSON: ${(err as Error).message}`);
  }
  return parseMessage(data);
}

/** A job's progress in its type's own words and counts. */
export function meterOf(progress: JobProgress): Meter {
  const type = jobTypeNamed(progress.kind) as { meter(p: JobProgress): Meter } | undefined;
  return type ? type.meter(progress) : { done: 0, total: 0, unit: 'steps', text: progress.phase };
}

/**
 * A result in its type's own words. Results carry their kind; one recorded
 * before they did is told by the job's kind instead.
 */
export function summaryOf(result: JobResult, jobKind?: string): string {
  const type = jobTypeNamed((result as { kind?: string }).kind ?? jobKind ?? '') as { summary(r: JobResult): string } | undefined;
  return type ? type.summary(result) : JSON.stringify(result);
}
