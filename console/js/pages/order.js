// One order's whole story: summary, lines, ERP references, stock reservations, its timeline
// across the shop, Keelson, the ERP and operators, and its jobs (dead ones can be replayed).
import {api} from '../api.js';
import {h, replace, badge, table, section, summarize, timeEl, fmtInt, fmtClock, fmtTime} from '../dom.js';
import {pageHeader, problemBox, loading, kv, toast, jsonBlock} from '../ui.js';
import {canAct, NEEDS_OPS} from '../session.js';

const SYSTEMS = ['woocommerce', 'keelson', 'erp', 'fulfillment', 'ops'];
const SYSTEM_LABELS = {woocommerce: 'Shop', keelson: 'Keelson', erp: 'ERP', fulfillment: 'Fulfillment',
                       ops: 'Operator'};

// Entries carry `system`; a kind's prefix says it otherwise.
function systemOf(e) {
  if (e.system) return e.system;
  const k = e.kind || '';
  if (/^(webhook|shop)\./.test(k)) return 'woocommerce';
  if (/^erp\./.test(k)) return 'erp';
  if (/^fulfillment\./.test(k)) return 'fulfillment';
  if (/^(ops|operator)\./.test(k)) return 'ops';
  return 'keelson';
}

function timeline(events) {
  const present = SYSTEMS.filter((s) => events.some((e) => systemOf(e) === s));
  const extra = [...new Set(events.map(systemOf))].filter((s) => !SYSTEMS.includes(s));
  const lanes = [...present, ...extra];
  const hidden = new Set();
  const list = h('ol', {class: 'timeline', 'data-testid': 'timeline'});
  const draw = () => {
    replace(list, events.filter((e) => !hidden.has(systemOf(e))).map((e) => {
      const sys = systemOf(e);
      const detail = e.detail && typeof e.detail === 'object' && Object.keys(e.detail).length ? e.detail : null;
      return h('li', {class: `tl-entry tl-${sys}`, 'data-testid': 'timeline-entry',
                      'data-kind': e.kind, 'data-system': sys},
        h('div', {class: 'tl-time'},
          h('time', {datetime: e.at, title: e.at}, h('span', {class: 'tl-date'}, fmtTime(e.at).slice(0, 10)), fmtClock(e.at))),
        h('div', {class: 'tl-dot', 'aria-hidden': 'true'}),
        h('div', {class: 'tl-body'},
          h('div', {class: 'tl-head'},
            h('span', {class: `sys sys-${sys}`}, SYSTEM_LABELS[sys] || sys),
            h('span', {class: 'tl-kind'}, e.kind)),
          detail ? h('details', {class: 'tl-detail'},
                     h('summary', {class: 'tl-summary'}, summarize(detail)),
                     jsonBlock(detail)) : null,
          e.correlation_id ? h('div', {class: 'tl-corr mono muted'}, e.correlation_id) : null));
    }));
  };
  const filters = h('div', {class: 'chips', 'data-testid': 'timeline-filters'},
    lanes.map((s) => {
      const n = events.filter((e) => systemOf(e) === s).length;
      const chip = h('button', {type: 'button', class: `chip chip-toggle sys-${s} on`, 'aria-pressed': 'true'},
                     `${SYSTEM_LABELS[s] || s} ${fmtInt(n)}`);
      chip.addEventListener('click', () => {
        if (hidden.has(s)) hidden.delete(s); else hidden.add(s);
        chip.classList.toggle('on', !hidden.has(s));
        chip.setAttribute('aria-pressed', String(!hidden.has(s)));
        draw();
      });
      return chip;
    }));
  draw();
  return h('div', {}, events.length ? filters : null,
           events.length ? list : h('p', {class: 'muted'}, 'No events recorded for this order.'));
}

