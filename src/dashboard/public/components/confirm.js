import { html, useEffect, useRef } from '/ui/vendor/htm-preact.js';

/** In-page confirmation (no window.confirm: it blocks polling and can't be styled or tested). */
export function Confirm({ text, yesLabel, onYes, onNo }) {
  const no = useRef();
  useEffect(() => {
    no.current?.focus();
    const key = (e) => e.key === 'Escape' && onNo();
    document.addEventListener('keydown', key);
    return () => document.removeEventListener('keydown', key);
  }, []);
  return html`<div class="confirm-backdrop">
    <div class="confirm" role="dialog" aria-modal="true" aria-labelledby="confirm-text" data-testid="confirm">
      <p id="confirm-text">${text}</p>
      <div class="confirm-buttons">
        <button type="button" class="danger" data-testid="confirm-yes" onClick=${onYes}>${yesLabel || 'Yes'}</button>
        <button type="button" data-testid="confirm-no" ref=${no} onClick=${onNo}>No, go back</button>
      </div>
    </div>
  </div>`;
}
