import type { HandlerOutput } from '../../../jobs';
import type { DispatchMessage } from '../../messages';
import type { ObjectStore } from '../../../stores';
import type { Config } from '../../../config';

export interface HandlerContext {
  jobId: string;
  config: Config;
  store: ObjectStore;
  /** Keeps the activity alive on long work; call it with anything that shows progress. */
  heartbeat: (details?: unknown) => void;
  signal: AbortSignal;
}

/** A dispatch handler: a plain async function, registered under the format it handles. */
export type Handler = (message: DispatchMessage & { id: string }, context: HandlerContext) => Promise<HandlerOutput>;

const handlers = new Map<string, Handler>();

export function registerHandler(format: string, handler: Handler): void {
  handlers.set(format, handler);
}

export function handlerFor(format: string): Handler | undefined {
  return handlers.get(format);
}

export function registeredFormats(): string[] {
  return [...handlers.keys()].sort();
}
