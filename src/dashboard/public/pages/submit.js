import { html, useEffect, useState } from '/ui/vendor/htm-preact.js';
import { api, messageSchemas } from '/ui/api.js';
import { jobHref } from '/ui/format.js';

/** How a schema property is edited: the form control and how its text becomes JSON. */
function fieldType(s) {
  if (!s || typeof s !== 'object') return 'json';
  if (Array.isArray(s.enum) && s.enum.every((v) => typeof v === 'string')) return 'enum';
  if (s.type === 'string') return 'string';
  if (s.type === 'integer' || s.type === 'number') return 'number';
  if (s.type === 'boolean') return 'boolean';
  if (s.type === 'array' && s.items?.type === 'string') return 'lines';
  return 'json';
}

function fieldsOf(schema) {
  const required = new Set(schema?.required || []);
  return Object.entries(schema?.properties || {})
    .filter(([name]) => name !== 'kind')
    .map(([name, s]) => ({ name, s, type: fieldType(s), required: required.has(name) }));
}

/** Builds the message from the form; empty optional fields are left out so the server applies its defaults. */
function readForm(form, kind, fields) {
  const message = { kind };
  const errors = {};
  for (const f of fields) {
    const el = form.elements.namedItem(f.name);
    if (!el) continue;
    if (f.type === 'boolean') {
      if (el.checked) message[f.name] = true;
      else if (f.required || f.s.default === true) message[f.name] = false;
      continue;
    }
    const raw = el.value;
    if (raw.trim() === '') continue;
    if (f.type === 'string' || f.type === 'enum') message[f.name] = raw;
    else if (f.type === 'number') message[f.name] = Number.isFinite(Number(raw)) ? Number(raw) : raw;
    else if (f.type === 'lines') {
      const items = raw
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      if (items.length) message[f.name] = items;
    } else {
      try {
        message[f.name] = JSON.parse(raw);
      } catch (err) {
        errors[f.name] = [`${f.name}: not valid JSON (${err.message})`];
      }
    }
  }
  return { message, errors };
}

export function Submit({ kind }) {
  const [schemas, setSchemas] = useState();
  const [loadError, setLoadError] = useState('');
  useEffect(() => {
    messageSchemas().then(setSchemas, (err) => setLoadError(err.message));
  }, []);
  const kinds = schemas ? Object.keys(schemas) : [];
  const current = kind || (kinds.includes('backup') ? 'backup' : kinds[0] || '');
  const schema = schemas?.[current];
  return html`<section data-testid="submit">
    <h1>Submit a job</h1>
    ${loadError ? html`<p class="error" role="alert">Could not load the message schemas: ${loadError}</p>` : null}
    ${!schemas && !loadError ? html`<p class="muted">Loading kinds…</p>` : null}
    ${
      schemas
        ? html`<div class="card">
            <label class="kind-picker"
              >Kind
              <select name="kind" value=${current} onChange=${(e) => (location.hash = `#/submit/${encodeURIComponent(e.currentTarget.value)}`)}>
                ${kinds.map((k) => html`<option value=${k}>${k}</option>`)}
                ${current && !schema ? html`<option value=${current}>${current} (unknown)</option>` : null}
              </select>
            </label>
            ${
              schema
                ? html`${schema.description ? html`<p class="muted">${schema.description}</p>` : null}
                    <${MessageForm} key=${current} kind=${current} schema=${schema} />`
                : html`<p class="error" role="alert">Unknown kind “${current}”.</p>`
            }
          </div>`
        : null
    }
  </section>`;
}