function jobsTable(jobs, reload) {
  return table([
    {label: 'Job', cell: (j) => h('span', {class: 'mono'}, `#${j.id}`)},
    {label: 'Kind', cell: (j) => h('span', {class: 'mono'}, j.kind)},
    {label: 'State', cell: (j) => h('span', {}, badge(j.state), j.dead_reason ? [' ', badge(j.dead_reason)] : null)},
    {label: 'Attempts', class: 'num', cell: (j) => `${j.attempts}/${j.max_attempts}`},
    {label: 'Last error', cell: (j) => h('span', {class: 'error-text', title: j.last_error || null}, j.last_error || '–')},
    {label: 'Updated', cell: (j) => timeEl(j.updated_at)},
    {label: '', class: 'actions', cell: (j) => (j.state === 'dead'
      ? h('button', {class: 'btn btn-small btn-primary', 'data-testid': 'job-replay', 'data-job': j.id,
                     disabled: !canAct(), title: canAct() ? 'put it back in the queue' : NEEDS_OPS,
                     onclick: async (ev) => {
                       ev.target.disabled = true;
                       try {
                         await api(`/ops/dead-letters/${j.id}/replay`, {method: 'POST'});
                         toast(`Job #${j.id} replayed`);
                         setTimeout(reload, 800);
                       } catch (e) {
                         toast(e.message, 'bad');
                         ev.target.disabled = false;
                       }
                     }}, 'Replay')
      : null)},
  ], jobs, {testid: 'order-jobs', empty: 'No jobs.',
            rowAttrs: (j) => ({'data-testid': 'job-row', 'data-job': j.id, 'data-state': j.state})});
}

function linesTable(order) {
  const lines = (order && order.lines) || [];
  return table([
    {label: 'SKU', cell: (l) => h('span', {class: 'mono'}, l.sku || '–')},
    {label: 'Product', cell: (l) => l.name || '–'},
    {label: 'Ordered', class: 'num', cell: (l) => fmtInt(l.quantity && l.quantity.ordered)},
    {label: 'Allocated', class: 'num', cell: (l) => fmtInt(l.quantity && l.quantity.allocated)},
    {label: 'Shipped', class: 'num', cell: (l) => fmtInt(l.quantity && l.quantity.shipped)},
    {label: 'Cancelled', class: 'num', cell: (l) => fmtInt(l.quantity && l.quantity.cancelled)},
    {label: 'Returned', class: 'num', cell: (l) => fmtInt(l.quantity && l.quantity.returned)},
    {label: 'Unit price', class: 'num', cell: (l) => l.unit_price},
    {label: 'Total', class: 'num', cell: (l) => l.total},
  ], lines, {testid: 'order-lines', empty: 'No lines.',
             rowAttrs: (l) => ({'data-testid': 'order-line', 'data-sku': l.sku})});
}

// Where the order ships from: its segments (node, state, shipped of ordered per line) and the
// shipment notices applied to them.
function fulfillment(v) {
  const segs = v.segments || [];
  if (!segs.length) return null;
  const lineList = (lines) => h('div', {}, lines.map((l) =>
    h('div', {class: 'small'}, h('span', {class: 'mono'}, l.sku), ` ${fmtInt(l.shipped)} / ${fmtInt(l.quantity)}`,
      l.location ? h('span', {class: 'muted'}, ` @ ${l.location}`) : null)));
  return section('Fulfillment',
    table([
      {label: 'Segment', cell: (s) => h('span', {class: 'mono'}, s.segment_id)},
      {label: 'Node', cell: (s) => s.node || '–'},
      {label: 'Kind', cell: (s) => s.kind},
      {label: 'State', cell: (s) => badge(s.state)},
      {label: 'Lines (shipped / ordered)', cell: (s) => lineList(s.lines || [])},
      {label: 'Promised', cell: (s) => (s.promised_at ? timeEl(s.promised_at) : '–')},
      {label: 'Note', cell: (s) => s.error || (s.provider_id ? h('span', {class: 'mono small'}, s.provider_id) : '–')},
    ], segs, {testid: 'order-segments',
              rowAttrs: (s) => ({'data-testid': 'segment-row', 'data-segment': s.segment_id, 'data-state': s.state})}),
    (v.shipments || []).length ? [h('h3', {}, 'Shipments'), table([
      {label: 'Shipment', cell: (x) => h('span', {class: 'mono'}, `${x.provider}/${x.shipment_id}`)},
      {label: 'Segment', cell: (x) => h('span', {class: 'mono'}, x.segment_id)},
      {label: 'Carrier', cell: (x) => x.carrier || '–'},
      {label: 'Tracking', cell: (x) => /^https?:\/\//.test(x.tracking_url || '')
        ? h('a', {href: x.tracking_url, rel: 'noopener noreferrer', target: '_blank'}, x.tracking_number || 'link')
        : (x.tracking_number || '–')},
      {label: 'Lines', cell: (x) => lineList((x.lines || []).map((l) => ({sku: l.sku, shipped: l.quantity, quantity: l.quantity})))},
      {label: 'ERP', cell: (x) => badge(x.erp_state)},
      {label: 'Received', cell: (x) => timeEl(x.received_at)},
    ], v.shipments, {testid: 'order-shipments'})] : null);
}

