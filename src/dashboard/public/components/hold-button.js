import { html, useState } from '/ui/vendor/htm-preact.js';
import { api } from '/ui/api.js';

/** Hold or release one kind/topic/host in place; refused actions (403, 409) show their message beside the button. */
export function HoldButton({ scope, name, holds, onDone }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const held = (holds || []).some((h) => h.scope === scope && h.name === name);
  const click = async () => {
    setBusy(true);
    setError('');
    try {
      if (held) await api.release(scope, name);
      else await api.hold(scope, name);
      if (onDone) onDone();
    } catch (err) {
      setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  const what = `${scope} ${name}`;
  return html`<span class="hold-btn">
    <button
      type="button"
      class=${held ? 'small' : 'small secondary'}
      data-action=${held ? 'release' : 'hold'}
      aria-label=${held ? `release hold on ${what}` : `hold ${what}`}
      disabled=${busy}
      onClick=${click}
    >
      ${held ? '▶ Release' : '‖ Hold'}
    </button>
    ${error ? html`<span class="error" data-testid="action-error" role="alert">${error}</span>` : null}
  </span>`;
}
