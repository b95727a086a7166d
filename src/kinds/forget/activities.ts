import { log } from '@temporalio/activity';
import { bindAll } from '../../activities/bind';
import type { ActivityDeps } from '../../activities/deps';
import { permanent } from '../../activities/failures';
import { applyRetention, type RetentionPolicy } from '../../repository/retention';
import { deleteSnapshot, listSnapshots } from '../../repository/snapshots';
import type { ForgetOutcome } from './contract';

/** Applies the keep rules to a name's snapshots and deletes the others; running it again finds nothing more to delete. */
export async function forgetSnapshots(deps: ActivityDeps, input: { name: string; policy: RetentionPolicy }): Promise<ForgetOutcome> {
  const repo = await deps.repository();
  const snapshots = await listSnapshots(repo, input.name);
  let decision;
  try {
    decision = applyRetention(snapshots, input.policy);
  } catch (err) {
    throw permanent('BadInput', (err as Error).message);
  }
  for (const snapshot of decision.remove) await deleteSnapshot(repo, input.name, snapshot.id);
  log.info('snapshots forgotten', { name: input.name, kept: decision.keep.length, removed: decision.remove.length });
  return {
    kept: decision.keep.map(({ snapshot, reasons }) => ({ id: snapshot.id, time: snapshot.time, reasons })),
    removed: decision.remove.map((s) => ({ id: s.id, time: s.time })),
  };
}

export const forgetActivities = (deps: ActivityDeps) => bindAll(deps, { forgetSnapshots });
