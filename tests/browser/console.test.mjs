// The operator console in a real browser: `keelson demo` with its simulators, Debian's chromium
// driven by playwright-core. Run by CTest (browser.console) as
//   node --test tests/browser/console.test.mjs
// with KEELSON_BINARY=<build>/keelson (default build/release/keelson). Screenshots of every page
// go to $KEELSON_SCREENSHOTS_DIR when set (docs/screenshots/ holds a set), else to the temp dir.
// CHROMIUM overrides /usr/bin/chromium.
//
// The tests run in order against one demo and one signed-in page: each continues from where the
// one before left the hub (the parked order is replayed before the ERP goes down, ...).

import {after, before, test} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const binary = process.env.KEELSON_BINARY || path.join(repo, 'build', 'release', 'keelson');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'keelson-console-'));
const shotsDir = process.env.KEELSON_SCREENSHOTS_DIR
  ? path.resolve(process.env.KEELSON_SCREENSHOTS_DIR) : path.join(workDir, 'screenshots');
const apiKey = `browser-${randomBytes(16).toString('hex')}`;

// What this machine lacks to run a browser is a skip, said plainly (CTest matches the words);
// `make deps` installs both.
let chromium = null;
let skip = '';
try {
  ({chromium} = await import('playwright-core'));
} catch {
  skip = 'playwright-core is not installed (make deps runs npm ci --prefix tests/browser)';
}
if (!skip && !fs.existsSync(chromiumPath)) {
  skip = `${chromiumPath} does not exist (make deps installs Debian's chromium)`;
}
if (skip) {
  skip = `browser test skipped: ${skip}`;
  console.log(skip);
}

let demoProc = null;
let demoOutput = '';
let demo = null;  // <dir>/demo.json
let browser = null;
let page = null;
const pageErrors = [];
let replayedJob = '';  // the dead letter replayed from the console

// ---- helpers ------------------------------------------------------------------------------

async function waitFor(fn, {timeout = 20000, interval = 250, what = 'condition'} = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

async function http(method, url, body, headers = {}) {
  const res = await fetch(url, {
    method, headers: {...(body ? {'Content-Type': 'application/json'} : {}), ...headers},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return {status: res.status, json, text};
}

const ops = (p) => http('GET', `${demo.keelson}${p}`, null, {Authorization: `Bearer ${apiKey}`});

async function shot(name) {
  fs.mkdirSync(shotsDir, {recursive: true});
  // Let charts and fonts settle; no spinner left in the picture.
  await page.waitForFunction(() => !document.querySelector('[data-testid=loading]'), null, {timeout: 10000})
    .catch(() => {});
  // Nothing transient in the picture: no toast, no hover highlight.
  await page.mouse.move(0, 0);
  await page.evaluate(() => document.querySelectorAll('#toasts > *').forEach((t) => t.remove()));
  await page.screenshot({path: path.join(shotsDir, `${name}.png`), fullPage: true});
}

async function go(hash, ready) {
  await page.goto(`${demo.console}#${hash}`);
  if (ready) await page.waitForSelector(ready, {timeout: 15000});
}

const text = async (sel) => (await page.textContent(sel)).trim();
const count = (sel) => page.locator(sel).count();

function stopDemo() {
  if (!demoProc || demoProc.exitCode !== null || demoProc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => demoProc.kill('SIGKILL'), 10000);
    demoProc.once('exit', () => { clearTimeout(force); resolve(); });
    demoProc.kill('SIGTERM');
  });
}
// Whatever happens to this process, the demo does not outlive it.
process.on('exit', () => { if (demoProc && demoProc.exitCode === null) demoProc.kill('SIGKILL'); });

// ---- set-up -------------------------------------------------------------------------------

before(async () => {
  if (skip) return;
  assert.ok(fs.existsSync(binary), `no keelson binary at ${binary} (set KEELSON_BINARY)`);
  demoProc = spawn(binary, ['demo', '--dir', path.join(workDir, 'demo'), '--port', '0',
                            '--orders', '30', '--api-key', apiKey],
                   {stdio: ['ignore', 'pipe', 'pipe']});
  demoProc.stdout.on('data', (d) => { demoOutput += d; });
  demoProc.stderr.on('data', (d) => { demoOutput += d; });
  const file = path.join(workDir, 'demo', 'demo.json');
  await waitFor(() => {
    if (demoProc.exitCode !== null) throw new Error(`keelson demo exited ${demoProc.exitCode}:\n${demoOutput}`);
    return fs.existsSync(file);
  }, {timeout: 90000, what: 'demo.json'});
  demo = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(demo.api_key, apiKey);

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // A fresh profile per launch is Playwright's default; these keep chromium off the network
    // it does not have here.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({viewport: {width: 1360, height: 860}, colorScheme: 'light'});
  page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  await stopDemo();
  if (process.exitCode && demoOutput) console.log(`--- keelson demo output ---\n${demoOutput}`);
  if (!process.env.KEELSON_SCREENSHOTS_DIR) fs.rmSync(workDir, {recursive: true, force: true});
  else fs.rmSync(path.join(workDir, 'demo'), {recursive: true, force: true});
});

// ---- the tests ----------------------------------------------------------------------------

test('a wrong key is refused; the right one signs in and the header names it', {skip: skip || false}, async () => {
  await page.goto(demo.console);
  await page.fill('[data-testid=login-key]', 'not-the-key');
  await page.click('[data-testid=login-submit]');
  await page.waitForSelector('[data-testid=login-refused]');
  assert.match(await text('[data-testid=login-refused]'), /refused/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('keelson.apiKey')), null);
  await shot('login');

  await page.fill('[data-testid=login-key]', apiKey);
  await page.click('[data-testid=login-submit]');
  await page.waitForSelector('[data-testid=card-orders-total]');
  assert.equal(await text('[data-testid=whoami-name]'), 'demo');
  assert.deepEqual(await page.locator('[data-testid=whoami-scope]').allTextContents(), ['ops']);
  // The overview shows the server's figures: 30 streamed + the parked one + the backfilled one.
  const overview = (await ops('/ops/overview')).json;
  assert.equal(overview.orders.total, 32);
  assert.equal(await text('[data-testid=card-orders-total-value]'), '32');
  assert.equal(await text('[data-testid=card-dead-letters-value]'), String(overview.jobs.dead));
});

