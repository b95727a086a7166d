import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  ContinueAsNew,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  TemporalFailure,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { takes } from './patches';
import type { Activities } from '../activities';
import type { JobSettings } from '../jobs/settings';
import type { Phase, ProgressBase } from '../jobs/progress';
import type { JobProgress } from '../kinds/registry';
import { ENDING_STATUSES, type StatusDocument, type StatusEntry, type StatusName, type TrackerState } from '../jobs/status';
import type { NotifyEvent } from '../jobs/fields';
import { CourierStatus } from '../search-attributes';
import { quickStep } from './activity-options';
import { labeller } from './labeller';
import { holdSignal, pauseSignal, progressQuery, releaseSignal, resumeSignal, statusLogQuery } from '../kinds/definitions';
import { holdApplies, holdId, type HoldTarget } from '../jobs/hold-rules';
import type { HoldRef } from '../jobs/holds';

/** How often a held job checks that its holds are still in place. */
const HOLD_RECHECK_MS = 10_000;

/** The innermost failure message: the activity's own words, not the "Activity task failed" wrappers. */
export function rootCause(err: unknown): { message: string; type?: string } {
  let current: unknown = err;
  while (current instanceof TemporalFailure && current.cause) current = current.cause;
  const type = current instanceof ApplicationFailure ? (current.type ?? undefined) : undefined;
  return { message: current instanceof Error ? current.message : String(current), type };
}

export type TrackedProgress<P extends JobProgress> = P & { enter(phase: Phase): void };

/** A job type's own counts: its progress without the parts every job shares. */
export type Counts<P extends JobProgress> = Omit<P, keyof ProgressBase>;

export interface JobTracker<P extends JobProgress> {
  readonly progress: TrackedProgress<P>;
  /** Paused by request or held by an operator: start no new work. */
  readonly paused: boolean;
  /** Sets search attributes; those set within one workflow task reach the server as one upsert. */
  label(pairs: SearchAttributeUpdatePair[]): void;
  /** Moves the job to a status: search attribute, status log, ledger. */
  set(status: StatusName, note?: string): void;
  /** Adds a line to the status log without changing the status. */
  note(text: string): void;
  /** Resolves at once unless the job is paused or held; then when it is resumed and every hold on it released. */
  untilResumed(): Promise<void>;
  /** The holds this job knows of (those on it and those it heard of), for the jobs it starts. */
  holdsKnown(): HoldRef[];
  /** The hosts this job knows are held: a first step that finds itself on one stops after preparing. */
  heldHosts(): string[];
  /** The job's file steps now run on this host: a hold on the host applies from here on. */
  runsOn(host: string): void;
  /** What continue-as-new carries over (search attributes set before it are sent first). */
  state(): TrackerState;
  notify(event: NotifyEvent, extra?: { cause?: string; result?: Record<string, unknown> }): Promise<void>;
  complete(result: Record<string, unknown>): Promise<void>;
  /** Ends the job as failed, or as cancelled after `cleanup` when the error is a cancellation. */
  fail(err: unknown, cleanup?: () => Promise<void>): Promise<never>;
}

interface TrackOptions<P extends JobProgress> {
  kind: P['kind'];
  subject: string;
  project?: string;
  settings: JobSettings;
  carried?: TrackerState;
  counts: Counts<P>;
  /** What holds may name besides the kind: the dispatch topic, the host the message names. */
  target?: Omit<HoldTarget, 'kind'>;
}

/**
 * Everything a job shows the outside world: the progress and statusLog
 * queries, pause and resume, the CourierStatus search attribute, the ledger,
 * notifications and the done record. Workflows tell their story; this keeps score.
 */
