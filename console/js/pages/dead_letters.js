// Dead letters: jobs that stopped (out of attempts, past their deadline, refused by the remote as
// a business exception, or poison). Replay one or every one matching the filter; discard with a
// reason. Paged by id, oldest first.
import {api} from '../api.js';
import {h, replace, badge, refLink, table, timeEl, fmtInt} from '../dom.js';
import {pageHeader, problemBox, loading, Pager, ask, toast, jsonBlock} from '../ui.js';
import {canAct, NEEDS_OPS} from '../session.js';

const REASONS = [
  ['', 'every reason'], ['business', 'business (refused by the remote)'],
  ['max_attempts', 'max attempts'], ['deadline', 'deadline'], ['poison', 'poison'],
  ['discarded', 'discarded'],
];
const PAGE = 50;

// The order a job is about ("" for jobs that are not about one).
function refOf(job) { return job.ref || ''; }

export async function render(ctx) {
  const reason = ctx.query.get('reason') || '';
  const kind = ctx.query.get('kind') || '';
  const filter = {reason, kind};
  const discardedView = reason === 'discarded';

  const reasonSel = h('select', {name: 'reason', class: 'input', 'aria-label': 'Reason',
                                 'data-testid': 'dlq-reason'},
                      REASONS.map(([v, label]) => h('option', {value: v}, label)));
  reasonSel.value = reason;
  const kindInput = h('input', {type: 'text', name: 'kind', class: 'input', value: kind,
                                placeholder: 'job kind, e.g. order.erp_create', 'aria-label': 'Kind',
                                'data-testid': 'dlq-kind', spellcheck: 'false'});
  const form = h('form', {class: 'toolbar'}, reasonSel, kindInput,
                 h('button', {type: 'submit', class: 'btn'}, 'Filter'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    ctx.navigate('/dead-letters', {reason: reasonSel.value, kind: kindInput.value.trim()});
  });
  reasonSel.addEventListener('change', () => form.requestSubmit());

  const filterText = [reason && `reason ${reason}`, kind && `kind ${kind}`].filter(Boolean).join(', ') || 'every dead letter';
  const bulkReplay = h('button', {class: 'btn btn-primary', 'data-testid': 'dlq-replay-all',
                                  disabled: !canAct() || discardedView, title: canAct() ? null : NEEDS_OPS},
                       'Replay all matching');
  const bulkDiscard = h('button', {class: 'btn btn-danger-ghost', 'data-testid': 'dlq-discard-all',
                                   disabled: !canAct() || discardedView, title: canAct() ? null : NEEDS_OPS},
                        'Discard all matching');
  const body = h('div', {}, loading());
  ctx.root.append(
    pageHeader('Dead letters', {subtitle: 'Jobs waiting for an operator: replay them once the cause is fixed, or discard them',
                                actions: [bulkDiscard, bulkReplay]}),
    h('section', {class: 'panel'}, form, body));

  const pager = new Pager();
  const load = async () => {
    try {
      const page = await api('/ops/dead-letters', {query: {...filter, limit: PAGE, after: pager.current}});
      draw(page);
    } catch (e) {
      replace(body, problemBox(e));
    }
  };

  const replay = async (job, button) => {
    button.disabled = true;
    try {
      await api(`/ops/dead-letters/${job.id}/replay`, {method: 'POST'});
      toast(`Job #${job.id} is back in the queue`);
      markDone(job.id, 'replayed');
    } catch (e) {
      toast(e.message, 'bad');
      button.disabled = false;
    }
  };
  const discard = async (job) => {
    const why = await ask({title: `Discard job #${job.id}?`, testid: 'discard-dialog',
                           body: h('p', {}, 'It will not run again; the audit log keeps your reason.',
                                   refOf(job) ? [' Order ', h('span', {class: 'mono'}, refOf(job)), '.'] : null),
                           field: {label: 'Reason', placeholder: 'e.g. duplicate test order'},
                           confirm: 'Discard', tone: 'danger', required: true});
    if (!why) return;
    try {
      await api(`/ops/dead-letters/${job.id}/discard`, {method: 'POST', body: {reason: why}});
      toast(`Job #${job.id} discarded`);
      markDone(job.id, 'discarded');
    } catch (e) {
      toast(e.message, 'bad');
    }
  };
  // The row stays, greyed with what happened, until the next load; the list is not reshuffled
  // under the operator's pointer.
  const markDone = (id, what) => {
    const row = body.querySelector(`tr[data-job="${id}"]`);
    if (!row) return;
    row.classList.add('row-done');
    row.dataset.done = what;
    const cell = row.querySelector('td.actions');
    if (cell) replace(cell, badge(what === 'replayed' ? 'queued' : 'discarded', {'data-testid': 'dlq-done'}));
  };

  const detailsRows = new Map();
  const toggleDetails = async (job, row) => {
    if (detailsRows.has(job.id)) {
      detailsRows.get(job.id).remove();
      detailsRows.delete(job.id);
      return;
    }
    const cell = h('td', {colspan: 8}, loading());
    const tr = h('tr', {class: 'row-details'}, cell);
    row.after(tr);
    detailsRows.set(job.id, tr);
    try {
      const d = await api(`/ops/dead-letters/${job.id}`);
      replace(cell, h('div', {class: 'columns'},
        h('div', {}, h('h3', {}, 'Payload'), jsonBlock(d.payload ?? null)),
        h('div', {}, h('h3', {}, 'Delivery'), d.delivery ? jsonBlock(d.delivery) : h('p', {class: 'muted'}, 'none'))));
    } catch (e) {
      replace(cell, problemBox(e));
    }
  };

  const draw = (page) => {
    const items = page.items || [];
    detailsRows.clear();
    replace(body,
      h('div', {class: 'summary-line'},
        h('span', {'data-testid': 'dlq-count'}, `${fmtInt(items.length)}${page.next_after && items.length >= PAGE ? '+' : ''}`),
        h('span', {class: 'muted'}, ` on this page · ${filterText}`)),
      table([
        {label: 'Job', cell: (j) => h('button', {class: 'link mono', title: 'show payload and delivery',
                                                 onclick: (ev) => toggleDetails(j, ev.target.closest('tr'))}, `#${j.id}`)},
        {label: 'Kind', cell: (j) => h('span', {class: 'mono'}, j.kind)},
        {label: 'Order', cell: (j) => (refOf(j) ? refLink(refOf(j), {'data-testid': 'dlq-ref'}) : h('span', {class: 'muted mono small'}, j.partition_key || '–'))},
        {label: 'Reason', cell: (j) => badge(j.dead_reason || j.state)},
        {label: 'Attempts', class: 'num', cell: (j) => `${j.attempts}/${j.max_attempts}`},
        {label: 'Last error', cell: (j) => h('span', {class: 'error-text', title: j.last_error || null}, j.last_error || '–')},
        {label: 'Since', cell: (j) => timeEl(j.updated_at)},
        {label: '', class: 'actions', cell: (j) => (discardedView ? null : [
          h('button', {class: 'btn btn-small btn-primary', 'data-testid': 'dlq-replay', disabled: !canAct(),
                       title: canAct() ? 'put it back in the queue' : NEEDS_OPS,
                       onclick: (ev) => replay(j, ev.target)}, 'Replay'),
          h('button', {class: 'btn btn-small btn-danger-ghost', 'data-testid': 'dlq-discard', disabled: !canAct(),
                       title: canAct() ? 'drop it, with a reason' : NEEDS_OPS,
                       onclick: () => discard(j)}, 'Discard')])},
      ], items, {testid: 'dlq-table', empty: discardedView ? 'Nothing discarded.' : 'No dead letters. All clear.',
                 rowAttrs: (j) => ({'data-testid': 'dlq-row', 'data-job': j.id, 'data-kind': j.kind,
                                    'data-ref': refOf(j) || null})}),
      pager.controls({next: items.length >= PAGE ? page.next_after : null, count: items.length,
                      onChange: load, testid: 'dlq-pager'}));
    bulkReplay.disabled = bulkDiscard.disabled = !canAct() || discardedView || !items.length;
  };

  bulkReplay.addEventListener('click', async () => {
    const ok = await ask({title: 'Replay every matching dead letter?', testid: 'replay-all-dialog',
                          body: h('p', {}, `Every dead letter matching ${filterText} goes back to the queue, on every page.`),
                          confirm: 'Replay all'});
    if (!ok) return;
    try {
      const r = await api('/ops/dead-letters/replay', {method: 'POST', query: filter});
      toast(`${fmtInt((r.replayed || []).length)} dead letters replayed`);
      pager.reset();
      await load();
    } catch (e) {
      toast(e.message, 'bad');
    }
  });
  bulkDiscard.addEventListener('click', async () => {
    const why = await ask({title: 'Discard every matching dead letter?', testid: 'discard-all-dialog',
                           body: h('p', {}, `Every dead letter matching ${filterText} is dropped, on every page.`),
                           field: {label: 'Reason', placeholder: 'why these will never run'},
                           confirm: 'Discard all', tone: 'danger', required: true});
    if (!why) return;
    try {
      const r = await api('/ops/dead-letters/discard', {method: 'POST', query: filter, body: {reason: why}});
      toast(`${fmtInt((r.discarded || []).length)} dead letters discarded`);
      pager.reset();
      await load();
    } catch (e) {
      toast(e.message, 'bad');
    }
  });

  await load();
}
