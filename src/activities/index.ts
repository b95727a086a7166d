import { deliverFile } from '../kinds/push/activities';
import { runHandler } from '../kinds/dispatch/activities/run-handler';
import { KINDS } from '../kinds/registry';
import { admitMessage } from './admit';
import { bindAll } from './bind';
import type { ActivityDeps } from './deps';
import { activeHolds } from './holds';
import { hostOfWorker, hostPolledWithin } from './hosts';
import { recordStatus } from './ledger';
import { mailOperators, sendEmail, sendWebhook } from './notify';
import { reportStatus } from './report-status';

export { createDeps, type ActivityDeps, type OwnedDeps } from './deps';

type UnionToIntersection<U> = (U extends unknown ? (k: U) => void : never) extends (k: infer I) => void ? I : never;
type KindActivities = UnionToIntersection<ReturnType<NonNullable<(typeof KINDS)[number]['activities']>>>;

/** What every job does whatever its kind: admission, status records, notifications, host checks. */
const sharedActivities = (deps: ActivityDeps) =>
  bindAll(deps, { admitMessage, activeHolds, reportStatus, sendWebhook, sendEmail, recordStatus, mailOperators, hostPolledWithin, hostOfWorker });

/** Every activity of the control queue and the pinned hosts: the shared ones and each kind's own, from the registry. */
export function createActivities(deps: ActivityDeps) {
  const own = KINDS.map((kind) => kind.activities?.(deps) ?? {});
  return Object.assign({}, sharedActivities(deps), ...own) as ReturnType<typeof sharedActivities> & KindActivities;
}

/** The activity that topic workers run: the dispatch work itself. */
export function createHandlerActivities(deps: ActivityDeps) {
  return bindAll(deps, { runHandler });
}

/** The activity a host's worker runs: delivering a pushed file on that host. */
export function createHostActivities(deps: ActivityDeps) {
  return bindAll(deps, { deliverFile });
}

export type Activities = ReturnType<typeof createActivities>;
export type HostActivities = ReturnType<typeof createHostActivities>;
export type HandlerActivities = ReturnType<typeof createHandlerActivities>;