export function trackJob<P extends JobProgress>(options: TrackOptions<P>): JobTracker<P> {
  const { kind, subject, settings } = options;
  // Status records take milliseconds; a worker that dies in one is noticed about as soon as in a byte-moving step.
  const recordOptions = { ...quickStep(settings), startToCloseTimeout: Math.max(settings.heartbeatTimeoutMs, 10_000) };
  const mail = proxyActivities<Activities>(recordOptions);
  // They run beside the workflow, inside its task, instead of a round trip through the server each (jobs started before replay as they ran).
  const records = takes('status-records-local') ? proxyLocalActivities<Activities>(recordOptions) : mail;
  const log: StatusEntry[] = options.carried?.log ?? [];
  let paused = options.carried?.paused ?? false;
  let beforePause: StatusName = 'running';
  const target: HoldTarget = { kind, ...options.target };
  // Holds in place when the job started, and any placed since; those that apply hold it (a host hold once the job runs there).
  const known = new Map<string, HoldRef>((options.carried?.holds ?? []).map((ref) => [holdId(ref), ref]));
  const heldBy = () => [...known.values()].filter((ref) => holdApplies(ref, target)).map(holdId);
  const stopped = () => paused || heldBy().length > 0;
  let rechecking = false;
  let ledger: Promise<void> = Promise.resolve();
  const labels = labeller();

  const progress = {
    ...options.counts,
    kind,
    phase: 'queued',
    status: log.at(-1)?.status ?? 'queued',
    ...(heldBy().length > 0 ? { holds: heldBy() } : {}),
    enter(phase: Phase) {
      progress.phase = phase;
    },
  } as unknown as TrackedProgress<P>;

  const append = (entry: StatusEntry) => {
    log.push(entry);
    if (!settings.ledger) return;
    const row = { ...entry, jobId: workflowInfo().workflowId, runId: workflowInfo().runId, seq: log.length - 1, kind, project: options.project };
    // In order, one at a time; a ledger that stays down is noted but never fails the job.
    ledger = ledger.then(() =>
      records.recordStatus(row).catch((err) => {
        progress.lastError = `status ledger: ${rootCause(err).message}`;
      }),
    );
  };

  const showHolds = () => {
    const ids = heldBy();
    if (ids.length > 0) progress.holds = ids;
    else delete progress.holds;
  };
  /** A pause or a hold now stops new work: the status says so the first time, a note the others. */
  const stopWith = (change: () => void, first: string, again: string) => {
    const was = stopped();
    change();
    showHolds();
    if (was) return tracker.note(again);
    beforePause = progress.status === 'paused' ? 'running' : (progress.status ?? 'running');
    tracker.set('paused', first);
  };
  /** A resume or a release: the job goes on once nothing stops it, or notes what still does. */
  const goOnWith = (change: () => void, done: string, still: string) => {
    change();
    showHolds();
    if (!stopped()) tracker.set(beforePause, done);
    else tracker.note(`${still}; still ${paused ? 'paused' : `held by ${heldBy().join(', ')}`}`);
  };
  /**
   * While held, the job asks the store now and then which holds are still in
   * place: a release signal can miss a job that visibility did not list yet
   * (one submitted a moment before the release), and the job must not wait for ever.
   */
  const recheckHolds = async () => {
    rechecking = true;
    const { activeHolds } = proxyActivities<Activities>({ ...quickStep(settings), startToCloseTimeout: '1 minute' });
    try {
      while (heldBy().length > 0) {
        if (await condition(() => heldBy().length === 0, HOLD_RECHECK_MS)) break;
        const inPlace = new Set((await activeHolds()).map(holdId));
        for (const ref of [...known.values()]) if (!inPlace.has(holdId(ref))) releaseHold(ref);
      }
    } catch {
      // A store that cannot be read, or the job cancelled: release signals still reach the job.
    } finally {
      rechecking = false;
    }
  };
  /** A hold that now applies (placed, or on the host the job moved to): the job stops, and checks on it while held. */
  const heldNow = (id: string, change: () => void) => {
    stopWith(change, `held by ${id}: new work waits until it is released`, `held by ${id}`);
    if (!rechecking) void recheckHolds();
  };
  const applyHold = (ref: HoldRef) => {
    const id = holdId(ref);
    if (known.has(id)) return;
    if (!holdApplies(ref, target)) return void known.set(id, ref);
    heldNow(id, () => known.set(id, ref));
  };
  const releaseHold = (ref: HoldRef) => {
    const id = holdId(ref);
    if (!known.has(id)) return;
    if (!holdApplies(ref, target)) return void known.delete(id);
    goOnWith(() => known.delete(id), `${id} released`, `${id} released`);
  };

  const tracker: JobTracker<P> = {
    progress,
    label: (pairs) => labels.label(pairs),
    get paused() {
      return stopped();
    },
    set(status, note) {
      if (status === progress.status && !note) return;
      progress.status = status;
      // A final status is the job's last word: it goes out before the job ends.
      labels.label([{ key: CourierStatus, value: status }], { now: ENDING_STATUSES.includes(status) });
      append({ status, at: new Date().toISOString(), ...(note ? { note } : {}) });
    },
    note(text) {
      append({ status: progress.status ?? 'running', at: new Date().toISOString(), note: text });
    },
    untilResumed: () => condition(() => !stopped()),
    holdsKnown: () => [...known.values()],
    heldHosts: () => [...known.values()].filter((ref) => ref.scope === 'host').map((ref) => ref.name),
    runsOn(host) {
      if (target.host === host) return;
      // Only a hold on the new host can start to apply.
      const id = holdId({ scope: 'host', name: host });
      if (!known.has(id)) return void (target.host = host);
      heldNow(id, () => (target.host = host));
    },
    state: () => {
      // Asked for as the job continues as new: what the new run starts from must already be sent.
      labels.flush();
      return { log, paused, holds: [...known.values()] };
    },
    async notify(event, extra = {}) {
      const plan = settings.notify;
      const { workflowId, runId } = workflowInfo();
      const document: StatusDocument = {
        jobId: workflowId,
        runId,
        kind,
        event,
        status: progress.status ?? 'running',
        subject,
        ...(extra.cause ? { cause: extra.cause } : {}),
        at: new Date().toISOString(),
        statusLog: [...log],
        ...(extra.result ? { result: extra.result } : {}),
      };
      const deliveries: Promise<void>[] = [];
      if (plan.callbackUrl && plan.webhookOn.includes(event)) {
        const url = plan.callbackUrl;
        const { sendWebhook } = proxyActivities<Activities>({
          startToCloseTimeout: plan.webhook.timeoutMs + 5000,
          retry: {
            initialInterval: plan.webhook.retryIntervalMs,
            backoffCoefficient: 2,
            maximumInterval: plan.webhook.retryIntervalMs * 32,
            maximumAttempts: plan.webhook.attempts,
            nonRetryableErrorTypes: ['NotConfigured'],
          },
        });
        deliveries.push(
          sendWebhook({ url, document, timeoutMs: plan.webhook.timeoutMs }).then(
            () => undefined,
            (err) => tracker.note(`callback ${url} for ${event} failed after ${plan.webhook.attempts} attempts: ${rootCause(err).message}`),
          ),
        );
      }
      if (plan.email.length > 0 && plan.emailOn.includes(event)) {
        deliveries.push(
          mail
            .sendEmail({ to: plan.email, document })
            .catch((err) => tracker.note(`mail to ${plan.email.join(', ')} for ${event} failed: ${rootCause(err).message}`)),
        );
      }
      await Promise.all(deliveries);
    },
    async complete(result) {
      tracker.set('completed');
      progress.enter('completed');
      await records.reportStatus({ jobId: workflowInfo().workflowId, kind, status: 'completed', detail: result });
      await tracker.notify('completed', { result });
      await ledger;
    },
    async fail(err, cleanup) {
      // Handing over to a fresh run is not an ending.
      if (err instanceof ContinueAsNew) throw err;
      // A step that fails or times out as it is told to stop still ends a job that was asked to stop as cancelled.
      const stopped = !isCancellation(err) && CancellationScope.current().consideredCancelled && takes('cancel-ends-cancelled');
      if (isCancellation(err) || stopped) {
        await CancellationScope.nonCancellable(async () => {
          await cleanup?.();
          tracker.set('cancelled', stopped ? `a step failed as it stopped: ${rootCause(err).message}` : undefined);
          await records.reportStatus({ jobId: workflowInfo().workflowId, kind, status: 'cancelled', detail: { subject } }).catch(() => undefined);
          await tracker.notify('cancelled');
          await ledger;
        });
        throw stopped ? new CancelledFailure('cancelled by request', [], err instanceof Error ? err : undefined) : err;
      }
      const cause = rootCause(err);
      progress.enter('failed');
      progress.lastError = cause.message;
      tracker.set('failed', cause.message);
      await CancellationScope.nonCancellable(async () => {
        await records
          .reportStatus({
            jobId: workflowInfo().workflowId,
            kind,
            status: 'failed',
            detail: { subject, error: cause.message, errorType: cause.type },
          })
          .catch(() => undefined);
        await tracker.notify('failed', { cause: cause.message });
        await ledger;
      });
      throw ApplicationFailure.create({
        message: `${kind} ${subject} failed: ${cause.message}`,
        type: cause.type ?? 'JobFailed',
        nonRetryable: true,
        cause: err instanceof Error ? err : undefined,
      });
    },
  };

  setHandler(progressQuery, () => progress);
  setHandler(statusLogQuery, () => log);
  setHandler(pauseSignal, () => {
    if (!paused) stopWith(() => (paused = true), 'new work waits; work in flight finishes', 'paused by request');
  });
  setHandler(resumeSignal, () => {
    if (paused) goOnWith(() => (paused = false), 'resumed', 'resumed by request');
  });
  setHandler(holdSignal, applyHold);
  setHandler(releaseSignal, releaseHold);
  // A new job takes the holds in place when it was started; a continued one carries its own, and checks on them again.
  if (options.carried?.holds === undefined) (settings.holds ?? []).forEach(applyHold);
  else if (heldBy().length > 0) void recheckHolds();
  return tracker;
}
