import type { HoldRef } from '../jobs/holds';
import { holdsForJobs } from '../operations/holds';
import type { ActivityDeps } from './deps';

/** The operators' holds in place, as jobs see them: a held job asks now and then, so a missed release signal cannot keep it waiting. */
export async function activeHolds(deps: ActivityDeps): Promise<HoldRef[]> {
  return holdsForJobs(deps.config, deps.store);
}
