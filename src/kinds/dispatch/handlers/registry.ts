import type { HandlerOutput } from '../contract';
import type { DispatchMessage } from '../message';
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

/** The handlers a worker runs, by format; each worker has its own, so tests and hosts can give theirs. */
export interface HandlerRegistry {
  register(format: string, handler: Handler): void;
  handlerFor(format: string): Handler | undefined;
  formats(): string[];
}

export function createHandlerRegistry(initial: Record<string, Handler> = {}): HandlerRegistry {
  const handlers = new Map<string, Handler>(Object.entries(initial));
  return {
    register: (format, handler) => void handlers.set(format, handler),
    handlerFor: (format) => handlers.get(format),
    formats: () => [...handlers.keys()].sort(),
  };
}