test('an order found by its reference shows its timeline across systems', {skip: skip || false}, async () => {
  await go('/orders', '[data-testid=order-row]');
  assert.equal(await count('[data-testid=order-row]'), 32);
  await shot('orders');

  await page.fill('[data-testid=orders-search]', demo.first_order);
  await page.press('[data-testid=orders-search]', 'Enter');
  await waitFor(async () => (await count('[data-testid=order-row]')) === 1 &&
                            (await page.getAttribute('[data-testid=order-row]', 'data-ref')) === demo.first_order,
                {what: `one row for ${demo.first_order}`});
  await page.click(`[data-testid=order-row] a[data-ref="${demo.first_order}"]`);
  await page.waitForSelector('[data-testid=timeline-entry]');
  assert.equal(await text('[data-testid=order-ref]'), demo.first_order);

  const erpNumber = await text('[data-testid=order-erp-number]');
  assert.match(erpNumber, /^S-ORD\d+$/);
  assert.ok(await count('[data-testid=timeline-entry][data-kind="webhook.received"][data-system=woocommerce]') >= 1,
            'a webhook.received entry from the shop');
  const created = page.locator('[data-testid=timeline-entry][data-kind="erp.order_created"]');
  assert.equal(await created.count(), 1);
  assert.equal(await created.getAttribute('data-system'), 'erp');
  assert.match(await created.textContent(), new RegExp(`erp_number=${erpNumber}`));
  // Exactly one sales order in the ERP for it.
  const inErp = await http('GET', `${demo.erp.sim}/_sim/salesOrders?externalDocumentNumber=${encodeURIComponent(demo.first_order)}`);
  assert.equal(inErp.json.count, 1);
  assert.ok(await count('[data-testid=order-line]') >= 1);
  await shot('order');
});

test('the parked order is replayed from the dead letters once the ERP knows its item', {skip: skip || false}, async () => {
  const parked = demo.parked_order;
  await go('/dead-letters', '[data-testid=dlq-row]');
  const row = page.locator(`[data-testid=dlq-row][data-ref="${parked}"]`);
  assert.equal(await count('[data-testid=dlq-row]'), 1);
  assert.equal(await row.getAttribute('data-kind'), 'order.erp_create');
  assert.match(await row.textContent(), /unknown SKU 'NEW-ITEM'/);
  await shot('dead-letters');

  const jobId = await row.getAttribute('data-job');
  const added = await http('POST', `${demo.erp.sim}/_sim/items`, {number: 'NEW-ITEM', displayName: 'New item', unitPrice: 9.99});
  assert.equal(added.status, 201);
  await row.locator('[data-testid=dlq-replay]').click();
  await row.locator('[data-testid=dlq-done]').waitFor();

  // It leaves the dead list for good: the job ran, the order is in the ERP.
  await waitFor(async () => {
    await page.reload();
    await page.waitForSelector('[data-testid=dlq-table]');
    return (await count(`[data-testid=dlq-row][data-ref="${parked}"]`)) === 0;
  }, {timeout: 30000, interval: 1000, what: `${parked} to leave the dead letters`});
  assert.match(await text('[data-testid=dlq-table]'), /No dead letters/);

  const [store, id] = parked.split(':');
  await go(`/orders/${store}/${id}`, '[data-testid=timeline-entry]');
  assert.match(await text('[data-testid=order-erp-number]'), /^S-ORD\d+$/);
  assert.equal(await count('[data-testid=timeline-entry][data-kind="erp.order_created"]'), 1);
  const inErp = await http('GET', `${demo.erp.sim}/_sim/salesOrders?externalDocumentNumber=${encodeURIComponent(parked)}`);
  assert.equal(inErp.json.count, 1);
  // The order page lists the job, done now.
  assert.equal(await page.getAttribute(`[data-testid=job-row][data-job="${jobId}"]`, 'data-state'), 'done');
  replayedJob = jobId;
});

