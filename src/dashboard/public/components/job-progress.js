import { html } from '/ui/vendor/htm-preact.js';
import { bytes, duration, mibPerSec } from '/ui/format.js';
import { measure, percentOf, track } from '/ui/progress.js';
import { ProgressBar } from '/ui/components/progress-bar.js';

/** Bar plus the figures that matter for the job's kind; rate/ETA come from bytesDone across polls. */
export function JobProgress({ jobId, progress, testid, compact, live = true }) {
  const m = measure(progress);
  if (!m) return progress?.phase ? html`<span class="muted">${progress.phase}</span>` : html`<span class="muted">–</span>`;
  const p = progress;
  const { rate, eta } = live && p.bytesTotal > 0 ? track(jobId, p.bytesDone || 0, p.bytesTotal) : {};
  const facts = [];
  if (p.phase) facts.push(p.phase);
  if (p.bytesTotal > 0) facts.push(`${bytes(p.bytesDone || 0)} of ${bytes(p.bytesTotal)}`);
  if (p.partsTotal > 0) facts.push(`parts ${p.partsDone || 0}/${p.partsTotal}`);
  if (p.hostsTotal > 0) facts.push(`hosts ${p.hostsDone || 0}/${p.hostsTotal}${p.hostsFailed ? `, ${p.hostsFailed} failed` : ''}`);
  if (p.filesTotal > 0) facts.push(`files ${p.filesDone || 0}/${p.filesTotal}`);
  if (p.batchesTotal > 0) facts.push(`batches ${p.batchesDone || 0}/${p.batchesTotal}`);
  if (live && p.bytesTotal > 0) facts.push(mibPerSec(rate), `ETA ${eta === undefined ? '–' : duration(eta)}`);
  return html`<div class=${compact ? 'jp compact' : 'jp'}>
    <${ProgressBar} value=${percentOf(m)} label=${`progress of ${jobId}`} testid=${testid} />
    <div class="jp-facts">${facts.map((f) => html`<span>${f}</span>`)}</div>
  </div>`;
}
