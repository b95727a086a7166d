/**
 * The queries and signals every job answers, defined once: workflows set their
 * handlers with these objects and clients call with the same ones, so both
 * sides agree on names and types. Each kind's own signals live in its folder.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { HoldRef } from '../jobs/holds';
import type { StatusEntry } from '../jobs/status';
import type { JobProgress } from './registry';

/** Live progress, in the counts of the job's own type. */
export const progressQuery = defineQuery<JobProgress>('progress');
export const statusLogQuery = defineQuery<StatusEntry[]>('statusLog');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** An operator's hold reached the job: it starts no new work until every hold on it is released. */
export const holdSignal = defineSignal<[HoldRef]>('hold');
export const releaseSignal = defineSignal<[HoldRef]>('release');
