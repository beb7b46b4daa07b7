// Stuck: the SLA rules as last evaluated (#/stuck) and every breaching item of one (#/stuck/<rule>).
import {api} from '../api.js';
import {h, replace, fmtInt, fmtAge, fmtAgo, badge, refLink, table, section, timeEl} from '../dom.js';
import {pageHeader, problemBox, loading} from '../ui.js';

const REFRESH_MS = 3000;

function ruleTable(items) {
  return table([
    {label: 'Rule', cell: (r) => h('a', {href: `#/stuck/${encodeURIComponent(r.rule)}`, class: 'strong'}, r.rule)},
    {label: 'What it watches', cell: (r) => h('span', {}, r.description || '–',
                                               h('div', {class: 'muted small'}, `${r.subject} older than ${fmtAge(r.older_than_s)}`))},
    {label: 'Breaching', class: 'num', cell: (r) => h('span', {'data-testid': `alert-count-${r.rule}`},
                                                       r.count ? badge('breach', {title: 'breaching now'}) : badge('ok'),
                                                       ' ', h('span', {class: 'strong'}, fmtInt(r.count)))},
    {label: 'Oldest', class: 'num', cell: (r) => (r.count ? fmtAge(r.oldest_age_s) : '–')},
    {label: 'Firing since', cell: (r) => (r.firing_since ? h('span', {title: r.firing_since}, fmtAgo(r.firing_since)) : '–')},
    {label: 'Samples', cell: (r) => h('div', {class: 'chips'},
      (r.samples || []).slice(0, 5).map((s) => h('span', {class: 'chip', 'data-testid': 'alert-sample', 'data-ref': s.ref},
                                                 refLink(s.ref), h('span', {class: 'muted'}, fmtAge(s.age_s)))),
      (r.samples || []).length > 5 ? h('span', {class: 'muted'}, `+${r.samples.length - 5}`) : null)},
  ], items, {testid: 'alerts', empty: 'No SLA rules are configured (config: sla.rules).',
             rowAttrs: (r) => ({'data-testid': `alert-row-${r.rule}`, 'data-rule': r.rule,
                                class: r.count ? 'row-bad' : ''})});
}

async function drawRules(body) {
  const alerts = await api('/ops/alerts');
  const items = alerts.items || [];
  const firing = items.filter((r) => r.count).length;
  replace(body,
    h('div', {class: 'summary-line'},
      firing ? h('strong', {class: 'text-bad'}, `${firing} of ${items.length} rules breaching`)
             : h('strong', {class: 'text-ok'}, items.length ? 'Every SLA rule is met' : 'No rules'),
      h('span', {class: 'muted'}, ` · evaluated `, alerts.evaluated_at ? timeEl(alerts.evaluated_at) : 'not yet')),
    ruleTable(items));
}

async function drawRule(body, rule) {
  const [alerts, list] = await Promise.all([
    api('/ops/alerts').catch(() => ({items: []})),
    api(`/ops/alerts/${encodeURIComponent(rule)}`, {query: {limit: 200}}),
  ]);
  const meta = (alerts.items || []).find((r) => r.rule === rule);
  const items = list.items || [];
  replace(body,
    meta ? h('div', {class: 'summary-line'}, h('strong', {}, meta.description || rule),
             h('span', {class: 'muted'}, ` · ${meta.subject} older than ${fmtAge(meta.older_than_s)} · `,
               h('span', {'data-testid': 'stuck-count'}, `${fmtInt(meta.count)} breaching`))) : null,
    table([
      {label: 'Item', cell: (s) => refLink(s.ref)},
      {label: 'Age', class: 'num', cell: (s) => fmtAge(s.age_s)},
      {label: 'Detail', cell: (s) => s.detail || '–'},
    ], items, {testid: 'stuck-items', empty: 'Nothing is stuck for this rule.',
               rowAttrs: (s) => ({'data-testid': 'stuck-item', 'data-ref': s.ref})}),
    items.length >= 200 ? h('p', {class: 'muted'}, 'Showing the first 200.') : null);
}

export async function render(ctx) {
  const rule = ctx.params.rule;
  const body = h('div', {'data-testid': 'stuck'}, loading());
  ctx.root.append(
    rule
      ? pageHeader(rule, {subtitle: 'Everything breaching this SLA rule, oldest first',
                          actions: [h('a', {href: '#/stuck', class: 'btn btn-small'}, '← All rules')]})
      : pageHeader('Stuck', {subtitle: 'SLA rules and what breaches them'}),
    section(null, body));
  const refresh = async () => {
    try {
      await (rule ? drawRule(body, rule) : drawRules(body));
    } catch (e) {
      replace(body, problemBox(e));
    }
  };
  await refresh();
  ctx.every(REFRESH_MS, refresh);
}
