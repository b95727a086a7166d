import { html } from '/ui/vendor/htm-preact.js';

export function ProgressBar({ value, label, testid }) {
  const v = Math.max(0, Math.min(100, Math.floor(value || 0)));
  return html`<div class="bar-wrap">
    <div
      class="bar"
      role="progressbar"
      aria-valuemin="0"
      aria-valuemax="100"
      aria-valuenow=${v}
      aria-label=${label || 'progress'}
      data-testid=${testid}
    >
      <div class="bar-fill" style=${`width:${v}%`}></div>
    </div>
    <span class="bar-text">${v}%</span>
  </div>`;
}
