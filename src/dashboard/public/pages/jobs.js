import { html, useEffect, useState } from '/ui/vendor/htm-preact.js';
import { api } from '/ui/api.js';
import { usePoll, useNow, useVocabulary } from '/ui/poll.js';
import { duration, jobHref, jobsHref, time } from '/ui/format.js';
import { Status } from '/ui/components/status.js';
import { Confirm } from '/ui/components/confirm.js';
import { PageState, StaleNote } from '/ui/components/page-state.js';

const FILTERS = ['kind', 'status', 'project', 'host', 'text'];
const PAGE_SIZE = 50;

export function Jobs({ query }) {
  const filters = Object.fromEntries(FILTERS.map((k) => [k, query.get(k) || '']));
  const key = FILTERS.map((k) => filters[k]).join('\u0000');
  // Tokens of the pages before the current one; the last entry is the current page's token.
  // Keyed by the filters so a filter change starts at page one in the same render.
  const [pager, setPager] = useState({ key, tokens: [undefined] });
  const tokens = pager.key === key ? pager.tokens : [undefined];
  const setTokens = (fn) => setPager({ key, tokens: fn(tokens) });
  const [selected, setSelected] = useState(new Set());
  useEffect(() => setSelected(new Set()), [key]);
  const pageToken = tokens[tokens.length - 1];
  const poll = usePoll(() => api.jobs({ ...filters, pageSize: PAGE_SIZE, pageToken }), 2000, [key, pageToken]);
  const jobs = poll.data?.jobs || [];
  const now = useNow(1000);

  const toggle = (id) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const allChecked = jobs.length > 0 && jobs.every((j) => selected.has(j.jobId));
  const toggleAll = () => setSelected(allChecked ? new Set() : new Set(jobs.map((j) => j.jobId)));
  const turn = (next) => {
    setSelected(new Set());
    setTokens((t) => (next ? [...t, poll.data.nextPageToken] : t.slice(0, -1)));
  };

  return html`<section data-testid="jobs">
    <h1>Jobs</h1>
    <${FilterForm} filters=${filters} />
    <${StaleNote} poll=${poll} />
    <${Bulk} selected=${[...selected]} onDone=${poll.refresh} />
    ${poll.data && jobs.length ? html`<label class="select-all-phone"><input type="checkbox" aria-label="select all jobs on this page (phone)" checked=${allChecked} onChange=${toggleAll} /> select all</label>` : null}
    <${PageState} poll=${poll} what="jobs" />
    ${
      poll.data
        ? html`<div class="table-wrap">
              <table class="list jobs-table cards-phone">
                <thead>
                  <tr>
                    <th>
                      <input type="checkbox" data-select-all aria-label="select all jobs on this page" checked=${allChecked} onChange=${toggleAll} />
                    </th>
                    <th>job</th>
                    <th>kind</th>
                    <th>status</th>
                    <th>project</th>
                    <th>host</th>
                    <th>started</th>
                    <th class="num">duration</th>
                  </tr>
                </thead>
                <tbody>
                  ${jobs.map(
                    (j) =>
                      html`<tr data-testid="job-row" data-job-id=${j.jobId} class=${selected.has(j.jobId) ? 'selected' : ''}>
                        <td>
                          <input
                            type="checkbox"
                            data-select=${j.jobId}
                            aria-label=${`select ${j.jobId}`}
                            checked=${selected.has(j.jobId)}
                            onChange=${() => toggle(j.jobId)}
                          />
                        </td>
                        <td data-label="job"><a class="id" href=${jobHref(j.jobId)}>${j.jobId}</a></td>
                        <td data-label="kind">${j.kind || '–'}</td>
                        <td data-label="status"><${Status} status=${j.status} /></td>
                        <td data-label="project">${j.project || '–'}</td>
                        <td data-label="host">${j.host || '–'}</td>
                        <td class="nowrap" data-label="started">${time(j.startTime)}</td>
                        <td class="num nowrap" data-label="duration">
                          ${duration((j.closeTime ? new Date(j.closeTime).getTime() : now) - new Date(j.startTime).getTime())}
                        </td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>
            ${jobs.length === 0 ? html`<p class="muted">No jobs match.</p>` : null}
            <div class="pager">
              <button type="button" data-testid="prev-page" disabled=${tokens.length <= 1} onClick=${() => turn(false)}>← Previous</button>
              <span class="muted">page ${tokens.length}</span>
              <button type="button" data-testid="next-page" disabled=${!poll.data.nextPageToken} onClick=${() => turn(true)}>Next →</button>
            </div>`
        : null
    }
  </section>`;
}

function FilterForm({ filters }) {
  const { jobTypes, statuses } = useVocabulary();
  const [values, setValues] = useState(filters);
  const key = FILTERS.map((k) => filters[k]).join('\u0000');
  useEffect(() => setValues(filters), [key]);
  const apply = (next) => {
    const href = jobsHref(next);
    if (location.hash !== href) location.hash = href;
  };
  const change = (e) => {
    const next = { ...values, [e.currentTarget.name]: e.currentTarget.value.trim() };
    setValues(next);
    apply(next);
  };
  const input = (e) => setValues({ ...values, [e.currentTarget.name]: e.currentTarget.value });
  const submit = (e) => {
    e.preventDefault();
    apply(Object.fromEntries(FILTERS.map((k) => [k, (values[k] || '').trim()])));
  };
  const kindOptions = [...new Set([...jobTypes, ...(filters.kind ? [filters.kind] : [])])];
  return html`<form class="filters" data-testid="job-filters" onSubmit=${submit}>
    <label
      >Kind
      <select name="kind" value=${values.kind} onChange=${change}>
        <option value="">any</option>
        ${kindOptions.map((k) => html`<option value=${k}>${k}</option>`)}
      </select></label
    >
    <label
      >Status
      <select name="status" value=${values.status} onChange=${change}>
        <option value="">any</option>
        ${statuses.map((s) => html`<option value=${s}>${s}</option>`)}
      </select></label
    >
    <label>Project <input name="project" value=${values.project} onInput=${input} onChange=${change} autocomplete="off" /></label>
    <label>Host <input name="host" value=${values.host} onInput=${input} onChange=${change} autocomplete="off" /></label>
    <label>Id starts with <input name="text" value=${values.text} onInput=${input} onChange=${change} autocomplete="off" /></label>
    <div class="filter-buttons">
      <button type="submit">Filter</button>
      <a href="#/jobs" class="button secondary">Clear</a>
    </div>
  </form>`;
}

function Bulk({ selected, onDone }) {
  const [asking, setAsking] = useState(null);
  const [results, setResults] = useState([]);
  const [busy, setBusy] = useState(false);
  const run = async (action, ids) => {
    setAsking(null);
    setBusy(true);
    const out = ids.map((id) => ({ id, state: 'pending' }));
    setResults([...out]);
    // One at a time: a bulk retry of hundreds must not flood the server.
    for (let i = 0; i < ids.length; i++) {
      try {
        const job = await api.action(ids[i], action);
        out[i] = { id: ids[i], state: 'ok', text: `${action} sent${job?.status ? ` · now ${job.status}` : ''}` };
      } catch (err) {
        out[i] = { id: ids[i], state: 'error', text: err.message };
      }
      setResults([...out]);
    }
    setBusy(false);
    onDone();
  };
  return html`<div class="bulk">
    <span class="muted">${selected.length} selected</span>
    <button type="button" data-bulk="retry" disabled=${!selected.length || busy} onClick=${() => setAsking({ action: 'retry', ids: selected })}>
      ↻ Retry selected
    </button>
    <button
      type="button"
      class="danger"
      data-bulk="cancel"
      disabled=${!selected.length || busy}
      onClick=${() => setAsking({ action: 'cancel', ids: selected })}
    >
      ⊘ Cancel selected
    </button>
    ${
      asking
        ? html`<${Confirm}
            text=${`${asking.action === 'retry' ? 'Retry' : 'Cancel'} ${asking.ids.length} job${asking.ids.length === 1 ? '' : 's'}?`}
            yesLabel=${asking.action === 'retry' ? 'Retry' : 'Cancel jobs'}
            onYes=${() => run(asking.action, asking.ids)}
            onNo=${() => setAsking(null)}
          />`
        : null
    }
    ${
      results.length
        ? html`<ul class="plain bulk-results" data-testid="bulk-results">
            ${results.map(
              (r) =>
                html`<li data-job-id=${r.id} data-result=${r.state}>
                  <a class="id" href=${jobHref(r.id)}>${r.id}</a>:
                  ${
                    r.state === 'error'
                      ? html`<span class="error" data-testid="action-error">✗ ${r.text}</span>`
                      : r.state === 'ok'
                        ? html`<span class="ok">✓ ${r.text}</span>`
                        : html`<span class="muted">…</span>`
                  }
                </li>`,
            )}
            <li><button type="button" class="link" onClick=${() => setResults([])}>dismiss</button></li>
          </ul>`
        : null
    }
  </div>`;
}
