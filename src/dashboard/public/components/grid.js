import { html } from '/ui/vendor/htm-preact.js';

const CAP = 2000;

/** The per-part / per-host / per-batch cells of a job, or undefined when its kind has none. */
export function gridCells(kind, status, p, result) {
  const failed = status === 'failed';
  if (!p && kind && (kind === 'backup' || kind === 'restore') && status === 'completed' && result?.partCount > 0) {
    p = { partsDone: result.partCount, partsTotal: result.partCount };
  }
  if (!p) return undefined;
  if (p.partsTotal > 0) {
    const done = Math.min(p.partsDone || 0, p.partsTotal);
    return {
      noun: 'part',
      total: p.partsTotal,
      state: (i) => (i < done ? 'done' : failed && i === done ? 'failed' : 'waiting'),
    };
  }
  if (p.hostsTotal > 0) {
    const done = p.hostsDone || 0;
    const bad = p.hostsFailed || 0;
    return { noun: 'host', total: p.hostsTotal, state: (i) => (i < done ? 'done' : i < done + bad ? 'failed' : 'waiting') };
  }
  if (p.batchesTotal > 0) {
    const done = Math.min(p.batchesDone || 0, p.batchesTotal);
    return { noun: 'batch', total: p.batchesTotal, state: (i) => (i < done ? 'done' : failed && i === done ? 'failed' : 'waiting') };
  }
  return undefined;
}

export function Grid({ cells }) {
  const shown = Math.min(cells.total, CAP);
  const counts = { done: 0, failed: 0, waiting: 0 };
  const items = [];
  for (let i = 0; i < shown; i++) {
    const state = cells.state(i);
    counts[state]++;
    const label = `${cells.noun} ${i + 1}: ${state}`;
    items.push(html`<li class=${`cell c-${state}`} data-testid="grid-cell" data-state=${state} title=${label} aria-label=${label}></li>`);
  }
  return html`<div class="grid-box">
    <p class="legend">
      <span><i class="cell c-done" aria-hidden="true"></i> done ${counts.done}</span>
      <span><i class="cell c-failed" aria-hidden="true"></i> failed ${counts.failed}</span>
      <span><i class="cell c-waiting" aria-hidden="true"></i> waiting ${counts.waiting}</span>
      <span class="muted">(${cells.total} ${cells.noun === 'batch' ? 'batches' : cells.noun + 's'})</span>
    </p>
    <ul class="grid" data-testid="grid" aria-label=${`${cells.noun}s`}>
      ${items}
    </ul>
    ${cells.total > CAP ? html`<p class="muted">+${cells.total - CAP} more</p>` : null}
  </div>`;
}
