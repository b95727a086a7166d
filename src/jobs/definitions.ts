import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Progress, StatusEntry } from './';
import { QUERIES, SIGNALS } from './';

export const progressQuery = defineQuery<Progress>(QUERIES.progress);
export const statusLogQuery = defineQuery<StatusEntry[]>(QUERIES.statusLog);
export const pauseSignal = defineSignal(SIGNALS.pause);
export const resumeSignal = defineSignal(SIGNALS.resume);

export interface HandlerStarted {
  worker: string;
  attempt: number;
}
export const handlerStartedSignal = defineSignal<[HandlerStarted]>(SIGNALS.handlerStarted);

export interface SplitProgressUpdate {
  partsDone: number;
  bytesDone: number;
  partsTotal: number;
}
export const splitProgressSignal = defineSignal<[SplitProgressUpdate]>(SIGNALS.splitProgress);