test('with the ERP down, a new paid order appears as a paid_not_in_erp breach', {skip: skip || false}, async () => {
  const down = await http('POST', `${demo.erp.sim}/_sim/faults`, {outage: true});
  assert.equal(down.status, 200);
  try {
    const created = await http('POST', `${demo.woocommerce}/_sim/orders`, {
      status: 'processing', email: 'late@example.com',
      lines: [{sku: 'WID-BLUE', quantity: 1, price: '19.99'}],
    });
    assert.equal(created.status, 201);
    const ref = `main:${created.json.id}`;

    await go('/stuck', '[data-testid=alert-row-paid_not_in_erp]');
    // Demo thresholds: 10 s, evaluated every 2 s; the page refreshes every 3 s.
    await page.waitForSelector(`[data-testid=alert-row-paid_not_in_erp] [data-testid=alert-sample][data-ref="${ref}"]`,
                               {timeout: 40000});
    assert.match(await text('[data-testid=alert-count-paid_not_in_erp]'), /breach\s*1$/);
    // The header counts breaches too (every 5 s).
    await page.waitForSelector('[data-testid=nav-breaches]:not([hidden])', {timeout: 10000});
    await shot('stuck');

    await page.click('[data-testid=alert-row-paid_not_in_erp] a[href="#/stuck/paid_not_in_erp"]');
    await page.waitForSelector(`[data-testid=stuck-item][data-ref="${ref}"]`);
    assert.equal(await count('[data-testid=stuck-item]'), 1);

    // Connectors show the ERP failing while it is down.
    await go('/connectors', '[data-testid=connector][data-connector=erp]');
    await waitFor(async () => Number((await text('[data-testid=connector][data-connector=erp] [data-testid=endpoint-row] td:nth-child(6)')).replace(/,/g, '')) > 0,
                  {timeout: 20000, what: 'ERP failures on the connectors page'});
    await shot('connectors');
  } finally {
    await http('POST', `${demo.erp.sim}/_sim/faults`, {clear: true, outage: false});
  }
  // Once the ERP answers again, the order goes through and the breach ends.
  await go('/stuck/paid_not_in_erp', '[data-testid=stuck-items]');
  await page.waitForSelector('[data-testid=stuck-items] tr.empty', {timeout: 60000});
  assert.equal(await count('[data-testid=stuck-item]'), 0);
});

test('a connector is paused with a reason and resumed from its page', {skip: skip || false}, async () => {
  await go('/connectors', '[data-testid=connector][data-connector=woocommerce]');
  const woo = page.locator('[data-testid=connector][data-connector=woocommerce]');
  await woo.locator('[data-testid=connector-pause]').click();
  await page.fill('[data-testid=pause-dialog-input]', 'browser test: shop maintenance');
  await page.click('[data-testid=pause-dialog-confirm]');
  await woo.locator('[data-testid=connector-resume]').waitFor();
  assert.equal((await woo.locator('[data-testid=connector-state]').textContent()).trim(), 'paused');
  assert.match(await woo.textContent(), /browser test: shop maintenance/);
  const held = (await ops('/ops/connectors')).json.items.find((c) => c.connector === 'woocommerce');
  assert.equal(held.paused, true);

  await woo.locator('[data-testid=connector-resume]').click();
  await woo.locator('[data-testid=connector-pause]').waitFor();
  const released = (await ops('/ops/connectors')).json.items.find((c) => c.connector === 'woocommerce');
  assert.equal(released.paused, false);
});

