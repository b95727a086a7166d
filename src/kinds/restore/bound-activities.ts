import { bindAll } from '../../activities/bind';
import type { ActivityDeps } from '../../activities/deps';
import { discardRestore, finishRestore, loadManifest, prepareRestore, restorePart } from './activities';
import { restoreIfSmall } from './small-restore';

/** A restore's activities, bound to the worker's dependencies. */
export const restoreActivities = (deps: ActivityDeps) =>
  bindAll(deps, { loadManifest, prepareRestore, restorePart, finishRestore, discardRestore, restoreIfSmall });
