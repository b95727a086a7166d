import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Progress } from '../jobs';
import { QUERIES, SIGNALS } from '../jobs';

export const progressQuery = defineQuery<Progress>(QUERIES.progress);

export interface SplitProgressUpdate {
  partsDone: number;
  bytesDone: number;
  partsTotal: number;
}
export const splitProgressSignal = defineSignal<[SplitProgressUpdate]>(SIGNALS.splitProgress);
