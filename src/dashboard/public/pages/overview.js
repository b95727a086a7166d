import { html } from '/ui/vendor/htm-preact.js';
import { api } from '/ui/api.js';
import { usePoll, useVocabulary } from '/ui/poll.js';
import { ago, hourLabel, jobHref, jobsHref, time } from '/ui/format.js';
import { Status } from '/ui/components/status.js';
import { JobProgress } from '/ui/components/job-progress.js';
import { PageState, StaleNote } from '/ui/components/page-state.js';

export function Overview() {
  const poll = usePoll(api.overview, 2000, []);
  const d = poll.data;
  return html`<section data-testid="overview">
    <h1>Overview</h1>
    <${PageState} poll=${poll} what="the overview" />
    <${StaleNote} poll=${poll} />
    ${
      d
        ? html`
            <section class="card">
              <h2>Jobs by kind and status</h2>
              <${KindStatus} by=${d.byKindStatus || {}} />
            </section>
            <section class="card">
              <h2>Finished per hour, last ${d.windowHours || 24} h</h2>
              <${PerHour} d=${d} />
            </section>
            <section class="card">
              <h2>Running now (${(d.running || []).length})</h2>
              <${Running} jobs=${d.running || []} />
            </section>
            <div class="cols">
              <section class="card">
                <h2>Failures needing attention</h2>
                <${Failures} jobs=${d.failures || []} />
              </section>
              <section class="card">
                <h2>Hosts</h2>
                <${Hosts} hosts=${d.hosts || []} />
              </section>
            </div>
            <section class="card">
              <h2>Holds</h2>
              <${Holds} holds=${d.holds || []} />
            </section>
          `
        : null
    }
  </section>`;
}

