import { html } from '/ui/vendor/htm-preact.js';

/** What a page shows before its first data arrives, or when the first fetch failed. */
export function PageState({ poll, what }) {
  if (poll.data !== undefined) return null;
  if (poll.error) return html`<p class="error" role="alert">Could not load ${what}: ${poll.error.message}</p>`;
  return html`<p class="muted">Loading ${what}…</p>`;
}

/** A refetch failed but old data is still shown: say so without replacing it. */
export function StaleNote({ poll }) {
  if (poll.data === undefined || !poll.error) return null;
  return html`<p class="stale" role="status">⚠ Showing the last data received; refresh failed: ${poll.error.message}</p>`;
}
