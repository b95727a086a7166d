import { patched } from '@temporalio/workflow';

/** Every change to what a workflow commands that is gated by a patch, so that jobs recorded before it replay as they ran. */
export type Patch =
  | 'snapshots'
  | 'status-records-local'
  | 'small-backup-in-one-step'
  | 'small-restore-in-one-step'
  | 'etl-transform-parses-once'
  | 'one-upsert-per-task'
  | 'cancel-ends-cancelled'
  | 'etl-load-merged-steps';

/** The patches the marker below stands for. It has landed: a patch made since is a marker of its own, or a job recorded with the marker would replay into it. */
const COVERED: ReadonlySet<Patch> = new Set([
  'snapshots',
  'status-records-local',
  'small-backup-in-one-step',
  'small-restore-in-one-step',
  'etl-transform-parses-once',
  'one-upsert-per-task',
]);

/**
 * One marker standing for every patch above. For each patch a job takes, the
 * SDK records a marker and upserts TemporalChangeVersion, and each upsert is a
 * visibility write on the server: a small backup took three of each, half its
 * upserts. A job of this code records this one marker instead; jobs recorded
 * before it carry the separate markers and replay through them.
 */
const ALL_BEFORE = 'courier-patches-2026-12';

/** Whether this job takes the change `patch` names (see `patched`). */
export function takes(patch: Patch): boolean {
  return (COVERED.has(patch) && patched(ALL_BEFORE)) || patched(patch);
}
