import { archiveHandler } from './archive';
import { createHandlerRegistry, type HandlerRegistry } from './registry';

export type { Handler, HandlerContext, HandlerRegistry } from './registry';

/** A registry holding the handlers every worker knows without user code; add yours with `register`. */
export function builtInHandlers(): HandlerRegistry {
  return createHandlerRegistry({ archive: archiveHandler });
}
