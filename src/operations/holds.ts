import { Readable } from 'node:stream';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import { holdApplies, holdId } from '../jobs/hold-rules';
import { hold, holdRequest, type Hold, type HoldRef } from '../jobs/holds';
import { MessageError, parseWith } from '../jobs/message-error';
import { holdSignal, releaseSignal } from '../kinds/definitions';
import { JOB_TYPE_NAMES } from '../kinds/registry';
import { hostTag } from '../security/host-tags';
import { readObject } from '../repository/repository';
import type { ObjectStore } from '../stores';
import { visibilityQuery } from './job-pages';

/**
 * Holds live in the store, one object each: every host and API process of an
 * installation shares it, and a hold outlives restarts of any of them.
 */
const PREFIX = 'control/holds/';
const keyOf = (ref: HoldRef) => `${PREFIX}${ref.scope}/${ref.name}`;

export class HoldNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`no hold ${id}; \`courier holds\` lists those in place`);
    this.name = 'HoldNotFoundError';
  }
}

/** A hold as an operator names it (and why), checked: a kind must be one courier runs. */
export function parseHoldRequest(input: unknown): HoldRef & { note?: string } {
  const ref = parseWith(holdRequest, input, 'hold');
  if (ref.scope === 'kind' && !(JOB_TYPE_NAMES as string[]).includes(ref.name))
    throw new MessageError(`invalid hold:\n  name: no kind "${ref.name}"; kinds: ${JOB_TYPE_NAMES.join(', ')}`, ['name']);
  return ref;
}

/** One stored hold; undefined when it is not in place (or not readable as one). */
async function readHold(store: ObjectStore, key: string): Promise<Hold | undefined> {
  const bytes = await readObject(store, key);
  const parsed = bytes && hold.safeParse(JSON.parse(bytes.toString('utf8')));
  return parsed?.success ? parsed.data : undefined;
}

/** Every hold in place, oldest first. A hold removed while listing is simply absent. */
export async function listHolds(store: ObjectStore): Promise<Hold[]> {
  const objects = await store.list(PREFIX);
  const holds = await Promise.all(objects.map((o) => readHold(store, o.key).catch(() => undefined)));
  return holds.filter((h): h is Hold => h !== undefined).sort((a, b) => a.at.localeCompare(b.at));
}

/** Holds as jobs see them: with the codec on, a host goes by its tag there. */
export const asJobsSee = (config: Config, ref: HoldRef): HoldRef =>
  ref.scope === 'host' ? { ...ref, name: hostTag(config.codecKeys, ref.name) } : ref;

/** The holds in place, as jobs see them. */
export async function holdsForJobs(config: Config, store: ObjectStore): Promise<HoldRef[]> {
  return (await listHolds(store)).map(({ scope, name }) => asJobsSee(config, { scope, name }));
}

/**
 * The holds a job started now must take, put into its settings: the job
 * applies them before its first step without a step of its own to read them.
 * A store that cannot list them does not keep the job from starting; holds
 * placed while it runs reach it as signals.
 */
export async function withHoldsInPlace<I>(config: Config, store: ObjectStore, input: I): Promise<I> {
  const holds = await holdsForJobs(config, store).catch(() => []);
  const settings = (input as { settings?: object }).settings;
  return holds.length > 0 && settings ? { ...input, settings: { ...settings, holds } } : input;
}

export interface HoldContext {
  client: Client;
  config: Config;
  store: ObjectStore;
}

/** The running jobs of this installation a hold may concern; each job decides itself whether it does. */
function concerned(config: Config, ref: HoldRef): string {
  const seen = asJobsSee(config, ref);
  const kinds = JOB_TYPE_NAMES.filter((name) => holdApplies(seen, { kind: name }));
  const scope =
    seen.scope === 'kind'
      ? `CourierKind IN (${kinds.map((k) => `'${k}'`).join(', ')}) AND ${visibilityQuery({ taskQueue: config.taskQueue })}`
      : seen.scope === 'topic'
        ? visibilityQuery({ kind: 'dispatch', taskQueue: config.taskQueue })
        : // A job that names its host carries CourierHost only once its first step ran there; until then it is one without.
          `(${visibilityQuery({ host: seen.name })} OR CourierHost IS NULL) AND ${visibilityQuery({ taskQueue: config.taskQueue })}`;
  return `${scope} AND ExecutionStatus = 'Running'`;
}

/** Sends the hold or release to every running job it may concern; adds the ids of those that took it. */
async function broadcast(ctx: HoldContext, ref: HoldRef, signal: typeof holdSignal | typeof releaseSignal, told: Set<string>): Promise<void> {
  const seen = asJobsSee(ctx.config, ref);
  for await (const execution of ctx.client.workflow.list({ query: concerned(ctx.config, ref) })) {
    // A job that ended between the listing and the signal needs nothing.
    const ok = await ctx.client.workflow
      .getHandle(execution.workflowId)
      .signal(signal, seen)
      .then(
        () => true,
        () => false,
      );
    if (ok) told.add(execution.workflowId);
  }
}

/** Visibility lists a job a moment after it starts; a job started just before the hold was stored is found the second time. */
const VISIBILITY_LAG_MS = 2000;

/**
 * Places a hold: stored first, so jobs starting from now on find it, then sent
 * to the running jobs it concerns, twice, a visibility lag apart (a job takes a hold once).
 */
export async function placeHold(ctx: HoldContext, input: unknown): Promise<{ hold: Hold; held: number }> {
  const { note, ...ref } = parseHoldRequest(input);
  const existing = await readHold(ctx.store, keyOf(ref));
  const placed: Hold = existing ?? { ...ref, id: holdId(ref), at: new Date().toISOString(), ...(note ? { note } : {}) };
  if (!existing) await ctx.store.put(keyOf(ref), Readable.from([Buffer.from(JSON.stringify(placed))]));
  const told = new Set<string>();
  await broadcast(ctx, ref, holdSignal, told);
  await new Promise((resolve) => setTimeout(resolve, VISIBILITY_LAG_MS));
  await broadcast(ctx, ref, holdSignal, told);
  return { hold: placed, held: told.size };
}

/**
 * Releases a hold: removed from the store, then every running job it concerns
 * goes on. A job the signal misses sees the hold gone when it next checks.
 */
export async function releaseHold(ctx: HoldContext, input: unknown): Promise<{ released: Hold; resumed: number }> {
  const ref = parseHoldRequest(input);
  const existing = await readHold(ctx.store, keyOf(ref));
  if (!existing) throw new HoldNotFoundError(holdId(ref));
  await ctx.store.delete(keyOf(ref));
  const told = new Set<string>();
  await broadcast(ctx, ref, releaseSignal, told);
  return { released: existing, resumed: told.size };
}