function KindStatus({ by }) {
  const { statuses } = useVocabulary();
  const kinds = Object.keys(by).sort();
  if (!kinds.length) return html`<p class="muted">No jobs.</p>`;
  const seen = new Set(kinds.flatMap((k) => Object.keys(by[k] || {})));
  const cols = [...statuses.filter((s) => seen.has(s)), ...[...seen].filter((s) => !statuses.includes(s)).sort()];
  return html`<div class="table-wrap">
    <table class="counts">
      <thead>
        <tr>
          <th scope="col">kind</th>
          ${cols.map((s) => html`<th scope="col"><${Status} status=${s} /></th>`)}
        </tr>
      </thead>
      <tbody>
        ${kinds.map(
          (k) =>
            html`<tr>
              <th scope="row"><a href=${jobsHref({ kind: k })}>${k}</a></th>
              ${cols.map((s) => {
                const n = by[k]?.[s] || 0;
                return html`<td class="num">
                  ${n ? html`<a href=${jobsHref({ kind: k, status: s })} aria-label=${`${n} ${k} ${s}`}>${n}</a>` : html`<span class="muted">0</span>`}
                </td>`;
              })}
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function PerHour({ d }) {
  const hours = d.perHour || [];
  const max = Math.max(1, ...hours.map((h) => (h.completed || 0) + (h.failed || 0) + (h.cancelled || 0)));
  const rate = typeof d.failureRate === 'number' ? (d.failureRate * 100).toFixed(1) : '–';
  return html`<p class="big">
      Failure rate <strong data-testid="failure-rate">${rate}%</strong>
      <span class="muted"> (${d.failed ?? 0} failed of ${d.finished ?? 0} finished)</span>
    </p>
    <div class="hours" role="list" aria-label="jobs finished per hour">
      ${hours.map((h, i) => {
        const c = h.completed || 0,
          f = h.failed || 0,
          x = h.cancelled || 0;
        const label = `${hourLabel(h.hour)}: ${c} completed, ${f} failed, ${x} cancelled`;
        const pct = (n) => `height:${(n / max) * 100}%`;
        return html`<div class="hour" role="listitem" title=${label} aria-label=${label}>
          <div class="stack">
            <span class="hour-n">${c + f + x || ''}</span>
            <div class="seg seg-cancelled" style=${pct(x)}></div>
            <div class="seg seg-failed" style=${pct(f)}></div>
            <div class="seg seg-completed" style=${pct(c)}></div>
          </div>
          <span class="hour-label">${i % 3 === 0 ? hourLabel(h.hour).slice(0, 2) : ''}</span>
        </div>`;
      })}
    </div>
    <p class="legend">
      <span><i class="swatch seg-completed" aria-hidden="true"></i> completed</span>
      <span><i class="swatch seg-failed" aria-hidden="true"></i> failed (striped)</span>
      <span><i class="swatch seg-cancelled" aria-hidden="true"></i> cancelled (dotted)</span>
    </p>`;
}

function Running({ jobs }) {
  if (!jobs.length) return html`<p class="muted">Nothing running.</p>`;
  return html`<div class="table-wrap">
    <table class="list cards-phone">
      <thead>
        <tr>
          <th>job</th>
          <th>kind</th>
          <th>status</th>
          <th>host</th>
          <th class="w-progress">progress</th>
        </tr>
      </thead>
      <tbody>
        ${jobs.map((j) => {
          const status = j.progress?.status || j.status;
          return html`<tr data-testid="running-job" data-job-id=${j.jobId}>
            <td data-label="job"><a href=${jobHref(j.jobId)} class="id">${j.jobId}</a></td>
            <td data-label="kind">${j.kind}</td>
            <td data-label="status">
              <${Status}
                status=${status}
              />${j.progress?.holds?.length ? html`<div class="muted small">held by ${j.progress.holds.join(', ')}</div>` : null}
            </td>
            <td data-label="host">${j.host || '–'}</td>
            <td class="full"><${JobProgress} jobId=${j.jobId} progress=${j.progress} compact /></td>
          </tr>`;
        })}
      </tbody>
    </table>
  </div>`;
}

function Failures({ jobs }) {
  if (!jobs.length) return html`<p class="muted">No recent failures.</p>`;
  return html`<ul class="plain" data-testid="failures">
    ${jobs.map(
      (j) =>
        html`<li data-testid="failure" data-job-id=${j.jobId}>
          <span class="status s-failed"><span aria-hidden="true">✗</span></span
          >${' '}<a href=${jobHref(j.jobId)} class="id">${j.jobId}</a>${' '}<span class="muted"
            >${j.kind || ''} · ${time(j.closeTime || j.startTime)}${j.host ? ` · ${j.host}` : ''}</span
          >
        </li>`,
    )}
  </ul>`;
}

export function AliveLabel({ alive }) {
  return alive
    ? html`<span class="status s-completed"><span aria-hidden="true">✓</span> polling</span>`
    : html`<span class="status s-failed"><span aria-hidden="true">✗</span> not polling</span>`;
}

function Hosts({ hosts }) {
  if (!hosts.length) return html`<p class="muted">No hosts.</p>`;
  return html`<div class="table-wrap">
    <table class="list">
      <thead>
        <tr>
          <th>host</th>
          <th>state</th>
          <th>last poll</th>
          <th class="num">running</th>
        </tr>
      </thead>
      <tbody>
        ${hosts.map(
          (h) =>
            html`<tr data-testid="overview-host" data-host=${h.name} data-alive=${String(!!h.alive)}>
              <td>${h.name}</td>
              <td><${AliveLabel} alive=${h.alive} /></td>
              <td title=${time(h.lastPoll)}>${ago(h.lastPoll)}</td>
              <td class="num"><a href=${jobsHref({ host: h.name })}>${h.runningJobs ?? 0}</a></td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function Holds({ holds }) {
  if (!holds.length) return html`<p class="muted">No holds: every kind, topic and host may start work.</p>`;
  return html`<ul class="plain" data-testid="overview-holds">
      ${holds.map(
        (h) =>
          html`<li data-hold=${h.id}>
            <span aria-hidden="true">‖</span> <strong>${h.id}</strong>${' '}<span class="muted"
              >since ${time(h.at)}${h.note ? ` — ${h.note}` : ''}</span
            >
          </li>`,
      )}
    </ul>
    <p><a href="#/queues">Manage holds</a></p>`;
}
