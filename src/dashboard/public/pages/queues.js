import { html, useState } from '/ui/vendor/htm-preact.js';
import { api } from '/ui/api.js';
import { usePoll } from '/ui/poll.js';
import { ago, jobsHref, time } from '/ui/format.js';
import { HoldButton } from '/ui/components/hold-button.js';
import { PageState, StaleNote } from '/ui/components/page-state.js';
import { AliveLabel } from '/ui/pages/overview.js';

const pollersOf = (q) => [...(q.workflowPollers || []), ...(q.activityPollers || [])];
const latest = (list) => list.reduce((m, p) => (p.lastAccessTime && (!m || p.lastAccessTime > m) ? p.lastAccessTime : m), undefined);

/** One entry per identity and queue: a worker polls both the workflow and the activity side of a queue. */
function workers(queues, alive) {
  const out = new Map();
  for (const q of queues) {
    for (const p of pollersOf(q)) {
      if (!!p.alive !== alive) continue;
      const key = `${p.identity}\u0000${q.name}`;
      const prev = out.get(key);
      if (!prev || (p.lastAccessTime || '') > (prev.lastAccessTime || ''))
        out.set(key, { identity: p.identity, queue: q.name, lastAccessTime: p.lastAccessTime });
    }
  }
  return [...out.values()];
}

export function Queues() {
  const poll = usePoll(api.queues, 2000, []);
  const d = poll.data;
  const queues = d?.queues || [];
  const holds = d?.holds || [];
  const gone = workers(queues, false);
  const live = new Map();
  for (const w of workers(queues, true)) {
    const e = live.get(w.identity) || { identity: w.identity, queues: [], last: undefined };
    e.queues.push(w.queue);
    if (!e.last || (w.lastAccessTime || '') > e.last) e.last = w.lastAccessTime;
    live.set(w.identity, e);
  }
  return html`<section data-testid="queues">
    <h1>Queues & hosts</h1>
    <${PageState} poll=${poll} what="queues" />
    <${StaleNote} poll=${poll} />
    ${
      d
        ? html`
            <section class="card">
              <h2>Task queues</h2>
              <div class="table-wrap">
                <table class="list cards-phone">
                  <thead>
                    <tr>
                      <th>queue</th>
                      <th>role</th>
                      <th>topic</th>
                      <th class="num">live pollers</th>
                      <th class="num">backlog</th>
                      <th>last poll</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${queues.map((q) => {
                      const ps = pollersOf(q);
                      const liveIds = new Set(ps.filter((p) => p.alive).map((p) => p.identity));
                      const last = latest(ps);
                      return html`<tr data-testid="queue-row" data-queue=${q.name}>
                        <td class="id" data-label="queue">${q.name}</td>
                        <td data-label="role">${q.role}</td>
                        <td data-label="topic">
                          ${
                            q.topic
                              ? html`<span class="topic">${q.topic}</span>
                                  ${q.role === 'dispatch' ? html`<${HoldButton} scope="topic" name=${q.topic} holds=${holds} onDone=${poll.refresh} />` : null}`
                              : html`<span class="muted">–</span>`
                          }
                        </td>
                        <td class="num" data-label="live pollers" data-testid="queue-pollers">
                          ${liveIds.size}${liveIds.size === 0 ? html` <span class="status s-failed" title="no live worker">⚠ none</span>` : ''}
                        </td>
                        <td class="num" data-label="backlog" data-testid="queue-backlog">${q.backlog ?? '–'}</td>
                        <td data-label="last poll" title=${time(last)}>${ago(last)}</td>
                      </tr>`;
                    })}
                  </tbody>
                </table>
              </div>
            </section>
            <div class="cols">
              <section class="card">
                <h2>Workers gone (${gone.length})</h2>
                <p class="muted small">Pollers that stopped polling: the worker process is gone or cut off.</p>
                ${
                  gone.length
                    ? html`<ul class="plain" data-testid="workers-gone">
                        ${gone.map(
                          (w) =>
                            html`<li data-testid="gone-worker" data-identity=${w.identity} data-queue=${w.queue}>
                              <span class="status s-failed"><span aria-hidden="true">✗</span> gone</span>${' '}<span class="id">${w.identity}</span
                              >${' '}<span class="muted">on ${w.queue} · last poll ${ago(w.lastAccessTime)}</span>
                            </li>`,
                        )}
                      </ul>`
                    : html`<p class="muted" data-testid="workers-gone">None.</p>`
                }
              </section>
              <section class="card">
                <h2>Live workers (${live.size})</h2>
                ${
                  live.size
                    ? html`<ul class="plain" data-testid="live-workers">
                        ${[...live.values()].map(
                          (w) =>
                            html`<li data-testid="live-worker" data-identity=${w.identity}>
                              <span class="status s-completed"><span aria-hidden="true">✓</span> live</span>${' '}<span class="id">${w.identity}</span
                              >${' '}<span class="muted">on ${w.queues.join(', ')}</span>
                            </li>`,
                        )}
                      </ul>`
                    : html`<p class="muted">No live workers.</p>`
                }
              </section>
            </div>
            <section class="card">
              <h2>Hosts</h2>
              ${
                (d.hosts || []).length
                  ? html`<div class="table-wrap">
                      <table class="list cards-phone">
                        <thead>
                          <tr>
                            <th>host</th>
                            <th>state</th>
                            <th>queue</th>
                            <th class="num">pollers</th>
                            <th>last poll</th>
                            <th class="num">running jobs</th>
                            <th>hold</th>
                          </tr>
                        </thead>
                        <tbody>
                          ${d.hosts.map(
                            (h) =>
                              html`<tr data-testid="host-row" data-host=${h.name} data-alive=${String(!!h.alive)}>
                                <td class="id" data-label="host">${h.name}</td>
                                <td data-label="state"><${AliveLabel} alive=${h.alive} /></td>
                                <td class="id" data-label="queue">${h.queue}</td>
                                <td class="num" data-label="pollers">${h.pollers ?? 0}</td>
                                <td data-label="last poll" title=${time(h.lastPoll)}>${ago(h.lastPoll)}</td>
                                <td class="num" data-label="running jobs">
                                  <a href=${jobsHref({ host: h.name })} aria-label=${`${h.runningJobs ?? 0} jobs on ${h.name}`}
                                    >${h.runningJobs ?? 0}</a
                                  >
                                </td>
                                <td data-label="hold"><${HoldButton} scope="host" name=${h.name} holds=${holds} onDone=${poll.refresh} /></td>
                              </tr>`,
                          )}
                        </tbody>
                      </table>
                    </div>`
                  : html`<p class="muted">No hosts.</p>`
              }
            </section>
            <${HoldsSection} holds=${holds} refresh=${poll.refresh} />
          `
        : null
    }
  </section>`;
}

