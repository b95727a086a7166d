import { defineSignal } from '@temporalio/workflow';

export interface HandlerStarted {
  worker: string;
  attempt: number;
}

/** The handler activity says which worker took the work, so the status log can name it. */
export const handlerStartedSignal = defineSignal<[HandlerStarted]>('handlerStarted');
