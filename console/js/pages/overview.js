// Overview: the numbers an operator checks first, and how they moved over the last 30 minutes.
import {api} from '../api.js';
import {h, replace, fmtInt, fmtAge, fmtRate, fmtAgo} from '../dom.js';
import {lineChart} from '../chart.js';
import {pageHeader, problemBox, loading} from '../ui.js';

const REFRESH_MS = 5000;

function card({label, value, sub, testid, tone, href}) {
  const body = [
    h('div', {class: 'card-label'}, label),
    h('div', {class: 'card-value', 'data-testid': `${testid}-value`}, value),
    sub ? h('div', {class: 'card-sub', title: sub}, sub) : null,
  ];
  const attrs = {class: `card${tone ? ` card-${tone}` : ''}`, 'data-testid': testid};
  return href ? h('a', {...attrs, href, class: `${attrs.class} card-link`}, body) : h('div', attrs, body);
}

function breakdown(obj) {
  const entries = Object.entries(obj || {}).sort((a, b) => b[1] - a[1]);
  if (!entries.length) return null;
  return entries.slice(0, 4).map(([k, v]) => `${k.replaceAll('_', ' ')} ${fmtInt(v)}`).join(' · ');
}

function draw(o) {
  const orders = o.orders || {};
  const jobs = o.jobs || {};
  const inv = o.inventory || {};
  const breaches = o.breaches || {};
  const breachTotal = breaches.total || 0;
  const series = (o.series && o.series.points) || [];
  return [
    h('div', {class: 'cards'},
      card({label: 'Orders', value: fmtInt(orders.total), sub: breakdown(orders.by_status),
            testid: 'card-orders-total', href: '#/orders'}),
      card({label: 'Awaiting the ERP', value: fmtInt(orders.awaiting_erp),
            sub: breakdown(orders.by_erp_state), testid: 'card-awaiting-erp',
            tone: orders.awaiting_erp ? 'warn' : null,
            href: '#/orders?erp_state=none,pending'}),
      card({label: 'Queue depth', value: fmtInt(jobs.queued),
            sub: `${fmtInt(jobs.running)} running · ${fmtInt(jobs.due)} due`,
            testid: 'card-queue-depth'}),
      card({label: 'Oldest due job', value: fmtAge(jobs.oldest_due_age_s),
            sub: 'waiting past its run time', testid: 'card-oldest-due',
            tone: jobs.oldest_due_age_s > 60 ? 'warn' : null}),
      card({label: 'Dead letters', value: fmtInt(jobs.dead), sub: 'need an operator',
            testid: 'card-dead-letters', tone: jobs.dead ? 'bad' : 'ok', href: '#/dead-letters'}),
      card({label: 'Unpublished SKUs', value: fmtInt(inv.unpublished_skus),
            sub: `sync lag ${fmtAge(inv.sync_lag_s)}`, testid: 'card-unpublished',
            tone: inv.unpublished_skus ? 'warn' : null, href: '#/drift'}),
      card({label: 'SLA breaches', value: fmtInt(breachTotal),
            sub: (breaches.rules || []).filter((r) => r.count)
              .map((r) => `${r.rule.replaceAll('_', ' ')} ${fmtInt(r.count)}`).join(' · ') || 'none',
            testid: 'card-breaches', tone: breachTotal ? 'bad' : 'ok', href: '#/stuck'})),
    h('div', {class: 'charts'},
      lineChart(series, 'webhooks_per_s', {title: 'Webhooks', unit: '/s', testid: 'chart-webhooks'}),
      lineChart(series, 'erp_orders_per_s', {title: 'ERP orders', unit: '/s', testid: 'chart-erp-orders', tone: 'b'}),
      lineChart(series, 'queue_depth', {title: 'Queue depth', format: fmtInt, testid: 'chart-queue', tone: 'c'}),
      lineChart(series, 'lag_s', {title: 'Lag', format: fmtAge, testid: 'chart-lag', tone: 'd'})),
    h('p', {class: 'footnote'},
      `As of ${fmtAgo(o.now)} · samples every ${fmtRate(o.series && o.series.interval_s)} s · refreshes every ${REFRESH_MS / 1000} s`),
  ];
}

export async function render(ctx) {
  const body = h('div', {'data-testid': 'overview'}, loading());
  ctx.root.append(pageHeader('Overview', {subtitle: 'Throughput, backlog and breaches right now'}), body);
  const refresh = async () => {
    try {
      replace(body, draw(await api('/ops/overview')));
    } catch (e) {
      replace(body, problemBox(e));
    }
  };
  await refresh();
  ctx.every(REFRESH_MS, refresh);
}
