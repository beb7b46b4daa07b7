// Building the page without innerHTML: every piece of server text becomes a text node, so an
// order note or an error message can never turn into markup.

// h('a', {href: '#/x', class: 'link', 'data-testid': 't', onclick: fn}, 'text', child, [more])
// Attribute values are set with setAttribute (never parsed as HTML); `on*` keys add listeners;
// children may be strings, numbers, nodes, arrays, or null/false/undefined (skipped).
export function h(tag, attrs, ...children) {
  const el = tag.includes(':')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(tag.indexOf(':') + 1))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'value' && 'value' in el) {
      el.value = v;
    } else if (k === 'checked' || k === 'disabled' || k === 'selected') {
      el[k] = Boolean(v);
      if (v) el.setAttribute(k, '');
    } else if (k === 'href' && typeof v === 'string' && !/^(#|\/|https?:)/.test(v)) {
      // Only in-app, absolute-path or http(s) links: never javascript: or data: from the server.
      el.setAttribute('href', '#');
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function svg(tag, attrs, ...children) { return h(`svg:${tag}`, attrs, ...children); }

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) { return append(clear(el), children); }

// ---- formatting -------------------------------------------------------------------------

const intFormat = new Intl.NumberFormat('en-US');
const rateFormat = new Intl.NumberFormat('en-US', {maximumFractionDigits: 1});

export function fmtInt(n) { return n === null || n === undefined ? '–' : intFormat.format(n); }
export function fmtRate(n) { return n === null || n === undefined ? '–' : rateFormat.format(n); }

// 0.412 -> "412 ms", 4.1 -> "4.1 s", 412 -> "6 min 52 s", 11000 -> "3 h 3 min".
export function fmtAge(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '–';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${rateFormat.format(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.floor(s % 60)} s`;
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return `${hrs} h ${m % 60} min`;
  return `${Math.floor(hrs / 24)} d ${hrs % 24} h`;
}

// RFC 3339 (UTC) -> "2026-12-05 10:00:00" in the browser's time zone; "" stays "–".
export function fmtTime(t) {
  if (!t) return '–';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
         `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// "10:00:00.412": for events that are milliseconds apart.
export function fmtClock(t) {
  const d = new Date(t);
  if (!t || Number.isNaN(d.getTime())) return '–';
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

// A <time> with the local time shown and the exact UTC instant on hover.
export function timeEl(t) {
  return h('time', {datetime: t || null, title: t || null}, fmtTime(t));
}

// "ago" relative to now, for "since" columns.
export function fmtAgo(t) {
  if (!t) return '–';
  const d = new Date(t).getTime();
  if (Number.isNaN(d)) return String(t);
  return `${fmtAge(Math.max(0, (Date.now() - d) / 1000))} ago`;
}

// A compact one-line summary of a JSON detail object: "status=processing · delivery_id=13".
export function summarize(detail, max = 6) {
  if (detail === null || detail === undefined) return '';
  if (typeof detail !== 'object') return String(detail);
  const parts = [];
  for (const [k, v] of Object.entries(detail)) {
    if (parts.length >= max) { parts.push('…'); break; }
    const text = v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v);
    parts.push(`${k}=${text.length > 80 ? `${text.slice(0, 77)}…` : text}`);
  }
  return parts.join(' · ');
}

// "main:1234" -> "#/orders/main/1234"; null when it is not an order reference.
export function orderHref(ref) {
  const m = /^([^:\s]+):(\d+)$/.exec(ref || '');
  // Other entities use the same shape: "job:92", "delivery:7".
  if (!m || ['job', 'delivery', 'sku', 'connector', 'store', 'run'].includes(m[1])) return null;
  return `#/orders/${encodeURIComponent(m[1])}/${m[2]}`;
}

export function refLink(ref, attrs = {}) {
  const href = orderHref(ref);
  if (!href) return h('span', {class: 'mono'}, ref || '–');
  return h('a', {href, class: 'mono', 'data-ref': ref, ...attrs}, ref);
}

// A coloured pill for a state word (order status, ERP state, breaker, job state).
const tones = {
  ok: ['created', 'completed', 'closed', 'done', 'ok', 'processing', 'resumed', 'corrected'],
  warn: ['pending', 'half_open', 'on-hold', 'queued', 'running', 'cancel_pending', 'paused',
         'deadline', 'max_attempts', 'firing'],
  bad: ['open', 'dead', 'failed', 'business', 'poison', 'breach'],
  muted: ['none', 'skipped', 'cancelled', 'refunded', 'discarded', 'trash', 'deleted'],
};
export function badge(word, extra = {}) {
  const w = String(word ?? '–');
  let tone = 'info';
  for (const [t, words] of Object.entries(tones)) if (words.includes(w)) tone = t;
  return h('span', {class: `badge badge-${tone}`, ...extra}, w.replaceAll('_', ' '));
}

// A table from column specs: [{label, cell: row => node|string, class}]
export function table(columns, rows, {testid, rowAttrs, empty = 'Nothing here.'} = {}) {
  const thead = h('thead', {}, h('tr', {}, columns.map((c) => h('th', {class: c.class}, c.label))));
  const body = h('tbody', {});
  if (!rows.length) {
    body.append(h('tr', {class: 'empty'}, h('td', {colspan: columns.length}, empty)));
  }
  for (const r of rows) {
    body.append(h('tr', rowAttrs ? rowAttrs(r) : {},
                  columns.map((c) => h('td', {class: c.class}, c.cell(r)))));
  }
  return h('div', {class: 'table-wrap'}, h('table', {class: 'grid', 'data-testid': testid}, thead, body));
}

export function section(title, ...children) {
  return h('section', {class: 'panel'}, title ? h('h2', {}, title) : null, children);
}
