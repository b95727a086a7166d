import type { HoldRef } from '../jobs/holds';
import { asJobsSee, listHolds } from '../operations/holds';
import type { ActivityDeps } from './deps';

/** The operators' holds in place, as jobs see them; a starting job waits while one applies to it. */
export async function activeHolds(deps: ActivityDeps): Promise<HoldRef[]> {
  return (await listHolds(deps.store)).map(({ scope, name }) => asJobsSee(deps.config, { scope, name }));
}
