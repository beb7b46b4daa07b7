// Orders: server-side search and keyset paging over every order Keelson holds.
//   q = a reference (main:1234), an e-mail, an ERP number, a correlation id or a shop order id.
import {api} from '../api.js';
import {h, replace, badge, refLink, table, timeEl} from '../dom.js';
import {pageHeader, problemBox, loading, Pager} from '../ui.js';

const STATUSES = ['pending', 'processing', 'on-hold', 'completed', 'cancelled', 'refunded',
                  'failed', 'trash', 'deleted'];
const ERP_STATES = ['none', 'pending', 'created', 'cancel_pending', 'cancelled', 'skipped'];
const PAGE = 50;

function select(name, label, values, current, testid) {
  const options = [h('option', {value: ''}, `any ${label}`)];
  if (current && !values.includes(current)) options.push(h('option', {value: current}, current));
  for (const v of values) options.push(h('option', {value: v}, v.replaceAll('_', ' ')));
  const el = h('select', {name, class: 'input', 'aria-label': label, 'data-testid': testid}, options);
  el.value = current || '';
  return el;
}

export async function render(ctx) {
  const q = ctx.query.get('q') || '';
  const status = ctx.query.get('status') || '';
  const erpState = ctx.query.get('erp_state') || '';

  const search = h('input', {type: 'search', name: 'q', class: 'input input-grow', value: q,
                             placeholder: 'main:1234, ann@example.com, S-ORD101001, correlation id',
                             'aria-label': 'Search orders', 'data-testid': 'orders-search',
                             autocomplete: 'off', spellcheck: 'false'});
  const statusSel = select('status', 'status', STATUSES, status, 'orders-status');
  const erpSel = select('erp_state', 'ERP state', ERP_STATES, erpState, 'orders-erp-state');
  const form = h('form', {class: 'toolbar', role: 'search', 'data-testid': 'orders-form'},
    search, statusSel, erpSel,
    h('button', {type: 'submit', class: 'btn btn-primary', 'data-testid': 'orders-submit'}, 'Search'),
    q || status || erpState ? h('a', {href: '#/orders', class: 'btn btn-ghost'}, 'Clear') : null);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    ctx.navigate('/orders', {q: search.value.trim(), status: statusSel.value, erp_state: erpSel.value});
  });
  // Choosing a filter searches at once.
  statusSel.addEventListener('change', () => form.requestSubmit());
  erpSel.addEventListener('change', () => form.requestSubmit());

  const body = h('div', {}, loading());
  ctx.root.append(
    pageHeader('Orders', {subtitle: 'Newest change first; search by reference, e-mail, ERP number or correlation id'}),
    h('section', {class: 'panel'}, form, body));
  search.focus();

  const pager = new Pager();
  const load = async () => {
    replace(body, loading());
    try {
      const page = await api('/ops/orders', {query: {q, status, erp_state: erpState, limit: PAGE,
                                                     cursor: pager.current}});
      const items = page.items || [];
      replace(body,
        table([
          {label: 'Order', cell: (o) => refLink(o.ref, {'data-testid': 'order-link'})},
          {label: 'Status', cell: (o) => badge(o.status)},
          {label: 'ERP', cell: (o) => badge(o.erp_state)},
          {label: 'ERP number', cell: (o) => h('span', {class: 'mono'}, o.erp_number || '–')},
          {label: 'Customer', cell: (o) => o.customer_email || '–'},
          {label: 'Total', class: 'num', cell: (o) => (o.total ? `${o.total} ${o.currency || ''}` : '–')},
          {label: 'Updated', cell: (o) => timeEl(o.updated_at)},
        ], items, {testid: 'orders-table',
                   empty: q ? `No order matches “${q}”.` : 'No orders match these filters.',
                   rowAttrs: (o) => ({'data-testid': 'order-row', 'data-ref': o.ref, class: 'row-link',
                                      onclick: (ev) => {
                                        if (ev.target.closest('a')) return;
                                        window.location.hash = `#/orders/${encodeURIComponent(o.store_id)}/${o.order_id}`;
                                      }})}),
        pager.controls({next: page.next_cursor, count: items.length, onChange: load, testid: 'orders-pager'}));
    } catch (e) {
      replace(body, problemBox(e));
    }
  };
  await load();
}