function MessageForm({ kind, schema }) {
  const fields = fieldsOf(schema);
  const [fieldErrors, setFieldErrors] = useState({});
  const [formError, setFormError] = useState([]);
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setFormError([]);
    const { message, errors } = readForm(e.currentTarget, kind, fields);
    setFieldErrors(errors);
    if (Object.keys(errors).length) return;
    setBusy(true);
    try {
      const job = await api.submit(message);
      location.hash = jobHref(job.jobId);
    } catch (err) {
      const { byField, other } = placeErrors(err, new Set(fields.map((f) => f.name)));
      setFieldErrors(byField);
      setFormError(other);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="message-form" data-testid="message-form" novalidate onSubmit=${submit}>
    ${fields.map((f) => html`<${Field} f=${f} errors=${fieldErrors[f.name]} />`)}
    ${formError.length ? html`<div class="error-box" data-testid="form-error" role="alert">${formError.map((m) => html`<p>${m}</p>`)}</div>` : null}
    <div class="form-buttons"><button type="submit" disabled=${busy}>${busy ? 'Submitting…' : `Submit ${kind} job`}</button></div>
  </form>`;
}

/** Server issues go to the field named by their path's first segment; anything else, and the summary message, to the form. */
function placeErrors(err, known) {
  const byField = {};
  const other = [];
  const body = err.body || {};
  const add = (field, text) => (byField[field] = [...(byField[field] || []), text]);
  const issues = Array.isArray(body.issues) ? body.issues : [];
  for (const i of issues) {
    const top = String(i.field ?? '').split('.')[0];
    const where = String(i.field ?? '') || '(message)';
    if (known.has(top)) add(top, top === i.field ? i.message : `${i.field}: ${i.message}`);
    else other.push(`${where}: ${i.message}`);
  }
  for (const field of Array.isArray(body.fields) ? body.fields : []) {
    const top = String(field).split('.')[0];
    if (known.has(top)) {
      if (!byField[top]) add(top, 'invalid value');
    } else if (!issues.some((i) => i.field === field)) other.push(`${field}: invalid`);
  }
  other.unshift(err.message);
  return { byField, other };
}

function help(f) {
  const s = f.s || {};
  const bits = [];
  if (s.description) bits.push(s.description);
  if (f.type === 'lines') bits.push('one per line');
  if (f.type === 'json') bits.push('JSON');
  if (s.pattern) bits.push(`pattern ${s.pattern}`);
  if (s.items?.pattern) bits.push(`each matching ${s.items.pattern}`);
  if (s.minimum !== undefined) bits.push(`min ${s.minimum}`);
  if (s.maximum !== undefined && s.maximum < Number.MAX_SAFE_INTEGER) bits.push(`max ${s.maximum}`);
  if (s.default !== undefined) bits.push(`default ${JSON.stringify(s.default)}`);
  return bits.join(' · ');
}

function Field({ f, errors }) {
  const id = `f-${f.name}`;
  const helpText = help(f);
  const describedBy = [helpText ? `${id}-help` : '', errors ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    name: f.name,
    'aria-required': f.required ? 'true' : undefined,
    'aria-invalid': errors ? 'true' : undefined,
    'aria-describedby': describedBy,
  };
  const s = f.s || {};
  let control;
  if (f.type === 'enum') {
    control = html`<select ...${common}>
      ${!f.required ? html`<option value="">${s.default !== undefined ? `(default: ${s.default})` : '(none)'}</option>` : null}
      ${s.enum.map((v) => html`<option value=${v} selected=${f.required && s.default === v}>${v}</option>`)}
    </select>`;
  } else if (f.type === 'string') {
    control = html`<input type="text" ...${common} placeholder=${s.default !== undefined ? String(s.default) : ''} autocomplete="off" />`;
  } else if (f.type === 'number') {
    control = html`<input
      type="number"
      ...${common}
      step=${s.type === 'integer' ? '1' : 'any'}
      min=${s.minimum}
      placeholder=${s.default !== undefined ? String(s.default) : ''}
    />`;
  } else if (f.type === 'boolean') {
    control = html`<input type="checkbox" ...${common} checked=${s.default === true} />`;
  } else if (f.type === 'lines') {
    control = html`<textarea ...${common} rows="4" placeholder="one per line"></textarea>`;
  } else {
    control = html`<textarea ...${common} rows="4" class="mono" placeholder=${f.s?.type === 'object' ? '{ }' : 'JSON'}></textarea>`;
  }
  return html`<div class=${`field${f.type === 'boolean' ? ' field-check' : ''}${errors ? ' has-error' : ''}`} data-field=${f.name}>
    <label for=${id}>${f.name}${f.required ? html` <span class="req" title="required">* <span class="sr">required</span></span>` : null}</label>
    ${control} ${helpText ? html`<p class="help" id=${`${id}-help`}>${helpText}</p>` : null}
    ${errors ? html`<p class="error" id=${`${id}-error`} data-testid=${`field-error-${f.name}`}>${errors.join('; ')}</p>` : null}
  </div>`;
}