test('a dead letter is discarded with a reason, from the dead-letter page', {skip: skip || false}, async () => {
  // An order for an item no ERP will ever know: parked as a business exception.
  const created = await http('POST', `${demo.woocommerce}/_sim/orders`, {
    status: 'processing', lines: [{sku: 'GHOST-1', quantity: 1, price: '5.00'}],
  });
  assert.equal(created.status, 201);
  const ref = `main:${created.json.id}`;
  const dead = await waitFor(async () => (await ops('/ops/dead-letters')).json.items.find((j) => j.ref === ref),
                             {timeout: 20000, what: `a dead letter for ${ref}`});

  // Its order page shows the dead job with a replay button.
  await go(`/orders/main/${created.json.id}`, `[data-testid=job-row][data-job="${dead.id}"]`);
  assert.equal(await page.getAttribute(`[data-testid=job-row][data-job="${dead.id}"]`, 'data-state'), 'dead');
  assert.equal(await count(`[data-testid=job-row][data-job="${dead.id}"] [data-testid=job-replay]`), 1);

  await go('/dead-letters', `[data-testid=dlq-row][data-job="${dead.id}"]`);
  const row = page.locator(`[data-testid=dlq-row][data-job="${dead.id}"]`);
  await row.locator('[data-testid=dlq-discard]').click();
  await page.waitForSelector('[data-testid=discard-dialog]');
  assert.equal(await page.isDisabled('[data-testid=discard-dialog-confirm]'), true, 'a reason is required');
  await page.fill('[data-testid=discard-dialog-input]', 'test order for an item we never sell');
  await page.click('[data-testid=discard-dialog-confirm]');
  await row.locator('[data-testid=dlq-done]').waitFor();
  assert.equal((await row.locator('[data-testid=dlq-done]').textContent()).trim(), 'discarded');

  await page.reload();
  await page.waitForSelector('[data-testid=dlq-table]');
  assert.equal(await count(`[data-testid=dlq-row][data-job="${dead.id}"]`), 0);
  await go('/dead-letters?reason=discarded', `[data-testid=dlq-row][data-job="${dead.id}"]`);
  assert.equal(await count('[data-testid=dlq-row]'), 1);
});

test('drift shows the latest reconciliation and a drifted SKU corrected on demand', {skip: skip || false}, async () => {
  await go('/drift', '[data-testid=drift-run]');
  const before = await text('[data-testid=drift-run]');
  assert.equal(await text('[data-testid=drift-scanned] .card-value'), '3');  // the shop's 3 SKUs
  // Someone edits the shop's stock by hand; the next reconciliation finds and corrects it.
  const shopStock = async () => (await http('GET', `${demo.woocommerce}/_sim/products/stock?sku=GADGET-1`)).json;
  const published = (await shopStock()).stock_quantity;
  const edited = await http('PUT', `${demo.woocommerce}/_sim/products/stock`, {sku: 'GADGET-1', stock_quantity: 7});
  assert.equal(edited.status, 200);
  await page.click('[data-testid=drift-reconcile]');
  await waitFor(async () => (await text('[data-testid=drift-run]')) !== before,
                {timeout: 20000, what: 'a new reconciliation run'});
  await page.waitForSelector('[data-testid=drift-row][data-sku="GADGET-1"]');
  assert.equal(await count('[data-testid=drift-row]'), 1);
  assert.equal(await text('[data-testid=drift-drifted] .card-value'), '1');
  const cells = await page.locator('[data-testid=drift-row][data-sku="GADGET-1"] td').allTextContents();
  assert.deepEqual(cells.slice(0, 4).map((c) => c.replace(/\s+/g, ' ').trim()),
                   ['GADGET-1', `${published} instock`, '7 instock', 'corrected']);
  await waitFor(async () => (await shopStock()).stock_quantity === published,
                {timeout: 20000, what: `GADGET-1 back to ${published} in the shop`});
  await shot('drift');
});

test('the audit log names the key behind each action', {skip: skip || false}, async () => {
  await go('/audit', '[data-testid=audit-row]');
  const rows = await page.locator('[data-testid=audit-row]').evaluateAll(
    (trs) => trs.map((tr) => ({action: tr.dataset.action, text: tr.textContent})));
  assert.deepEqual(rows.slice(0, 4).map((r) => r.action),
                   ['dead_letter.replay', 'connector.pause', 'connector.resume', 'dead_letter.discard']);
  assert.match(rows[0].text, new RegExp(`demo.*job:${replayedJob}\\b`));
  assert.match(rows[1].text, /demo.*connector:woocommerce.*browser test: shop maintenance/);
  assert.match(rows[3].text, /demo.*test order for an item we never sell/);
  await shot('audit');

  // Last: the overview, with half a minute of samples in its charts.
  await go('/overview', '[data-testid=card-orders-total]');
  await page.waitForSelector('[data-testid=chart-webhooks] svg', {timeout: 20000});
  await shot('overview');
  assert.deepEqual(pageErrors, [], 'no script errors on any page');
});
