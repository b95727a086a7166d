import { defineSignal } from '@temporalio/workflow';

export interface SplitProgressUpdate {
  partsDone: number;
  bytesDone: number;
  partsTotal: number;
}

/** The split activity tells its workflow how far it got, so progress moves during a long split. */
export const splitProgressSignal = defineSignal<[SplitProgressUpdate]>('splitProgress');
