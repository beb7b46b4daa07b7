// The login screen: an API key, checked with GET /ops/whoami, kept in sessionStorage (gone when
// the tab closes; never in localStorage or a cookie).
import {api, ApiError, setKey, getKey} from '../api.js';
import {h, replace} from '../dom.js';
import {problemBox} from '../ui.js';

// Who the key belongs to: {name, scopes, auth}. An empty key asks whether /ops is open.
export function whoami(key) {
  return api('/ops/whoami', {key});
}

export function render({root, message, onLogin}) {
  const input = h('input', {type: 'password', id: 'login-key', class: 'input input-large',
                            autocomplete: 'current-password', spellcheck: 'false',
                            placeholder: 'paste your ops API key', 'data-testid': 'login-key',
                            required: true});
  const status = h('div', {class: 'login-status', 'data-testid': 'login-error', 'aria-live': 'polite'});
  if (message) status.append(h('div', {class: 'note'}, message));
  const button = h('button', {type: 'submit', class: 'btn btn-primary btn-wide',
                              'data-testid': 'login-submit'}, 'Sign in');
  const form = h('form', {class: 'login-form', novalidate: true},
    h('label', {for: 'login-key', class: 'field-label'}, 'API key'),
    input, button, status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    if (!key) {
      replace(status, h('div', {class: 'note note-bad'}, 'Enter a key.'));
      return;
    }
    button.disabled = true;
    replace(status, h('div', {class: 'note'}, 'Checking…'));
    try {
      const who = await whoami(key);
      setKey(key);
      onLogin(who);
    } catch (e) {
      const refused = e instanceof ApiError && (e.status === 401 || e.status === 403);
      replace(status, refused
        ? h('div', {class: 'note note-bad', 'data-testid': 'login-refused'},
            e.status === 401 ? 'This key was refused.' : 'This key may not use the console.',
            e.problem.detail ? h('div', {class: 'muted small'}, e.problem.detail) : null)
        : problemBox(e));
      input.select();
    } finally {
      button.disabled = false;
    }
  });
  root.append(h('div', {class: 'login-card'},
    h('div', {class: 'login-brand'}, h('span', {class: 'brand-mark', 'aria-hidden': 'true'}), 'Keelson'),
    h('p', {class: 'muted'}, 'Operator console. Sign in with an ops API key ',
      h('span', {class: 'mono'}, '(keelson apikey new)'), '.'),
    form));
  input.value = getKey();
  input.focus();
}
