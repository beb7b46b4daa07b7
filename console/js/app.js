// The console's shell: the login gate, the header, hash routing and auto-refresh.
//
//   #/overview  #/stuck  #/stuck/<rule>  #/orders?q=…  #/orders/<store>/<id>
//   #/dead-letters?reason=&kind=  #/connectors  #/drift?store=  #/audit  #/login
//
// Each page module exports render(ctx) and draws into ctx.root, a fresh element per visit; a
// page that is left keeps writing into its detached root harmlessly, and its timers stop.
import {api, getKey, clearKey, setUnauthorizedHandler} from './api.js';
import {h, replace} from './dom.js';
import {dialogOpen, problemBox} from './ui.js';
import {session} from './session.js';
import * as login from './pages/login.js';
import * as overview from './pages/overview.js';
import * as stuck from './pages/stuck.js';
import * as orders from './pages/orders.js';
import * as order from './pages/order.js';
import * as deadLetters from './pages/dead_letters.js';
import * as connectors from './pages/connectors.js';
import * as drift from './pages/drift.js';
import * as audit from './pages/audit.js';

const routes = [
  {re: /^\/overview$/, page: overview, nav: 'overview'},
  {re: /^\/stuck$/, page: stuck, nav: 'stuck'},
  {re: /^\/stuck\/([^/]+)$/, page: stuck, nav: 'stuck', names: ['rule']},
  {re: /^\/orders$/, page: orders, nav: 'orders'},
  {re: /^\/orders\/([^/]+)\/(\d+)$/, page: order, nav: 'orders', names: ['store', 'id']},
  {re: /^\/dead-letters$/, page: deadLetters, nav: 'dead-letters'},
  {re: /^\/connectors$/, page: connectors, nav: 'connectors'},
  {re: /^\/drift$/, page: drift, nav: 'drift'},
  {re: /^\/audit$/, page: audit, nav: 'audit'},
];

const navItems = [
  ['overview', 'Overview'], ['stuck', 'Stuck'], ['orders', 'Orders'],
  ['dead-letters', 'Dead letters'], ['connectors', 'Connectors'], ['drift', 'Drift'],
  ['audit', 'Audit'],
];

let timers = [];
let visit = 0;

function stopTimers() {
  for (const t of timers) clearInterval(t);
  timers = [];
}

function parseHash() {
  const raw = window.location.hash.replace(/^#/, '') || '/overview';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  return {path, query};
}

export function navigate(path, query) {
  const qs = query ? new URLSearchParams(
    Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== '')).toString() : '';
  const target = `#${path}${qs ? `?${qs}` : ''}`;
  if (window.location.hash === target) route(); else window.location.hash = target;
}

function showLogin(message) {
  stopTimers();
  session.who = null;
  document.getElementById('topbar').hidden = true;
  const root = h('div', {class: 'page page-login'});
  replace(document.getElementById('view'), root);
  login.render({root, message, onLogin: (who) => {
    session.who = who;
    const {path} = parseHash();
    if (path === '/login') window.location.hash = '#/overview'; else route();
  }});
}

function drawHeader(active) {
  const bar = document.getElementById('topbar');
  bar.hidden = false;
  replace(document.getElementById('nav'), navItems.map(([id, label]) =>
    h('a', {href: `#/${id}`, class: id === active ? 'nav-link active' : 'nav-link',
            'aria-current': id === active ? 'page' : null, 'data-testid': `nav-${id}`},
      label, id === 'stuck' ? h('span', {class: 'nav-badge', id: 'nav-breaches',
                                          'data-testid': 'nav-breaches', hidden: true}) : null)));
  const who = session.who || {};
  replace(document.getElementById('who'),
    h('span', {class: 'who-name', 'data-testid': 'whoami-name',
               title: who.auth === 'open' ? 'no API keys are configured: /ops is open' : 'signed in with an API key'},
      who.name || '–'),
    (who.scopes || []).map((s) => h('span', {class: 'scope', 'data-testid': 'whoami-scope'}, s)),
    who.auth === 'open' ? h('span', {class: 'scope scope-warn'}, 'open') : null,
    h('button', {class: 'btn btn-small btn-ghost', 'data-testid': 'logout',
                 onclick: () => { clearKey(); showLogin('Signed out.'); }}, 'Sign out'));
  refreshBreaches();
}

// The header's breach count, from the SLA rules as last evaluated.
async function refreshBreaches() {
  const badge = document.getElementById('nav-breaches');
  if (!badge) return;
  try {
    const alerts = await api('/ops/alerts');
    const n = (alerts.items || []).reduce((sum, r) => sum + (r.count || 0), 0);
    badge.textContent = String(n);
    badge.hidden = n === 0;
    badge.title = `${n} item${n === 1 ? '' : 's'} breaching an SLA rule`;
  } catch {
    badge.hidden = true;
  }
}

async function route() {
  const {path, query} = parseHash();
  if (!getKey() && !session.who) return showLogin();
  if (path === '/login') return showLogin();
  if (!session.who) return showLogin();
  stopTimers();
  const mine = ++visit;
  const r = routes.find((x) => x.re.test(path));
  drawHeader(r ? r.nav : '');
  const root = h('div', {class: 'page'});
  const view = document.getElementById('view');
  replace(view, root);
  if (!r) {
    root.append(h('h1', {}, 'Not found'), h('p', {}, `No page at ${path}. `,
                                           h('a', {href: '#/overview'}, 'Go to the overview.')));
    return;
  }
  const m = r.re.exec(path);
  const params = {};
  (r.names || []).forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); });
  const ctx = {
    root, params, query, navigate,
    alive: () => mine === visit,
    // Runs fn every ms while the page is shown, skipping while a dialog is open or the tab is
    // hidden (an operator typing a reason must not have the page redrawn under them).
    every(ms, fn) {
      timers.push(setInterval(() => {
        if (mine !== visit || dialogOpen() || document.hidden) return;
        fn();
      }, ms));
    },
  };
  timers.push(setInterval(() => { if (!document.hidden) refreshBreaches(); }, 5000));
  try {
    await r.page.render(ctx);
  } catch (e) {
    if (mine === visit) root.append(problemBox(e));
  }
}

async function start() {
  setUnauthorizedHandler(() => {
    clearKey();
    showLogin('Your key was refused (401). Sign in again.');
  });
  window.addEventListener('hashchange', route);
  // Without a stored key, a Keelson with no keys configured (open /ops) still lets us in.
  const key = getKey();
  try {
    session.who = await login.whoami(key);
  } catch (e) {
    if (e.status === 401 || e.status === 403) {
      clearKey();
      return showLogin(key ? 'Your key was refused. Sign in again.' : undefined);
    }
    replace(document.getElementById('view'), h('div', {class: 'page'}, problemBox(e)));
    return;
  }
  route();
}

start();
