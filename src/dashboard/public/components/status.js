import { html } from '/ui/vendor/htm-preact.js';
import { statusSymbol } from '/ui/format.js';

/** Status as symbol + text; testid goes on the text alone so its textContent is exactly the status. */
export function Status({ status, testid }) {
  if (!status) return html`<span class="status">–</span>`;
  return html`<span class=${`status s-${status}`}
    ><span class="sym" aria-hidden="true">${statusSymbol(status)}</span> <span data-testid=${testid}>${status}</span></span
  >`;
}
