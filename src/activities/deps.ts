import type { Config } from '../config';
import type { ObjectStore } from '../stores';

/** What every activity needs from the worker that hosts it. */
export interface ActivityDeps {
  config: Config;
  store: ObjectStore;
}
