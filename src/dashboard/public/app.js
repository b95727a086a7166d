import { html, render, useEffect, useState } from '/ui/vendor/htm-preact.js';
import { auth } from '/ui/api.js';
import { connection, onConnection, useNow } from '/ui/poll.js';
import { duration } from '/ui/format.js';
import { TokenForm } from '/ui/components/token-form.js';
import { Overview } from '/ui/pages/overview.js';
import { Queues } from '/ui/pages/queues.js';
import { Jobs } from '/ui/pages/jobs.js';
import { Job } from '/ui/pages/job.js';
import { Submit } from '/ui/pages/submit.js';

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, qs] = raw.split('?');
  return { path: path || '/', query: new URLSearchParams(qs || '') };
}

function useRoute() {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function useAuth() {
  const [, set] = useState(0);
  useEffect(() => auth.subscribe(() => set((n) => n + 1)), []);
  return { needed: auth.needed(), token: auth.token() };
}

function page({ path, query }) {
  const seg = path.split('/').filter(Boolean);
  if (seg.length === 0) return { nav: '/', el: html`<${Overview} />` };
  if (seg[0] === 'queues' && seg.length === 1) return { nav: '/queues', el: html`<${Queues} />` };
  if (seg[0] === 'jobs' && seg.length === 1) return { nav: '/jobs', el: html`<${Jobs} query=${query} />` };
  if (seg[0] === 'jobs' && seg.length === 2) {
    let id = seg[1];
    try {
      id = decodeURIComponent(id);
    } catch {
      // a malformed escape: show the id as typed
    }
    return { nav: '/jobs', el: html`<${Job} key=${id} id=${id} />` };
  }
  if (seg[0] === 'submit' && seg.length <= 2) return { nav: '/submit', el: html`<${Submit} kind=${seg[1] ? decodeURIComponent(seg[1]) : ''} />` };
  return {
    nav: '',
    el: html`<section class="card">
      <h1>Not found</h1>
      <p>No page at <code>#${path}</code>. <a href="#/">Go to the overview</a>.</p>
    </section>`,
  };
}

function ConnectionStatus() {
  const now = useNow(1000);
  const [, set] = useState(0);
  useEffect(() => onConnection(() => set((n) => n + 1)), []);
  if (!connection.lastOk && !connection.failing) return html`<span class="conn" data-testid="conn-status"></span>`;
  const since = connection.lastOk ? `updated ${duration(Math.max(0, Math.max(now, Date.now()) - connection.lastOk))} ago` : 'no data yet';
  return connection.failing
    ? html`<span class="conn lost" data-testid="conn-status" role="status" title=${connection.message}>⚠ connection lost · ${since}</span>`
    : html`<span class="conn" data-testid="conn-status" role="status">${since}</span>`;
}

const NAV = [
  ['#/', '/', 'Overview'],
  ['#/queues', '/queues', 'Queues & hosts'],
  ['#/jobs', '/jobs', 'Jobs'],
  ['#/submit/backup', '/submit', 'Submit'],
];

function App() {
  const route = useRoute();
  const { needed, token } = useAuth();
  const [reload, setReload] = useState(0);
  const { nav, el } = page(route);
  useEffect(() => {
    // A new token (or none) must refetch everything the page shows.
    return auth.subscribe(() => setReload((n) => n + 1));
  }, []);
  return html`
    <header class="top">
      <a class="brand" href="#/">courier</a>
      <nav aria-label="main">
        ${NAV.map(([href, key, label]) => html`<a href=${href} aria-current=${nav === key ? 'page' : undefined}>${label}</a>`)}
      </nav>
      <div class="top-right">
        <${ConnectionStatus} />
        ${
          token
            ? html`<span class="signed-in" data-testid="signed-in"
                >signed in ·${' '}<button type="button" class="link" data-testid="forget-token" onClick=${() => auth.setToken('')}>
                  forget token
                </button></span
              >`
            : null
        }
      </div>
    </header>
    <main id="main">${needed ? html`<${TokenForm} />` : html`<div key=${reload}>${el}</div>`}</main>
  `;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
