import { html, useState } from '/ui/vendor/htm-preact.js';
import { api } from '/ui/api.js';
import { usePoll, useNow } from '/ui/poll.js';
import { bytes, duration, time } from '/ui/format.js';
import { forget } from '/ui/progress.js';
import { Status } from '/ui/components/status.js';
import { JobProgress } from '/ui/components/job-progress.js';
import { Grid, gridCells } from '/ui/components/grid.js';
import { Confirm } from '/ui/components/confirm.js';
import { PageState, StaleNote } from '/ui/components/page-state.js';

const ENDED = ['failed', 'cancelled', 'terminated', 'timed-out'];

/** Courier status: the live progress status while running, else the run's own status. */
export const jobStatus = (j) => (j.status === 'running' && j.progress?.status ? j.progress.status : j.status);

function actionsFor(j) {
  const s = jobStatus(j);
  if (j.status === 'running') return [s === 'paused' ? 'resume' : 'pause', 'cancel'];
  if (ENDED.includes(j.status)) return ['retry'];
  return [];
}

const ACTION = {
  pause: { label: '‖ Pause', yes: 'Pause', ask: 'Pause this job? Work in flight finishes; nothing new starts.' },
  resume: { label: '▶ Resume', yes: 'Resume', ask: 'Resume this job?' },
  cancel: { label: '⊘ Cancel', yes: 'Cancel job', ask: 'Cancel this job? It cleans up and ends cancelled.', danger: true },
  retry: { label: '↻ Retry', yes: 'Retry', ask: 'Retry this job from its original message, as a new run of the same id?' },
};

export function Job({ id }) {
  const poll = usePoll(() => api.job(id), 1000, [id]);
  const j = poll.data;
  const now = useNow(1000);
  const notFound = !j && poll.error?.status === 404;
  return html`<section data-testid="job" data-status=${j ? jobStatus(j) : undefined}>
    <p class="crumbs"><a href="#/jobs">← Jobs</a></p>
    <h1 class="id">${id}</h1>
    ${notFound ? html`<p class="error" role="alert">No job with this id (${poll.error.message}).</p>` : html`<${PageState} poll=${poll} what="the job" />`}
    <${StaleNote} poll=${poll} />
    ${j ? html`<${JobBody} j=${j} now=${now} refresh=${poll.refresh} />` : null}
  </section>`;
}

