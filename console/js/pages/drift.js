// Drift: the latest inventory reconciliation of a store (what the shop showed against what
// Keelson expected), and a button to reconcile now.
import {api, ApiError} from '../api.js';
import {h, replace, badge, table, fmtInt, fmtAge, fmtAgo, timeEl} from '../dom.js';
import {pageHeader, problemBox, loading, Pager, toast} from '../ui.js';
import {canAct, NEEDS_OPS} from '../session.js';

const PAGE = 100;

export async function render(ctx) {
  const store = ctx.query.get('store') || 'main';
  const storeInput = h('input', {type: 'text', name: 'store', class: 'input', value: store,
                                 'aria-label': 'Store id', 'data-testid': 'drift-store', spellcheck: 'false'});
  const form = h('form', {class: 'toolbar'}, h('label', {class: 'inline-label'}, 'Store', storeInput),
                 h('button', {type: 'submit', class: 'btn'}, 'Show'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    ctx.navigate('/drift', {store: storeInput.value.trim() || 'main'});
  });
  const reconcile = h('button', {class: 'btn btn-primary', 'data-testid': 'drift-reconcile', disabled: !canAct(),
                                 title: canAct() ? 'compare every SKU in the shop now' : NEEDS_OPS},
                      'Reconcile now');
  const summary = h('div', {'data-testid': 'drift-summary'}, loading());
  const rows = h('div', {});
  ctx.root.append(
    pageHeader('Inventory drift', {subtitle: 'The shop’s stock compared with what Keelson published', actions: [reconcile]}),
    h('section', {class: 'panel'}, form, summary), h('section', {class: 'panel'}, h('h2', {}, 'Drifted SKUs'), rows));

  const pager = new Pager();
  let runId = '';
  // After "Reconcile now": the run shown before it, and since when we wait for a newer run to
  // finish. The run is a job: it may not have started, or not finished, at the first reload.
  let before = null;
  let waitingSince = 0;
  const load = async () => {
    try {
      const data = await api('/ops/inventory/drift', {query: {store, run: runId, after: pager.current, limit: PAGE}});
      const run = data.run || {};
      runId = run.run_id || '';
      if (waitingSince && runId && runId !== before && run.finished_at) waitingSince = 0;
      const took = run.started_at && run.finished_at
        ? (new Date(run.finished_at) - new Date(run.started_at)) / 1000 : null;
      replace(summary, h('div', {class: 'cards cards-small'},
        [['Run', h('span', {class: 'mono'}, run.run_id || '–'), 'drift-run'],
         ['Finished', run.finished_at ? h('span', {title: run.finished_at}, fmtAgo(run.finished_at))
                                      : h('span', {class: 'text-warn'}, 'running…'), 'drift-finished'],
         ['Took', took === null ? '–' : fmtAge(took), 'drift-took'],
         ['Scanned', fmtInt(run.scanned), 'drift-scanned'],
         ['Drifted', fmtInt(run.drifted), 'drift-drifted'],
         ['Corrected', fmtInt(run.corrected), 'drift-corrected'],
         ['Unknown SKUs', fmtInt(run.unknown), 'drift-unknown']]
          .map(([label, value, testid]) => h('div', {class: 'card', 'data-testid': testid},
                                             h('div', {class: 'card-label'}, label), h('div', {class: 'card-value'}, value)))));
      const items = data.items || [];
      replace(rows,
        table([
          {label: 'SKU', cell: (r) => h('span', {class: 'mono'}, r.sku)},
          {label: 'Expected', class: 'num', cell: (r) => h('span', {}, fmtInt(r.expected), ' ', r.expected_status ? badge(r.expected_status) : null)},
          {label: 'Found in the shop', class: 'num', cell: (r) => h('span', {}, r.found === null || r.found === undefined ? 'missing' : fmtInt(r.found), ' ', r.found_status ? badge(r.found_status) : null)},
          {label: 'Corrected', cell: (r) => (r.corrected ? badge('corrected') : badge('pending'))},
          {label: 'At', cell: (r) => timeEl(r.at)},
        ], items, {testid: 'drift-table', empty: 'No drift: the shop shows what Keelson published.',
                   rowAttrs: (r) => ({'data-testid': 'drift-row', 'data-sku': r.sku})}),
        pager.controls({next: items.length >= PAGE ? data.next_after : null, count: items.length,
                        onChange: load, testid: 'drift-pager'}));
    } catch (e) {
      const none = e instanceof ApiError && e.status === 404 && !/no route/.test(e.problem.detail || '');
      replace(summary, none
        ? h('div', {class: 'note'}, `No reconciliation has run for store “${store}” yet. `,
            canAct() ? 'Start one with “Reconcile now”.' : '')
        : problemBox(e));
      replace(rows);
    }
  };

  reconcile.addEventListener('click', async () => {
    reconcile.disabled = true;
    try {
      await api('/ops/inventory/reconcile', {method: 'POST', query: {store}});
      toast(`Reconciliation of ${store} started`);
      // The run is a job; its report appears once it finishes (reloaded below until then).
      before = runId;
      waitingSince = Date.now();
    } catch (e) {
      toast(e.message, 'bad');
    } finally {
      setTimeout(() => { reconcile.disabled = !canAct(); }, 1500);
    }
  });

  // Until the requested run has finished (at most two minutes), show the latest run each second.
  ctx.every(1000, () => {
    if (!waitingSince) return;
    if (Date.now() - waitingSince > 120000) waitingSince = 0;
    runId = '';
    pager.reset();
    load();
  });
  await load();
}
