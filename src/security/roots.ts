import type { Config } from '../config';
import type { Roots } from './paths';

/** Roots a message's path to read must stay inside: backup source, push file, ETL source, dispatch payload files. */
export const sourceRoots = (config: Config, field: string): Roots => ({
  field,
  dirs: config.sourceRoots,
  setting: 'COURIER_SOURCE_ROOTS',
});

/** Roots a restore may write into. */
export const restoreRoots = (config: Config, field: string): Roots => ({
  field,
  dirs: config.restoreRoots,
  setting: 'COURIER_RESTORE_ROOTS',
});