function JobBody({ j, now, refresh }) {
  const status = jobStatus(j);
  const holds = j.progress?.holds || [];
  const cells = gridCells(j.kind, j.status, j.progress, j.result);
  const end = j.closeTime ? new Date(j.closeTime).getTime() : now;
  return html`
    <div class="card">
      <dl class="facts">
        <div>
          <dt>status</dt>
          <dd>
            <${Status}
              status=${status}
              testid="job-status"
            />${status !== j.status ? html` <span class="muted small">(run ${j.status})</span>` : null}
          </dd>
        </div>
        <div>
          <dt>kind</dt>
          <dd>${j.kind}</dd>
        </div>
        <div>
          <dt>host</dt>
          <dd>${j.host || '–'}</dd>
        </div>
        <div>
          <dt>started</dt>
          <dd>${time(j.startTime)}</dd>
        </div>
        <div>
          <dt>${j.closeTime ? 'closed' : 'running for'}</dt>
          <dd>${j.closeTime ? time(j.closeTime) : duration(end - new Date(j.startTime).getTime())}</dd>
        </div>
        ${
          j.closeTime
            ? html`<div>
                <dt>took</dt>
                <dd>${duration(end - new Date(j.startTime).getTime())}</dd>
              </div>`
            : null
        }
        ${
          j.progress?.phase
            ? html`<div>
                <dt>phase</dt>
                <dd>${j.progress.phase}</dd>
              </div>`
            : null
        }
      </dl>
      ${holds.length ? html`<p class="held" data-testid="job-holds"><span aria-hidden="true">‖</span> held by ${holds.join(', ')} — <a href="#/queues">release on Queues & hosts</a></p>` : null}
      ${(j.retrying || []).map(
        (r) =>
          html`<p class="warn" data-testid="job-retrying">
            <span aria-hidden="true">⟳</span> retrying ${r.step} (attempt ${r.attempt}${r.nextAttemptAt ? `, next ${time(r.nextAttemptAt)}` : ''}): ${r.lastError || 'failed'}
          </p>`,
      )}
      ${j.progress?.lastError ? html`<p class="warn" data-testid="job-last-error"><span aria-hidden="true">⚠</span> last error: ${j.progress.lastError}</p>` : null}
      <${Actions} j=${j} refresh=${refresh} />
      ${j.links?.temporalUi ? html`<p><a href=${j.links.temporalUi} target="_blank" rel="noopener noreferrer">Open in Temporal UI ↗</a></p>` : null}
    </div>
    ${
      j.progress
        ? html`<section class="card">
            <h2>Progress</h2>
            <${JobProgress} jobId=${j.jobId} progress=${j.progress} testid="job-progress" live=${j.status === 'running'} />
          </section>`
        : null
    }
    ${
      cells
        ? html`<section class="card">
            <h2>${cells.noun === 'batch' ? 'Batches' : cells.noun === 'host' ? 'Hosts' : 'Parts'}</h2>
            <${Grid} cells=${cells} />
          </section>`
        : null
    }
    ${
      j.error
        ? html`<section class="card">
            <h2>Cause</h2>
            <pre class="error-box" data-testid="job-error">${j.error}</pre>
          </section>`
        : null
    }
    ${
      j.result !== undefined && j.result !== null
        ? html`<section class="card">
            <h2>Result</h2>
            <div data-testid="job-result"><${Value} v=${j.result} /></div>
          </section>`
        : null
    }
    <section class="card">
      <h2>Status log</h2>
      ${
        j.statusLog?.length
          ? html`<ol class="log" data-testid="status-log">
              ${j.statusLog.map(
                (e) =>
                  html`<li>
                    <time datetime=${e.at}>${time(e.at)}</time>
                    <${Status} status=${e.status} />${e.note ? html` <span class="note">${e.note}</span>` : null}
                  </li>`,
              )}
            </ol>`
          : html`<p class="muted" data-testid="status-log">No entries.</p>`
      }
    </section>
    ${
      j.message
        ? html`<details class="card">
            <summary>Message that started it</summary>
            <pre data-testid="job-message">${JSON.stringify(j.message, null, 2)}</pre>
          </details>`
        : null
    }
  `;
}

/** Results differ per kind: a definition list for the top level, JSON for anything nested. */
// Results name their byte counts size, fileSize, bytesStored…: shown in units, with the exact figure beside.
const isByteCount = (key, value) => typeof value === 'number' && /^(size|fileSize|bytes[A-Z]\w*)$/.test(key);

function Value({ v }) {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    return html`<dl class="result">
      ${Object.entries(v).map(
        ([k, x]) =>
          html`<div>
            <dt>${k}</dt>
            <dd>${x && typeof x === 'object' ? html`<pre>${JSON.stringify(x, null, 2)}</pre>` : isByteCount(k, x) ? `${bytes(x)} (${x} bytes)` : String(x)}</dd>
          </div>`,
      )}
    </dl>`;
  }
  return html`<pre>${JSON.stringify(v, null, 2)}</pre>`;
}

function Actions({ j, refresh }) {
  const [asking, setAsking] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const list = actionsFor(j);
  const go = async (action) => {
    setAsking('');
    setBusy(true);
    setError('');
    try {
      await api.action(j.jobId, action);
      if (action === 'retry') forget(j.jobId);
      refresh();
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  if (!list.length && !error) return null;
  return html`<div class="actions">
    ${list.map(
      (a) =>
        html`<button
          type="button"
          class=${ACTION[a].danger ? 'danger' : ''}
          data-action=${a}
          disabled=${busy}
          aria-label=${`${a} job`}
          onClick=${() => {
            setError('');
            setAsking(a);
          }}
        >
          ${ACTION[a].label}
        </button>`,
    )}
    ${error ? html`<span class="error" data-testid="action-error" role="alert">${error}</span>` : null}
    ${
      asking
        ? html`<${Confirm} text=${ACTION[asking].ask} yesLabel=${ACTION[asking].yes} onYes=${() => go(asking)} onNo=${() => setAsking('')} />`
        : null
    }
  </div>`;
}
