// Connectors: per remote endpoint, the circuit breaker, the rate the limiter allows, what is in
// flight, failures and the last error; pause a connector (its jobs wait, they do not fail) and
// resume it.
import {api} from '../api.js';
import {h, replace, badge, table, fmtInt, fmtRate, fmtAgo, timeEl} from '../dom.js';
import {pageHeader, problemBox, loading, ask, toast} from '../ui.js';
import {canAct, NEEDS_OPS} from '../session.js';

const REFRESH_MS = 3000;

function endpointsTable(endpoints) {
  return table([
    {label: 'Endpoint', cell: (e) => h('span', {class: 'mono'}, e.endpoint)},
    {label: 'Breaker', cell: (e) => h('span', {}, badge(e.breaker, {'data-testid': 'breaker'}),
                                        e.breaker !== 'closed' && e.open_until ? h('div', {class: 'muted small'}, 'until ', timeEl(e.open_until)) : null)},
    {label: 'Rate', class: 'num', cell: (e) => h('span', {title: `configured ${fmtRate(e.configured_rate_per_s)}/s`},
                                                  e.rate_limit_per_s ? `${fmtRate(e.rate_limit_per_s)}/s` : 'unlimited',
                                                  e.configured_rate_per_s && e.rate_limit_per_s < e.configured_rate_per_s
                                                    ? h('div', {class: 'small text-warn'}, `of ${fmtRate(e.configured_rate_per_s)}/s`) : null)},
    {label: 'In flight', class: 'num', cell: (e) => fmtInt(e.in_flight)},
    {label: 'Sent', class: 'num', cell: (e) => fmtInt(e.sent)},
    {label: 'Failures', class: 'num', cell: (e) => h('span', {class: e.failures ? 'text-bad' : ''}, fmtInt(e.failures))},
    {label: 'Rejected open', class: 'num', cell: (e) => fmtInt(e.rejected_open)},
    {label: '429s', class: 'num', cell: (e) => h('span', {}, fmtInt(e.answered_429),
                                                  e.throttled_until ? h('div', {class: 'muted small'}, 'until ', timeEl(e.throttled_until)) : null)},
    {label: 'Last error', cell: (e) => (e.last_error
      ? h('div', {}, h('span', {class: 'error-text', title: e.last_error}, e.last_error),
          e.last_error_at ? h('div', {class: 'muted small'}, fmtAgo(e.last_error_at)) : null)
      : h('span', {class: 'muted'}, 'none'))},
  ], endpoints || [], {empty: 'No endpoints.', rowAttrs: (e) => ({'data-testid': 'endpoint-row', 'data-endpoint': e.endpoint})});
}

export async function render(ctx) {
  const body = h('div', {'data-testid': 'connectors'}, loading());
  ctx.root.append(pageHeader('Connectors', {subtitle: `Health of every remote system · refreshes every ${REFRESH_MS / 1000} s`}), body);

  const act = async (c, pause) => {
    let reason = '';
    if (pause) {
      reason = await ask({title: `Pause ${c.connector}?`, testid: 'pause-dialog',
                          body: h('p', {}, 'Its jobs stay queued (not failed) until you resume it.'),
                          field: {label: 'Reason', placeholder: 'e.g. ERP maintenance window'},
                          confirm: 'Pause', tone: 'danger', required: true});
      if (!reason) return;
    }
    try {
      await api(`/ops/connectors/${encodeURIComponent(c.connector)}/${pause ? 'pause' : 'resume'}`,
                {method: 'POST', body: pause ? {reason} : undefined});
      toast(`${c.connector} ${pause ? 'paused' : 'resumed'}`);
      await refresh();
    } catch (e) {
      toast(e.message, 'bad');
    }
  };

  const draw = (data) => {
    const items = data.items || [];
    replace(body, items.length ? items.map((c) => {
      const open = (c.endpoints || []).some((e) => e.breaker !== 'closed');
      return h('section', {class: `panel connector${c.paused ? ' connector-paused' : ''}`,
                           'data-testid': 'connector', 'data-connector': c.connector},
        h('div', {class: 'panel-head'},
          h('h2', {}, c.connector),
          c.paused ? badge('paused', {'data-testid': 'connector-state'})
                   : badge(open ? 'open' : 'ok', {'data-testid': 'connector-state'}),
          c.paused ? h('span', {class: 'muted'}, ` by ${c.paused_by || '?'} `, c.paused_since ? fmtAgo(c.paused_since) : '',
                       c.paused_reason ? ` — “${c.paused_reason}”` : '') : null,
          h('span', {class: 'spacer'}),
          c.paused
            ? h('button', {class: 'btn btn-primary btn-small', 'data-testid': 'connector-resume', disabled: !canAct(),
                           title: canAct() ? null : NEEDS_OPS, onclick: () => act(c, false)}, 'Resume')
            : h('button', {class: 'btn btn-danger-ghost btn-small', 'data-testid': 'connector-pause', disabled: !canAct(),
                           title: canAct() ? null : NEEDS_OPS, onclick: () => act(c, true)}, 'Pause…')),
        endpointsTable(c.endpoints));
    }) : h('p', {class: 'muted'}, 'No connectors are configured.'));
  };
  const refresh = async () => {
    try {
      draw(await api('/ops/connectors'));
    } catch (e) {
      replace(body, problemBox(e));
    }
  };
  await refresh();
  ctx.every(REFRESH_MS, refresh);
}
