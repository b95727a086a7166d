import { patched } from '@temporalio/workflow';

/**
 * Changes that ALL_BEFORE stands for. For each patch a job takes, the SDK
 * records a marker and upserts TemporalChangeVersion, and each upsert is a
 * visibility write on the server: a small backup took three of each, half its
 * upserts. A job of this code records the one marker instead; jobs recorded
 * before it carry the separate markers and replay through them.
 */
const COVERED = [
  'snapshots',
  'status-records-local',
  'small-backup-in-one-step',
  'small-restore-in-one-step',
  'etl-transform-parses-once',
  'one-upsert-per-task',
] as const;

/** Changes made after ALL_BEFORE landed: each is a marker of its own, or a job recorded with that marker would replay into it. */
type Later = 'cancel-ends-cancelled' | 'etl-load-merged-steps' | 'etl-batches-tab-separated' | 'etl-load-one-step' | 'etl-stage-steps-merged';

/** Every change to what a workflow commands that is gated by a patch, so that jobs recorded before it replay as they ran. */
export type Patch = (typeof COVERED)[number] | Later;

const ALL_BEFORE = 'courier-patches-2026-12';
const covered: ReadonlySet<Patch> = new Set(COVERED);

/** Whether this job takes the change `patch` names (see `patched`). */
export function takes(patch: Patch): boolean {
  return (covered.has(patch) && patched(ALL_BEFORE)) || patched(patch);
}
