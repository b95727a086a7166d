import { bindAll } from '../../../activities/bind';
import type { ActivityDeps } from '../../../activities/deps';
import { runSpawnHook } from './spawn-hook';

/** What a dispatch runs on the control queue; the topic workers run `runHandler` (see createHandlerActivities). */
export const dispatchActivities = (deps: ActivityDeps) => bindAll(deps, { runSpawnHook });