function draw(body, v, reload) {
  const s = v.summary || {};
  const o = v.order;
  const cust = o && o.customer ? o.customer : {};
  const bill = cust.billing || {};
  replace(body,
    v.mapping_error ? h('div', {class: 'note note-bad', 'data-testid': 'mapping-error'},
                        'The shop’s snapshot does not map: ', v.mapping_error) : null,
    h('div', {class: 'columns'},
      section('Summary', kv([
        ['Status', badge(s.status)],
        ['ERP state', badge(s.erp_state), {'data-testid': 'order-erp-state'}],
        ['ERP number', h('span', {class: 'mono'}, s.erp_number || '–'), {'data-testid': 'order-erp-number'}],
        ['Customer', [s.customer_email || cust.email || '–',
                      bill.first_name || bill.last_name
                        ? h('div', {class: 'muted small'}, `${bill.first_name || ''} ${bill.last_name || ''}`.trim(),
                            bill.city ? `, ${bill.city}` : '', bill.country ? ` (${bill.country})` : '') : null]],
        ['Total', s.total ? `${s.total} ${s.currency || ''}` : (o ? `${o.total} ${o.currency}` : '–')],
        ['Payment', o && o.payment ? `${o.payment.paid ? 'paid' : 'not paid'}${o.payment.method ? ` · ${o.payment.method}` : ''}` : '–'],
        ['Correlation', h('span', {class: 'mono small'}, s.correlation_id || '–')],
        ['Created', timeEl(s.created_at || (o && o.date_created_gmt))],
        ['Updated', timeEl(s.updated_at)],
      ])),
      section('Cross-references', table([
        {label: 'System', cell: (x) => h('span', {class: `sys sys-${x.system}`}, x.system)},
        {label: 'External id', cell: (x) => h('span', {class: 'mono'}, x.external_id)},
      ], v.xrefs || [], {testid: 'order-xrefs', empty: 'None yet.'}),
      v.reservations ? [h('h3', {}, 'Stock reservations'), table([
        {label: 'SKU', cell: (r) => h('span', {class: 'mono'}, r.sku)},
        {label: 'Location', cell: (r) => r.location},
        {label: 'Reserved', class: 'num', cell: (r) => fmtInt(r.reserved)},
        {label: 'Consumed', class: 'num', cell: (r) => fmtInt(r.consumed)},
      ], v.reservations, {testid: 'order-reservations', empty: 'No reservations.'})] : null)),
    section('Lines', linesTable(o)),
    fulfillment(v),
    section('Timeline', timeline(v.timeline || [])),
    v.jobs ? section('Jobs', jobsTable(v.jobs, reload)) : null);
}

export async function render(ctx) {
  const {store, id} = ctx.params;
  const ref = `${store}:${id}`;
  const body = h('div', {}, loading());
  ctx.root.append(
    pageHeader(ref, {subtitle: 'Order across the shop, Keelson and the ERP', testid: 'order-ref',
                     actions: [h('a', {href: '#/orders', class: 'btn btn-small'}, '← Orders')]}),
    body);
  const reload = async () => {
    try {
      draw(body, await api(`/ops/orders/${encodeURIComponent(store)}/${id}`), reload);
    } catch (e) {
      replace(body, problemBox(e));
    }
  };
  await reload();
}
