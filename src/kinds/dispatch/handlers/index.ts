import { archiveHandler } from './archive';
import { registerHandler } from './registry';

export { handlerFor, registerHandler, registeredFormats, type Handler, type HandlerContext } from './registry';

/** The handlers every worker knows without user code. */
registerHandler('archive', archiveHandler);
