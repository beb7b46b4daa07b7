// Audit: every action an operator started (replays, discards, pauses, resumes, reconciliations),
// with the key's name, oldest first.
import {api} from '../api.js';
import {h, replace, table, timeEl, summarize, refLink} from '../dom.js';
import {pageHeader, problemBox, loading, Pager} from '../ui.js';

const PAGE = 100;

export async function render(ctx) {
  const body = h('div', {}, loading());
  ctx.root.append(pageHeader('Audit log', {subtitle: 'Who did what, oldest first'}), h('section', {class: 'panel'}, body));
  const pager = new Pager();
  const load = async () => {
    try {
      const page = await api('/ops/audit', {query: {after: pager.current, limit: PAGE}});
      const items = page.items || [];
      replace(body,
        table([
          {label: '#', class: 'num', cell: (a) => a.id},
          {label: 'At', cell: (a) => timeEl(a.at)},
          {label: 'Who', cell: (a) => h('span', {class: 'strong'}, a.actor || '–')},
          {label: 'Action', cell: (a) => h('span', {class: 'mono'}, a.action)},
          {label: 'Target', cell: (a) => h('span', {}, h('span', {class: 'mono'}, a.target || '–'),
                                             a.detail && a.detail.ref ? [' · ', refLink(a.detail.ref)] : null)},
          {label: 'Detail', cell: (a) => h('span', {class: 'muted', title: a.detail ? JSON.stringify(a.detail) : null}, summarize(a.detail))},
        ], items, {testid: 'audit-table', empty: 'No operator actions yet.',
                   rowAttrs: (a) => ({'data-testid': 'audit-row', 'data-action': a.action})}),
        pager.controls({next: items.length >= PAGE ? page.next_after : null, count: items.length,
                        onChange: load, testid: 'audit-pager'}));
    } catch (e) {
      replace(body, problemBox(e));
    }
  };
  await load();
}
