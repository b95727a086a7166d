import {
  ApplicationFailure,
  CancellationScope,
  condition,
  ContinueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  TemporalFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { JobSettings } from '../jobs/settings';
import type { Phase, ProgressBase } from '../jobs/progress';
import type { JobProgress } from '../kinds/registry';
import type { StatusDocument, StatusEntry, StatusName, TrackerState } from '../jobs/status';
import type { NotifyEvent } from '../jobs/fields';
import { CourierStatus } from '../search-attributes';
import { quickStep } from './activity-options';
import { holdSignal, pauseSignal, progressQuery, releaseSignal, resumeSignal, statusLogQuery } from '../kinds/definitions';
import { holdApplies, holdId, type HoldRef, type HoldTarget } from '../jobs/holds';

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
  /** Moves the job to a status: search attribute, status log, ledger. */
  set(status: StatusName, note?: string): void;
  /** Adds a line to the status log without changing the status. */
  note(text: string): void;
  /** Resolves at once unless the job is paused or held; then when it is resumed and every hold on it released. */
  untilResumed(): Promise<void>;
  /** The holds this job knows of (those on it and those it heard of), for the jobs it starts. */
  holdsKnown(): HoldRef[];
  /** The job's file steps now run on this host: a hold on the host applies from here on. */
  runsOn(host: string): void;
  /** What continue-as-new carries over. */
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
  const bookkeeping = proxyActivities<Activities>({ ...quickStep, startToCloseTimeout: Math.max(settings.heartbeatTimeoutMs, 10_000) });
  const log: StatusEntry[] = options.carried?.log ?? [];
  let paused = options.carried?.paused ?? false;
  let beforePause: StatusName = 'running';
  const target: HoldTarget = { kind, ...options.target };
  const held = new Map<string, HoldRef>((options.carried?.holds ?? []).map((ref) => [holdId(ref), ref]));
  // Holds in place when the job started, and any placed since: a host hold applies once the job runs there.
  const known = new Map<string, HoldRef>(held);
  const stopped = () => paused || held.size > 0;
  let rechecking = false;
  let ledger: Promise<void> = Promise.resolve();

  const progress = {
    ...options.counts,
    kind,
    phase: 'queued',
    status: log.at(-1)?.status ?? 'queued',
    ...(held.size > 0 ? { holds: [...held.keys()] } : {}),
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
      bookkeeping.recordStatus(row).catch((err) => {
        progress.lastError = `status ledger: ${rootCause(err).message}`;
      }),
    );
  };

  const showHolds = () => {
    if (held.size > 0) progress.holds = [...held.keys()];
    else delete progress.holds;
  };
  /**
   * While held, the job asks the store now and then which holds are still in
   * place: a release signal can miss a job that visibility did not list yet
   * (one submitted a moment before the release), and the job must not wait for ever.
   */
  const recheckHolds = async () => {
    rechecking = true;
    const { activeHolds } = proxyActivities<Activities>({ ...quickStep, startToCloseTimeout: '1 minute' });
    try {
      while (held.size > 0) {
        if (await condition(() => held.size === 0, HOLD_RECHECK_MS)) break;
        const inPlace = new Set((await activeHolds()).map(holdId));
        for (const ref of [...held.values()]) if (!inPlace.has(holdId(ref))) releaseHold(ref);
      }
    } catch {
      // A store that cannot be read, or the job cancelled: release signals still reach the job.
    } finally {
      rechecking = false;
    }
  };
  const applyHold = (ref: HoldRef) => {
    const id = holdId(ref);
    known.set(id, ref);
    if (!holdApplies(ref, target) || held.has(id)) return;
    const wasStopped = stopped();
    if (!wasStopped) beforePause = progress.status === 'paused' ? 'running' : (progress.status ?? 'running');
    held.set(id, ref);
    showHolds();
    if (!rechecking) void recheckHolds();
    if (wasStopped) tracker.note(`held by ${id}`);
    else tracker.set('paused', `held by ${id}: new work waits until it is released`);
  };
  const releaseHold = (ref: HoldRef) => {
    const id = holdId(ref);
    known.delete(id);
    if (!held.delete(id)) return;
    showHolds();
    if (!stopped()) tracker.set(beforePause, `${id} released`);
    else tracker.note(`${id} released; still ${paused ? 'paused' : `held by ${[...held.keys()].join(', ')}`}`);
  };

  const tracker: JobTracker<P> = {
    progress,
    get paused() {
      return stopped();
    },
    set(status, note) {
      if (status === progress.status && !note) return;
      progress.status = status;
      upsertSearchAttributes([{ key: CourierStatus, value: status }]);
      append({ status, at: new Date().toISOString(), ...(note ? { note } : {}) });
    },
    note(text) {
      append({ status: progress.status ?? 'running', at: new Date().toISOString(), note: text });
    },
    untilResumed: () => condition(() => !stopped()),
    holdsKnown: () => [...known.values()],
    runsOn(host) {
      if (target.host === host) return;
      target.host = host;
      for (const ref of known.values()) applyHold(ref);
    },
    state: () => ({ log, paused, holds: [...held.values()] }),
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
          bookkeeping
            .sendEmail({ to: plan.email, document })
            .catch((err) => tracker.note(`mail to ${plan.email.join(', ')} for ${event} failed: ${rootCause(err).message}`)),
        );
      }
      await Promise.all(deliveries);
    },
    async complete(result) {
      tracker.set('completed');
      progress.enter('completed');
      await bookkeeping.reportStatus({ jobId: workflowInfo().workflowId, kind, status: 'completed', detail: result });
      await tracker.notify('completed', { result });
      await ledger;
    },
    async fail(err, cleanup) {
      // Handing over to a fresh run is not an ending.
      if (err instanceof ContinueAsNew) throw err;
      if (isCancellation(err)) {
        await CancellationScope.nonCancellable(async () => {
          await cleanup?.();
          tracker.set('cancelled');
          await bookkeeping.reportStatus({ jobId: workflowInfo().workflowId, kind, status: 'cancelled', detail: { subject } }).catch(() => undefined);
          await tracker.notify('cancelled');
          await ledger;
        });
        throw err;
      }
      const cause = rootCause(err);
      progress.enter('failed');
      progress.lastError = cause.message;
      tracker.set('failed', cause.message);
      await CancellationScope.nonCancellable(async () => {
        await bookkeeping
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
    if (paused) return;
    if (held.size > 0) {
      paused = true;
      tracker.note('paused by request');
      return;
    }
    paused = true;
    beforePause = progress.status === 'paused' ? 'running' : (progress.status ?? 'running');
    tracker.set('paused', 'new work waits; work in flight finishes');
  });
  setHandler(resumeSignal, () => {
    if (!paused) return;
    paused = false;
    if (held.size > 0) tracker.note(`resumed by request; still held by ${[...held.keys()].join(', ')}`);
    else tracker.set(beforePause, 'resumed');
  });
  setHandler(holdSignal, applyHold);
  setHandler(releaseSignal, releaseHold);
  // A new job takes the holds in place when it was started; a continued one carries its own.
  if (options.carried?.holds === undefined) (settings.holds ?? []).forEach(applyHold);
  return tracker;
}
