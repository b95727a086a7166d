/**
 * The queries and signals every job answers, defined once: workflows set their
 * handlers with these objects and clients call with the same ones, so both
 * sides agree on names and types. Each kind's own signals live in its folder.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { StatusEntry } from '../jobs/status';
import type { JobProgress } from './registry';

/** Live progress, in the counts of the job's own type. */
export const progressQuery = defineQuery<JobProgress>('progress');
export const statusLogQuery = defineQuery<StatusEntry[]>('statusLog');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
