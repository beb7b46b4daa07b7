// Shared pieces of the pages: problem boxes, dialogs, toasts, pagers, page headers.
import {h, append} from './dom.js';
import {ApiError} from './api.js';

// The server's problem+json, shown as it is: status, title, detail, and which call it was.
export function problemBox(err, {hint} = {}) {
  if (err instanceof ApiError) {
    const p = err.problem || {};
    return h('div', {class: 'problem', role: 'alert', 'data-testid': 'problem',
                     'data-status': String(err.status)},
      h('div', {class: 'problem-title'},
        err.status ? h('span', {class: 'problem-status'}, String(err.status)) : null,
        p.title || 'Error'),
      p.detail ? h('div', {class: 'problem-detail'}, p.detail) : null,
      h('div', {class: 'problem-call mono'}, `${err.method} ${err.path}`,
        p.type && p.type !== 'about:blank' ? ` · ${p.type}` : ''),
      err.status === 404 && /no route/.test(p.detail || '')
        ? h('div', {class: 'problem-hint'},
            'This Keelson does not offer this endpoint yet (docs/ops-api.md describes it).')
        : null,
      hint ? h('div', {class: 'problem-hint'}, hint) : null);
  }
  return h('div', {class: 'problem', role: 'alert', 'data-testid': 'problem'},
    h('div', {class: 'problem-title'}, 'Error in the console'),
    h('div', {class: 'problem-detail'}, String(err && err.message ? err.message : err)));
}

export function pageHeader(title, {subtitle, actions = [], testid} = {}) {
  return h('div', {class: 'page-head'},
    h('div', {},
      h('h1', {'data-testid': testid || 'page-title'}, title),
      subtitle ? h('p', {class: 'subtitle'}, subtitle) : null),
    h('div', {class: 'page-actions'}, actions));
}

export function loading(text = 'Loading…') {
  return h('div', {class: 'loading', 'data-testid': 'loading'}, h('span', {class: 'spinner'}), text);
}

// ---- toasts ---------------------------------------------------------------------------------

export function toast(message, tone = 'ok') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const t = h('div', {class: `toast toast-${tone}`, role: 'status', 'data-testid': 'toast'}, message);
  box.append(t);
  setTimeout(() => t.classList.add('toast-out'), 4000);
  setTimeout(() => t.remove(), 4600);
}

// ---- dialogs --------------------------------------------------------------------------------

export function dialogOpen() { return document.querySelector('dialog[open]') !== null; }

// A modal with an optional text field. Resolves to the text (or true without a field), or null
// when cancelled.
export function ask({title, body, field, confirm = 'OK', tone = 'primary', required = false,
                     testid = 'dialog'}) {
  return new Promise((resolve) => {
    const input = field
      ? h('input', {type: 'text', name: 'reason', class: 'input', autocomplete: 'off',
                    placeholder: field.placeholder || '', 'data-testid': `${testid}-input`,
                    required: required || null, maxlength: 500})
      : null;
    const ok = h('button', {type: 'submit', class: `btn btn-${tone}`, 'data-testid': `${testid}-confirm`}, confirm);
    const cancel = h('button', {type: 'button', class: 'btn', 'data-testid': `${testid}-cancel`}, 'Cancel');
    const form = h('form', {method: 'dialog', class: 'dialog-form'},
      h('h2', {}, title),
      body ? h('div', {class: 'dialog-body'}, body) : null,
      input ? h('label', {class: 'field'}, h('span', {}, field.label), input) : null,
      h('div', {class: 'dialog-actions'}, cancel, ok));
    const dlg = h('dialog', {class: 'dialog', 'data-testid': testid}, form);
    let result = null;
    const sync = () => { ok.disabled = required && input && !input.value.trim(); };
    if (input) input.addEventListener('input', sync);
    sync();
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (required && input && !input.value.trim()) return;
      result = input ? input.value.trim() : true;
      dlg.close();
    });
    cancel.addEventListener('click', () => dlg.close());
    dlg.addEventListener('close', () => { dlg.remove(); resolve(result); });
    document.body.append(dlg);
    dlg.showModal();
    (input || ok).focus();
  });
}

// ---- paging ---------------------------------------------------------------------------------

// Keyset paging: the server hands out an opaque "next" token; the console keeps the tokens of
// the pages it has seen so "Previous" works without offsets.
export class Pager {
  constructor() { this.stack = []; this.current = ''; }
  reset() { this.stack = []; this.current = ''; }
  next(token) { this.stack.push(this.current); this.current = token; }
  prev() { this.current = this.stack.pop() ?? ''; }
  get page() { return this.stack.length + 1; }

  // Empty when everything fits on one page.
  controls({next, onChange, count, testid = 'pager'}) {
    if (!next && !this.stack.length) return h('div', {class: 'pager', 'data-testid': testid});
    const prev = h('button', {class: 'btn btn-small', disabled: !this.stack.length,
                              'data-testid': `${testid}-prev`,
                              onclick: () => { this.prev(); onChange(); }}, '← Previous');
    const nxt = h('button', {class: 'btn btn-small', disabled: !next,
                             'data-testid': `${testid}-next`,
                             onclick: () => { this.next(next); onChange(); }}, 'Next →');
    return h('div', {class: 'pager', 'data-testid': testid},
      prev, h('span', {class: 'pager-info'},
        `Page ${this.page}${count !== undefined ? ` · ${count} shown` : ''}`), nxt);
  }
}

export function kv(pairs) {
  const dl = h('dl', {class: 'kv'});
  for (const [k, v, attrs] of pairs) {
    if (v === undefined) continue;
    append(dl, [h('dt', {}, k), h('dd', attrs || {}, v === null || v === '' ? '–' : v)]);
  }
  return dl;
}

export function jsonBlock(value) {
  return h('pre', {class: 'json'}, JSON.stringify(value, null, 2));
}