function HoldsSection({ holds, refresh }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [rowErrors, setRowErrors] = useState({});
  const submit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const name = String(f.get('hold-name') || '').trim();
    const note = String(f.get('note') || '').trim();
    setError('');
    if (!name) return setError('Give the name of the kind, topic or host to hold.');
    setBusy(true);
    try {
      await api.hold(String(f.get('scope')), name, note || undefined);
      form.reset();
      refresh();
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  const release = async (h) => {
    setRowErrors((r) => ({ ...r, [h.id]: '' }));
    try {
      await api.release(h.scope, h.name);
      refresh();
    } catch (err) {
      setRowErrors((r) => ({ ...r, [h.id]: err.message }));
    }
  };
  return html`<section class="card" data-testid="holds">
    <h2>Holds</h2>
    <p class="muted small">A hold stops every job of that kind, topic or host from starting new work; new jobs wait. Releasing lets them go on.</p>
    ${
      holds.length
        ? html`<ul class="plain">
            ${holds.map(
              (h) =>
                html`<li data-testid="hold-row" data-hold=${h.id}>
                  <span aria-hidden="true">‖</span> <strong>${h.id}</strong>${' '}<span class="muted"
                    >since ${time(h.at)}${h.note ? ` — ${h.note}` : ''}</span
                  >${' '}<button type="button" class="small" data-action="release" aria-label=${`release ${h.id}`} onClick=${() => release(h)}>
                    ▶ Release
                  </button>
                  ${rowErrors[h.id] ? html`<span class="error" data-testid="action-error" role="alert">${rowErrors[h.id]}</span>` : null}
                </li>`,
            )}
          </ul>`
        : html`<p class="muted">No holds.</p>`
    }
    <form class="inline-form" data-testid="hold-form" onSubmit=${submit}>
      <label
        >Scope
        <select name="scope">
          <option value="kind">kind</option>
          <option value="topic">topic</option>
          <option value="host">host</option>
        </select></label
      >
      <label>Name <input name="hold-name" required autocomplete="off" /></label>
      <label>Note <input name="note" placeholder="optional" autocomplete="off" /></label>
      <button type="submit" data-testid="hold-submit" disabled=${busy}>Hold</button>
      ${error ? html`<span class="error" data-testid="action-error" role="alert">${error}</span>` : null}
    </form>
  </section>`;
}
