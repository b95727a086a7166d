// Every API call goes through here so the bearer token and the 401 → token-form switch live in one place.
const TOKEN_KEY = 'courier-token';

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || (body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

const listeners = new Set();
let authNeeded = false;

export const auth = {
  token: () => sessionStorage.getItem(TOKEN_KEY) || '',
  setToken(token) {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
    authNeeded = false;
    emit();
  },
  needed: () => authNeeded,
  subscribe(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};

function emit() {
  for (const fn of listeners) fn();
}

export async function request(method, path, body) {
  const headers = { accept: 'application/json' };
  const token = auth.token();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  let data;
  const text = await res.text();
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = { error: 'bad-response', message: text.slice(0, 300) };
  }
  if (res.status === 401) {
    if (!authNeeded) {
      authNeeded = true;
      emit();
    }
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

const query = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};

const enc = encodeURIComponent;

export const api = {
  overview: () => request('GET', '/v1/overview'),
  jobs: (params) => request('GET', `/v1/jobs${query(params)}`),
  job: (id) => request('GET', `/v1/jobs/${enc(id)}`),
  submit: (message) => request('POST', '/v1/jobs', message),
  action: (id, action) => request('POST', `/v1/jobs/${enc(id)}/${action}`),
  queues: () => request('GET', '/v1/queues'),
  holds: () => request('GET', '/v1/holds'),
  hold: (scope, name, note) => request('POST', '/v1/holds', note ? { scope, name, note } : { scope, name }),
  release: (scope, name) => request('DELETE', `/v1/holds/${enc(scope)}/${enc(name)}`),
  openapi: () => request('GET', '/openapi.json'),
};

let schemasPromise;
/** The message schemas by kind, read once from /openapi.json (they only change with a server upgrade). */
export function messageSchemas() {
  if (!schemasPromise) {
    schemasPromise = api.openapi().then(
      (doc) => {
        const out = {};
        for (const [key, schema] of Object.entries(doc?.components?.schemas || {})) {
          if (key.endsWith('Message') && key !== 'Message') out[key.slice(0, -'Message'.length)] = schema;
        }
        return out;
      },
      (err) => {
        schemasPromise = undefined;
        throw err;
      },
    );
  }
  return schemasPromise;
}

let vocabularyPromise;
/**
 * The server's own lists of job types and statuses, from the enums of the job
 * list's filters in /openapi.json: the page keeps no copy that could drift.
 */
export function vocabulary() {
  if (!vocabularyPromise) {
    vocabularyPromise = api.openapi().then(
      (doc) => {
        const params = doc?.paths?.['/v1/jobs']?.get?.parameters || [];
        const enumOf = (name) => params.find((p) => p.name === name)?.schema?.enum || [];
        return { jobTypes: enumOf('kind'), statuses: enumOf('status') };
      },
      (err) => {
        vocabularyPromise = undefined;
        throw err;
      },
    );
  }
  return vocabularyPromise;
}
