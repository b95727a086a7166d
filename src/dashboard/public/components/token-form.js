import { html } from '/ui/vendor/htm-preact.js';
import { auth } from '/ui/api.js';

export function TokenForm() {
  const submit = (e) => {
    e.preventDefault();
    const token = new FormData(e.currentTarget).get('token');
    if (token) auth.setToken(String(token).trim());
  };
  const had = !!auth.token();
  return html`<section class="card token-card">
    <h1>Sign in</h1>
    <p>${had ? 'The stored token was refused.' : 'The courier API needs a bearer token.'} It is kept in this tab only (session storage).</p>
    <form data-testid="token-form" onSubmit=${submit}>
      <label>API token <input name="token" type="password" autocomplete="current-password" required /></label>
      <button type="submit">Use token</button>
    </form>
  </section>`;
}
