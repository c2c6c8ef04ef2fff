// End-to-end: the real server (`edgehmi serve --demo`) and the page in headless Chromium.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeServer, launchBrowser, maybeServeDist, outDir, sleep, until } from './harness.mjs';

const VIEWPORT = { width: 1280, height: 800 };
const mimic = (tag) => `.mimic [data-tag="${tag}"]`;

let server;
let browser;

/** A fresh page on the overview, with the write requests it makes recorded. */
async function openPage() {
  const context = await browser.newContext({ viewport: VIEWPORT });
  await maybeServeDist(context, server.base);
  const page = await context.newPage();
  const writes = [];
  const errors = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && /\/api\/v1\/tags\/.+\/write$/.test(r.url())) writes.push(r.url());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.base + '/');
  await page.waitForSelector('[data-testid="user-name"]', { timeout: 15000 });
  await page.waitForSelector('.app[data-link="live"]', { timeout: 15000 });
  return { page, context, writes, errors };
}

async function text(page, selector) {
  return (await page.textContent(selector, { timeout: 5000 }))?.trim() ?? '';
}

async function number(page, tag) {
  const t = await text(page, mimic(tag));
  const v = Number.parseFloat(t);
  assert.ok(Number.isFinite(v), `${tag} shows a number, got ${JSON.stringify(t)}`);
  return v;
}

async function openSetpointDialog(page) {
  await page.click('[data-testid="setpoint-TIC101.SP"]');
  await page.waitForSelector('[data-testid="write-dialog"][data-tag="TIC101.SP"]', { timeout: 5000 });
  const focused = await page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
  assert.equal(focused, 'value-input', 'the value input has the focus');
}

async function typeValue(page, value) {
  await page.keyboard.press('Control+A');
  await page.keyboard.type(String(value));
}

/** POST JSON from the page (its session cookie, same origin): [status, answer]. */
async function post(page, path, body = {}) {
  return page.evaluate(
    async ([p, b]) => {
      const r = await fetch(p, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(b),
      });
      return [r.status, await r.text()];
    },
    [path, body],
  );
}

async function getJSON(page, path) {
  return page.evaluate(async (p) => (await fetch(p, { credentials: 'same-origin' })).json(), path);
}

async function tagValue(page, name) {
  return (await getJSON(page, `/api/v1/tags/${encodeURIComponent(name)}`)).value;
}

async function alarmState(page, name) {
  return (await getJSON(page, '/api/v1/alarms?all=1')).find((a) => a.name === name);
}

/**
 * Makes the demo's tank level go high (T101.LevelHi, limit 85): the operator
 * opens inlet valve XV101 and stops pump P101. The plant's PLC program acts
 * on the 80 % crossing only (closes the valve, starts the pump), so the
 * operator does it again after that. Once the alarm is active the valve is
 * closed, so the level stays above 85 % and below the latched high-high
 * alarm's 95 %.
 */
async function provokeLevelHigh(page) {
  assert.ok(await alarmState(page, 'T101.LevelHi'), 'the demo has the alarm T101.LevelHi');
  await until(
    async () => {
      if ((await alarmState(page, 'T101.LevelHi')).active) {
        const [st, body] = await post(page, '/api/v1/tags/XV101.Open/write', { value: false, reason: 'e2e: hold the level' });
        assert.equal(st, 200, `write XV101.Open: ${body}`);
        return true;
      }
      // Filling by hand: valve open, pump stopped; again whenever the PLC undid it.
      if ((await tagValue(page, 'XV101.Open')) !== true || (await tagValue(page, 'P101.Running')) !== false) {
        for (const [tag, value] of [
          ['XV101.Open', true],
          ['P101.Running', false],
        ]) {
          const [st, body] = await post(page, `/api/v1/tags/${tag}/write`, { value, reason: 'e2e: fill the tank' });
          assert.equal(st, 200, `write ${tag}: ${body}`);
        }
      }
      return false;
    },
    { timeout: 60000, interval: 250, what: 'T101.LevelHi to activate (the tank filled by hand)' },
  );
}

/** Back to the plant's own cycle: the pump drains, the PLC refills at 20 %. */
async function restoreLevel(page) {
  await post(page, '/api/v1/tags/P101.Running/write', { value: true, reason: 'e2e: back to normal' }).catch(() => {});
  await post(page, '/api/v1/tags/XV101.Open/write', { value: false, reason: 'e2e: back to normal' }).catch(() => {});
}

const bannerRow = (name) => `[data-testid="banner-row"][data-alarm="${name}"]`;
const summaryRow = (name) => `[data-testid="alarm-row"][data-alarm="${name}"]`;

describe('edgehmi web UI against the demo server', { timeout: 300000 }, () => {
  before(async () => {
    server = new EdgeServer();
    await server.start();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop();
    server?.cleanup();
  });

  test('(a) loads in demo mode as operator and shows live values', async () => {
    const { page, context, errors } = await openPage();
    try {
      await page.waitForSelector('[data-testid="demo-badge"]', { state: 'visible' });
      assert.equal(await text(page, '[data-testid="demo-badge"]'), 'DEMO');
      assert.equal(await text(page, '[data-testid="user-name"]'), 'operator');
      assert.equal(await text(page, '[data-testid="user-role"]'), 'operator');
      assert.match(await text(page, '[data-testid="project"]'), /\S/, 'project name shown');

      for (const tag of ['T101.Level', 'XV101.Open', 'P101.Running', 'TIC101.PV', 'TIC101.SP', 'TIC101.OUT', 'CV201.Speed', 'CV201.Count', 'CV201.Running']) {
        const q = await page.getAttribute(mimic(tag), 'data-quality');
        assert.ok(['good', 'uncertain', 'bad'].includes(q), `${tag} carries data-quality (got ${q})`);
      }
      await page.waitForSelector(`${mimic('T101.Level')}[data-quality="good"]`, { timeout: 10000 });
      const first = await text(page, mimic('T101.Level'));
      assert.match(first, /%/, 'level shows its unit');
      await until(async () => (await text(page, mimic('T101.Level'))) !== first, {
        timeout: 15000,
        what: `T101.Level to change from ${first}`,
      });
      mkdirSync(outDir, { recursive: true });
      await page.screenshot({ path: join(outDir, 'overview.png'), animations: 'disabled' });
      assert.deepEqual(errors, [], 'no uncaught page errors');
    } finally {
      await context.close();
    }
  });

  test('(b) setpoint change with confirm: read-back shown and PV follows', async () => {
    const { page, context, writes } = await openPage();
    try {
      const sp0 = await number(page, 'TIC101.SP');
      const pv0 = await number(page, 'TIC101.PV');
      // 75 unless that is too close to where the loop already is.
      const target = Math.abs(pv0 - 75) >= 8 && Math.abs(sp0 - 75) >= 1 ? 75 : pv0 > 55 ? 40 : 90;

      await openSetpointDialog(page);
      await typeValue(page, target);
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="write-dialog"][data-step="confirm"]');
      const question = await text(page, '[data-testid="confirm-text"]');
      assert.match(question, new RegExp(`Change TIC101\\.SP from [\\d.]+ to ${target}\\.0 °C\\?`), question);
      assert.equal(writes.length, 0, 'nothing written before confirming');
      const focused = await page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
      assert.equal(focused, 'confirm', 'Confirm has the focus');

      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="write-dialog"]', { state: 'detached', timeout: 15000 });
      assert.equal(writes.length, 1, 'exactly one write');
      await until(async () => Math.abs((await number(page, 'TIC101.SP')) - target) < 0.05, {
        timeout: 5000,
        what: `TIC101.SP to show ${target}`,
      });
      assert.equal(await text(page, mimic('TIC101.SP')), `${target}.0°C`);

      const d0 = Math.abs((await number(page, 'TIC101.PV')) - target);
      await until(async () => Math.abs((await number(page, 'TIC101.PV')) - target) <= d0 - 2, {
        timeout: 30000,
        interval: 500,
        what: `TIC101.PV to get 2 °C closer to ${target} (distance was ${d0.toFixed(2)})`,
      });
    } finally {
      await context.close();
    }
  });

  test('(c) Esc cancels without writing; out-of-limits input is refused', async () => {
    const { page, context, writes } = await openPage();
    try {
      const sp0 = await text(page, mimic('TIC101.SP'));

      // Esc in the entry step closes without writing.
      await openSetpointDialog(page);
      await typeValue(page, 80);
      await page.keyboard.press('Escape');
      await page.waitForSelector('[data-testid="write-dialog"]', { state: 'detached', timeout: 3000 });

      // Esc in the confirm step goes back; a second Esc closes.
      await openSetpointDialog(page);
      await typeValue(page, 81);
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="write-dialog"][data-step="confirm"]');
      await page.keyboard.press('Escape');
      await page.waitForSelector('[data-testid="write-dialog"][data-step="edit"]');
      await page.keyboard.press('Escape');
      await page.waitForSelector('[data-testid="write-dialog"]', { state: 'detached', timeout: 3000 });

      // Out of limits (20 … 110 °C): an inline error, no confirm step, no write.
      await openSetpointDialog(page);
      await typeValue(page, 500);
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="write-error"]', { state: 'visible' });
      assert.match(await text(page, '[data-testid="write-error"]'), /110/);
      assert.equal(await page.getAttribute('[data-testid="write-dialog"]', 'data-step'), 'edit');
      await typeValue(page, 'abc');
      await page.keyboard.press('Enter');
      assert.match(await text(page, '[data-testid="write-error"]'), /not a number/);
      await page.keyboard.press('Escape');
      await page.waitForSelector('[data-testid="write-dialog"]', { state: 'detached', timeout: 3000 });

      await sleep(1000);
      assert.equal(writes.length, 0, 'no write request was sent');
      assert.equal(await text(page, mimic('TIC101.SP')), sp0, 'SP unchanged');
    } finally {
      await context.close();
    }
  });

  test('(d) server stop: connection-lost banner and greyed values; restart: recovers', async () => {
    const { page, context } = await openPage();
    try {
      assert.equal(await page.$('[data-testid="comm-lost"]'), null, 'no banner while connected');
      const st = await server.stop();
      assert.ok(st, 'server stopped');

      await page.waitForSelector('[data-testid="comm-lost"]', { state: 'visible', timeout: 10000 });
      assert.match(await text(page, '[data-testid="comm-lost"]'), /Connection to server lost — reconnecting/);
      await page.waitForSelector('.app.stale');
      const fill = await page.$eval(mimic('T101.Level'), (el) => getComputedStyle(el).fill);
      assert.equal(fill, 'rgb(160, 160, 160)', 'values greyed');
      await page.screenshot({ path: join(outDir, 'comm-lost.png'), animations: 'disabled' });

      await sleep(1500);
      await server.start();
      await page.waitForSelector('[data-testid="comm-lost"]', { state: 'detached', timeout: 20000 });
      await page.waitForSelector('.app:not(.stale)', { timeout: 5000 });
      const v = await text(page, mimic('T101.Level'));
      await until(async () => (await text(page, mimic('T101.Level'))) !== v, {
        timeout: 15000,
        what: 'T101.Level to update after the restart',
      });
    } finally {
      await context.close();
    }
  });

  test('(e) log in as another user: role shown, writes disabled for a viewer, audit needs a login', async () => {
    const { page, context, writes } = await openPage();
    try {
      await page.click('[data-testid="user-badge"]');
      await page.waitForSelector('text=the password is the user name');
      await page.fill('input[name="user"]', 'viewer');
      await page.fill('input[name="password"]', 'wrong');
      await page.keyboard.press('Enter');
      await page.waitForSelector('.pop [role="alert"]', { timeout: 5000 });
      assert.equal(await text(page, '[data-testid="user-name"]'), 'operator', 'still operator after a failed login');

      await page.fill('input[name="password"]', 'viewer');
      await page.keyboard.press('Enter');
      await until(async () => (await text(page, '[data-testid="user-role"]')) === 'viewer', { what: 'role viewer' });
      assert.equal(await text(page, '[data-testid="user-name"]'), 'viewer');
      assert.match((await page.getAttribute('[data-testid="setpoint-TIC101.SP"]', 'class')) ?? '', /disabled/);
      // aria-disabled makes Playwright wait for an enabled element: force the click.
      await page.click('[data-testid="setpoint-TIC101.SP"]', { force: true });
      await sleep(300);
      assert.equal(await page.$('[data-testid="write-dialog"]'), null, 'no dialog for a viewer');
      await page.click('nav >> text=Tags');
      await page.waitForSelector('tr[data-tag="TIC101.SP"]');
      assert.equal(await page.isDisabled('[data-testid="set-TIC101.SP"]'), true, 'Set… disabled for a viewer');
      assert.match((await page.getAttribute('[data-testid="set-TIC101.SP"]', 'title')) ?? '', /Needs role operator/, 'says which role is needed');
      assert.equal(writes.length, 0);

      await page.click('[data-testid="user-badge"]');
      await page.click('[data-testid="logout"]');
      await page.waitForSelector('text=Not logged in');

      // Logged out: the audit screen asks for a login instead of showing entries.
      await page.click('[data-testid="tab-audit"]');
      await page.waitForSelector('[data-testid="audit-login-note"]', { timeout: 5000 });
      assert.equal(await page.$('[data-testid="audit-row"]'), null, 'no audit rows when logged out');
    } finally {
      await context.close();
    }
  });

  test('(f) a setpoint write shows in the audit trail with old and new value, and exports as CSV', async () => {
    const { page, context, errors } = await openPage();
    try {
      const sp0 = await number(page, 'TIC101.SP');
      const target = Math.abs(sp0 - 55) >= 1 ? 55 : 65;
      await openSetpointDialog(page);
      await typeValue(page, target);
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="write-dialog"][data-step="confirm"]');
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="write-dialog"]', { state: 'detached', timeout: 15000 });

      await page.click('[data-testid="tab-audit"]');
      const rowSel = '[data-testid="audit-row"][data-source="TIC101.SP"][data-action="write"]';
      await page.waitForSelector(rowSel, { timeout: 10000 });
      const rows = await page.$$eval(rowSel, (els) =>
        els.map((el) => ({
          old: el.querySelector('[data-field="old"]')?.textContent?.trim() ?? '',
          new: el.querySelector('[data-field="new"]')?.textContent?.trim() ?? '',
          failed: el.getAttribute('data-failed'),
        })),
      );
      // Newest first: this write is the first TIC101.SP write in the list.
      const mine = rows[0];
      assert.ok(mine, 'a TIC101.SP write row');
      assert.ok(Math.abs(Number.parseFloat(mine.old) - sp0) < 0.051, `old ${mine.old} is the previous setpoint ${sp0} (rows: ${JSON.stringify(rows.slice(0, 3))})`);
      assert.ok(Math.abs(Number.parseFloat(mine.new) - target) < 1e-9, `new ${mine.new} is ${target}`);
      assert.equal(mine.failed, null, 'the write is not marked failed');

      // Filters go to the server: object and action narrow the list.
      await page.fill('[data-testid="audit-source"]', 'TIC101.SP');
      await page.fill('[data-testid="audit-action"]', 'write');
      await page.keyboard.press('Enter');
      await until(
        async () => {
          const r = await page.$$eval('[data-testid="audit-row"]', (els) => els.map((e) => `${e.getAttribute('data-source')}/${e.getAttribute('data-action')}`));
          return r.length > 0 && r.every((x) => x === 'TIC101.SP/write');
        },
        { timeout: 5000, what: 'only TIC101.SP writes listed' },
      );

      // Export CSV: a download of the same filter.
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), page.click('[data-testid="audit-export"]')]);
      assert.match(download.suggestedFilename(), /\.csv$/, download.suggestedFilename());
      const csv = readFileSync(await download.path(), 'utf8');
      // No quoted commas in these rows: a plain split is enough.
      const [head, ...body] = csv.split(/\r?\n/).filter(Boolean).map((l) => l.split(','));
      const want = ['time', 'user', 'address', 'action', 'object', 'old', 'new', 'readback', 'reason', 'result'];
      const col = Object.fromEntries(want.map((c) => [c, head.indexOf(c)]));
      assert.ok(
        want.every((c, i) => col[c] >= 0 && (i === 0 || col[c] > col[want[i - 1]])),
        `CSV header has ${want.join(',')} in this order: ${head.join(',')}`,
      );
      const rec = body.find((r) => r[col.action] === 'write' && r[col.object] === 'TIC101.SP');
      assert.ok(rec, `a TIC101.SP write line in:\n${csv.slice(0, 600)}`);
      assert.ok(Math.abs(Number.parseFloat(rec[col.new]) - target) < 1e-9, `CSV new value ${rec[col.new]} is ${target}`);
      assert.ok(Math.abs(Number.parseFloat(rec[col.old]) - sp0) < 0.051, `CSV old value ${rec[col.old]} is ${sp0}`);
      assert.ok(!Number.isNaN(Date.parse(rec[col.time])), `time ${rec[col.time]} is a date`);
      assert.ok(body.every((r) => r[col.action] === 'write' && r[col.object] === 'TIC101.SP'), 'the export has the filter of the screen');

      // Clear the filters for the screenshot; a failed login is marked.
      await page.click('[data-testid="audit-clear"]');
      await page.waitForSelector('[data-testid="audit-row"][data-action="login"]', { timeout: 5000 });
      for (const x of await page.$$('.toasts button[aria-label="Dismiss"]')) await x.click().catch(() => {});
      await page.mouse.move(0, 0);
      mkdirSync(outDir, { recursive: true });
      await page.screenshot({ path: join(outDir, 'audit.png'), animations: 'disabled' });
      // A row opens its details (every field, unabridged).
      await page.click(`${rowSel} >> nth=0`);
      await page.waitForSelector('[data-testid="audit-details"]');
      assert.match(await text(page, '[data-testid="audit-details"]'), /TIC101\.SP/);
      await page.screenshot({ path: join(outDir, 'audit-details.png'), animations: 'disabled' });
      assert.deepEqual(errors, [], 'no uncaught page errors');
    } finally {
      await context.close();
    }
  });

  test('(g) a viewer: setpoint control disabled, the server refuses a direct write with 403, audit visible', async () => {
    const { page, context } = await openPage();
    try {
      await page.click('[data-testid="user-badge"]');
      await page.fill('input[name="user"]', 'viewer');
      await page.fill('input[name="password"]', 'viewer');
      await page.keyboard.press('Enter');
      await until(async () => (await text(page, '[data-testid="user-role"]')) === 'viewer', { what: 'role viewer' });
      assert.equal(await page.getAttribute('[data-testid="setpoint-TIC101.SP"]', 'aria-disabled'), 'true', 'setpoint control disabled');
      assert.match((await page.getAttribute('[data-testid="setpoint-TIC101.SP"]', 'aria-label')) ?? '', /Needs role operator/);

      const status = await page.evaluate(async () => {
        const r = await fetch('/api/v1/tags/TIC101.SP/write', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
          body: JSON.stringify({ value: 50 }),
        });
        return r.status;
      });
      assert.equal(status, 403, 'a viewer may not write');

      await page.click('[data-testid="tab-audit"]');
      await page.waitForSelector('[data-testid="audit-row"][data-action="login"]', { timeout: 10000 });
      assert.equal(await page.$('[data-testid="audit-login-note"]'), null);
    } finally {
      await context.close();
    }
  });

  test('(h) idle logout: countdown, input keeps the session, then logout without demo auto-login', async () => {
    // The demo serves ui_idle_logout_s 0; this page is told 8 s (warning in the last 4 s).
    const context = await browser.newContext({ viewport: VIEWPORT });
    await maybeServeDist(context, server.base);
    await context.route('**/api/v1/info', async (route) => {
      const r = await route.fetch();
      const info = await r.json();
      await route.fulfill({ response: r, json: { ...info, ui_idle_logout_s: 8 } });
    });
    const page = await context.newPage();
    try {
      await page.goto(server.base + '/');
      await page.waitForSelector('[data-testid="user-name"]', { timeout: 15000 });
      await page.waitForSelector('[data-testid="idle-warning"]', { timeout: 10000 });
      assert.match(await text(page, '[data-testid="idle-warning"]'), /^Logging out in \d s — touch to stay$/);
      await page.mouse.move(200, 300);
      await page.waitForSelector('[data-testid="idle-warning"]', { state: 'detached', timeout: 2000 });
      assert.equal(await text(page, '[data-testid="user-name"]'), 'operator', 'input kept the session');

      await page.waitForSelector('[data-testid="user-panel"] input[name="user"]', { timeout: 15000 });
      await page.waitForSelector('text=Not logged in');
      assert.equal(await page.$('[data-testid="idle-warning"]'), null);
      await sleep(1500);
      assert.equal(await page.$('[data-testid="user-name"]'), null, 'demo mode does not log in again by itself');
      const me = await page.evaluate(async () => (await fetch('/api/v1/me', { credentials: 'same-origin' })).status);
      assert.equal(me, 401, 'the server session is gone');
      // A new page load logs in as operator again (demo mode).
      await page.reload();
      await page.waitForSelector('[data-testid="user-name"]', { timeout: 15000 });
      assert.equal(await text(page, '[data-testid="user-name"]'), 'operator');
    } finally {
      await context.close();
    }
  });

  test('(i) diagnostics: one row per device with its link, and the counters refresh', async () => {
    const { page, context, errors } = await openPage();
    const row = (name) => `[data-testid="device-row"][data-device="${name}"]`;
    const cell = (name, field) => `${row(name)} [data-field="${field}"]`;
    const count = async (name, field) => {
      const t = await text(page, cell(name, field));
      const v = Number.parseInt(t.replace(/,/g, ''), 10);
      assert.ok(Number.isFinite(v), `${name} ${field} is a count, got ${JSON.stringify(t)}`);
      return v;
    };
    try {
      await page.click('[data-testid="tab-diagnostics"]');
      assert.match(page.url(), /#\/diagnostics$/);
      await page.waitForSelector(row('plc1'), { timeout: 10000 });
      await page.waitForSelector(row('heater'));

      assert.equal(await text(page, cell('plc1', 'driver')), 'Modbus TCP');
      assert.match(await text(page, cell('plc1', 'link')), /^Connected/);
      assert.equal(await text(page, cell('heater', 'driver')), 'OPC UA');
      assert.match(await text(page, cell('heater', 'link')), /^Connected/);
      assert.equal(await text(page, cell('heater', 'p99')), '—', 'no scan time for a subscription');
      assert.match(await text(page, cell('plc1', 'last-scan')), /^\d+(\.\d+)? ms$|^—$/);
      assert.equal(await text(page, cell('heater', 'requests')), '—', 'no requests for a subscription');
      assert.equal(await text(page, cell('heater', 'rtt')), '—', 'no round trip for a subscription');
      assert.match(await text(page, cell('plc1', 'rtt')), /^(< )?\d+(\.\d+)? ms$|^—$/);
      const names = await page.$$eval('[data-testid="device-row"]', (els) => els.map((e) => e.getAttribute('data-device')));
      assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })), 'rows sorted by name');

      // Two refreshes (every 2 s): plc1's poll and request counts go up.
      const p0 = await count('plc1', 'polls');
      const r0 = await count('plc1', 'requests');
      assert.ok(r0 > 0, `plc1 has answered requests, got ${r0}`);
      const u0 = await text(page, '[data-testid="diag-updated"]');
      await until(async () => (await text(page, '[data-testid="diag-updated"]')) !== u0, { timeout: 6000, what: 'a refresh' });
      await until(async () => (await count('plc1', 'polls')) > p0, { timeout: 6000, what: `plc1 polls to rise above ${p0}` });
      await until(async () => (await count('plc1', 'requests')) > r0, { timeout: 6000, what: `plc1 requests to rise above ${r0}` });

      // Touch targets: the tab is at least 44 px.
      const tab = await page.$eval('[data-testid="tab-diagnostics"]', (el) => el.getBoundingClientRect().toJSON());
      assert.ok(tab.height >= 44 && tab.width >= 44, `tab is ${tab.width}x${tab.height}`);

      await page.mouse.move(0, 0);
      mkdirSync(outDir, { recursive: true });
      await page.screenshot({ path: join(outDir, 'diagnostics.png'), animations: 'disabled' });

      // Server gone: polling stops, the last values stay, greyed.
      await server.stop();
      await page.waitForSelector('[data-testid="diagnostics"][data-active="false"].stale', { timeout: 10000 });
      assert.ok(await page.$(row('plc1')), 'last values still shown');
      assert.match(await text(page, '[data-testid="diag-paused"]'), /Not updating/);
      await server.start();
      await page.waitForSelector('[data-testid="diagnostics"][data-active="true"]:not(.stale)', { timeout: 20000 });
      assert.deepEqual(errors, [], 'no uncaught page errors');
    } finally {
      await context.close();
    }
  });

  test('(j) engineering: an operator has no Engineering tab; an engineer browses OPC UA and gets a tag definition', async () => {
    const { page, context, errors } = await openPage();
    // The demo's OPC UA device and the simulator's nodes (backend/sim/opcua.go).
    const node = (id) => `[data-testid="opcua-node"][data-node="${id}"]`;
    const FOLDER = 'ns=2;s=TIC101';
    const PV = 'ns=2;s=TIC101.PV';
    try {
      // The demo operator: no tab, and the address says who may use the screen.
      assert.equal(await text(page, '[data-testid="user-role"]'), 'operator');
      assert.equal(await page.$('[data-testid="tab-engineering"]'), null, 'no Engineering tab for an operator');
      await page.goto(server.base + '/#/engineering');
      await page.waitForSelector('[data-testid="engineering-login-note"]', { timeout: 10000 });
      assert.equal(await page.$('[data-testid="opcua-browser"]'), null, 'no browser for an operator');

      await page.click('[data-testid="user-badge"]');
      await page.fill('input[name="user"]', 'engineer');
      await page.fill('input[name="password"]', 'engineer');
      await page.keyboard.press('Enter');
      await until(async () => (await text(page, '[data-testid="user-role"]')) === 'engineer', { what: 'role engineer' });
      await page.click('[data-testid="tab-engineering"]');
      assert.match(page.url(), /#\/engineering$/);

      // Pick the device; the Objects folder lists the plant's folder.
      await page.click('[data-testid="opcua-device"][data-device="heater"]', { timeout: 10000 });
      await page.waitForSelector(node(FOLDER), { timeout: 15000 });
      assert.equal(await page.getAttribute(node(FOLDER), 'data-expanded'), 'false');
      const box = await page.$eval(node(FOLDER), (el) => el.getBoundingClientRect().toJSON());
      assert.ok(box.height >= 40, `tree rows are touch-sized, got ${box.height} px`);

      // Expand it from the keyboard, then check the PV variable.
      await page.focus(node(FOLDER));
      await page.keyboard.press('Enter');
      await page.waitForSelector(node(PV), { timeout: 15000 });
      assert.equal(await page.getAttribute(node(FOLDER), 'aria-expanded'), 'true');
      assert.equal(await page.getAttribute(node(PV), 'data-class'), 'variable');
      assert.equal(await page.$('[data-testid="opcua-yaml"]'), null, 'no YAML before a check');
      await page.click(`${node(PV)} [data-testid="opcua-check"]`);
      await page.waitForSelector(`${node(PV)}[data-checked="true"]`, { timeout: 5000 });

      const yaml = await text(page, '[data-testid="opcua-yaml"]');
      assert.match(yaml, /^- name: /, yaml);
      assert.match(yaml, /\n\s+device: "?heater"?\n/, yaml);
      assert.match(yaml, /\n\s+address: "?ns=2;s=TIC101\.PV"?\n/, yaml);
      assert.equal(await text(page, '[data-testid="opcua-checked-count"]'), '1 checked');

      // The certificate list answers (the demo server uses no security, so it may be empty).
      await page.click('[data-testid="eng-pane-certs"]');
      await page.waitForSelector('[data-testid="cert-count"]', { timeout: 10000 });
      await page.click('[data-testid="eng-pane-browse"]');
      assert.ok(await page.$(`${node(PV)}[data-checked="true"]`), 'the check survives switching panes');

      await page.mouse.move(0, 0);
      mkdirSync(outDir, { recursive: true });
      await page.screenshot({ path: join(outDir, 'engineering.png'), animations: 'disabled' });
      assert.deepEqual(errors, [], 'no uncaught page errors');
    } finally {
      await context.close();
    }
  });

  test('(k) the level goes high, the banner shows it, the operator acknowledges with a comment, and the history shows both transitions', async () => {
    const { page, context, errors } = await openPage();
    const COMMENT = 'e2e: level checked, filling by hand';
    try {
      // Before any touch, the page may not play sound: it says so.
      await page.waitForSelector('[data-testid="horn-hint"]', { timeout: 5000 });

      await provokeLevelHigh(page);
      const row = bannerRow('T101.LevelHi');
      await page.waitForSelector(`${row}[data-unacked="true"]`, { timeout: 10000 });
      assert.match(await text(page, row), /Tank T101 level high/);
      assert.match(await text(page, row), /\d{2}:\d{2}:\d{2}/, 'with its time');
      assert.match(await text(page, row), /%/, 'with its value and unit');
      assert.equal(await page.getAttribute(`${row} .alarm-shape`, 'data-priority'), 'high', 'priority by shape');
      assert.equal(await text(page, `${row} .alarm-shape text`), '2', 'and by number');
      const high = '[data-testid="banner-count"][data-priority="high"]';
      assert.ok(Number(await page.getAttribute(high, 'data-unacked')) >= 1, 'counted as unacknowledged high');
      assert.equal(await page.getAttribute('[data-testid="horn-silence"]', 'data-horn'), 'true', 'the horn is called for');

      // The overview marker: high priority, blinking while unacknowledged.
      const marker = '[data-testid="eq-alarm"][data-equipment="T101"]';
      await page.waitForSelector(`${marker}[data-unacked="true"][data-priority="high"]`, { timeout: 5000 });
      mkdirSync(outDir, { recursive: true });
      await page.screenshot({ path: join(outDir, 'alarm-banner.png'), animations: 'disabled' });

      // A touch unlocks the sound (the hint goes); the marker opens the summary for T101.
      await page.click(marker);
      await page.waitForSelector('[data-testid="alarm-summary"]', { timeout: 5000 });
      assert.match(page.url(), /#\/alarms$/);
      assert.equal(await page.$eval('[data-testid="alarm-area"]', (el) => el.value), 'T101', 'filtered to the equipment');
      await page.waitForSelector('[data-testid="horn-hint"]', { state: 'detached', timeout: 5000 });
      assert.equal(await page.getAttribute('[data-testid="horn-silence"]', 'data-sounding'), 'true', 'the horn sounds after the touch');
      const areas = await page.$$eval('[data-testid="alarm-row"]', (els) => els.map((e) => e.getAttribute('data-alarm')));
      assert.ok(areas.length >= 1 && areas.every((n) => n.startsWith('T101.')), `only T101 alarms: ${areas}`);

      // Watch the banner row from now on: once acknowledged (or pending) it must never show unacked again.
      await page.evaluate((sel) => {
        window.__ackStates = [];
        const rec = () => {
          const el = document.querySelector(sel);
          if (!el) return;
          const s = el.getAttribute('data-pending') ? 'pending' : el.getAttribute('data-unacked') === 'true' ? 'unacked' : 'acked';
          if (window.__ackStates.at(-1) !== s) window.__ackStates.push(s);
        };
        rec();
        new MutationObserver(rec).observe(document.querySelector('[data-testid="alarm-banner"]'), { subtree: true, attributes: true, childList: true });
      }, row);

      // Ack… with a comment in the small dialog.
      await page.click(`${summaryRow('T101.LevelHi')} [data-testid="alarm-ack"]`);
      await page.waitForSelector('[data-testid="alarm-dialog"][data-action="ack"]');
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'alarm-dialog-text', 'the comment has the focus');
      await page.keyboard.type(COMMENT);
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="alarm-dialog"]', { state: 'detached', timeout: 10000 });
      await page.waitForSelector(`${row}[data-unacked="false"]:not([data-pending])`, { timeout: 10000 });
      await page.waitForSelector(`${summaryRow('T101.LevelHi')}[data-state="acked"]`, { timeout: 5000 });
      await sleep(1000);
      const seq = await page.evaluate(() => window.__ackStates);
      assert.equal(seq.at(-1), 'acked', `ends acknowledged: ${seq}`);
      assert.ok(!seq.slice(seq.findIndex((x) => x !== 'unacked')).includes('unacked'), `never back to unacked after the ack: ${seq}`);
      if (Number(await page.getAttribute('[data-testid="alarm-banner"]', 'data-unacked')) === 0) {
        assert.equal(await page.getAttribute('[data-testid="horn-silence"]', 'data-sounding'), 'false', 'the horn stops on the ack');
      }

      // The overview marker is steady now (acknowledged).
      await page.click('[data-testid="tab-overview"]');
      await page.waitForSelector(`${marker}[data-unacked="false"][data-priority="high"]`, { timeout: 5000 });

      // The history: activate and ack, newest first, with user and comment.
      await page.click('[data-testid="tab-alarms"]');
      await page.click('[data-testid="alarms-pane-history"]');
      await page.waitForSelector('[data-testid="alarm-history"]', { timeout: 10000 });
      await page.click('[data-testid="alarm-history"] [data-range="1h"]');
      await page.fill('[data-testid="history-alarm"]', 'T101.LevelHi');
      await page.keyboard.press('Enter');
      const hrow = '[data-testid="history-row"][data-alarm="T101.LevelHi"]';
      await until(
        async () => {
          const kinds = await page.$$eval(hrow, (els) => els.map((e) => e.getAttribute('data-kind')));
          return kinds.includes('ack') && kinds.includes('activate');
        },
        { timeout: 10000, what: 'activate and ack rows in the history' },
      );
      const rows = await page.$$eval(hrow, (els) =>
        els.map((e) => ({
          kind: e.getAttribute('data-kind'),
          user: e.querySelector('[data-field="user"]')?.textContent?.trim(),
          comment: e.querySelector('[data-field="comment"]')?.textContent?.trim(),
          states: e.querySelector('[data-field="states"]')?.textContent?.trim(),
          value: e.querySelector('[data-field="value"]')?.textContent?.trim(),
        })),
      );
      const ack = rows.findIndex((r) => r.kind === 'ack');
      const act = rows.findIndex((r) => r.kind === 'activate');
      assert.ok(ack < act, `newest first: the ack before the activation (${JSON.stringify(rows)})`);
      assert.equal(rows[ack].user, 'operator');
      assert.equal(rows[ack].comment, COMMENT);
      assert.match(rows[act].states, /Normal → Unack/i);
      assert.ok(Number.parseFloat(rows[act].value) >= 85, `activated at the limit or above: ${rows[act].value}`);
      await page.screenshot({ path: join(outDir, 'alarm-history.png'), animations: 'disabled' });

      // CSV export of the same filter.
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), page.click('[data-testid="history-export"]')]);
      assert.match(download.suggestedFilename(), /\.csv$/);
      const csv = readFileSync(await download.path(), 'utf8');
      assert.match(csv, /T101\.LevelHi/);
      assert.ok(csv.includes(COMMENT), 'the comment is in the CSV');
      assert.deepEqual(errors, [], 'no uncaught page errors');
    } finally {
      await context.close();
    }
  });

  test('(l) shelve: a shelved alarm leaves the banner and shows among the hidden ones; unshelve brings it back', async () => {
    const { page, context, errors } = await openPage();
    const REASON = 'e2e: level transmitter being checked';
    try {
      await provokeLevelHigh(page);
      const row = bannerRow('T101.LevelHi');
      await page.waitForSelector(row, { timeout: 10000 });

      await page.click('[data-testid="tab-alarms"]');
      await page.click('[data-testid="alarms-pane-summary"]');
      await page.fill('[data-testid="alarm-search"]', 'T101.LevelHi');
      await page.click(`${summaryRow('T101.LevelHi')} [data-testid="alarm-more-actions"]`);
      await page.waitForSelector('[data-testid="alarm-dialog"][data-action="details"]');
      await page.click('[data-testid="alarm-act-shelve"]');
      await page.waitForSelector('[data-testid="alarm-dialog"][data-action="shelve"]');
      await page.click('[data-testid="shelve-15m"]');
      // No reason: refused in the dialog, nothing sent.
      await page.click('[data-testid="alarm-dialog-confirm"]');
      assert.match(await text(page, '[data-testid="alarm-dialog-error"]'), /reason/i);
      await page.fill('[data-testid="alarm-dialog-text"]', REASON);
      await page.click('[data-testid="alarm-dialog-confirm"]');
      await page.waitForSelector('[data-testid="alarm-dialog"]', { state: 'detached', timeout: 10000 });

      // Gone from the banner and the active list; still evaluated, shown among the hidden.
      await page.waitForSelector(row, { state: 'detached', timeout: 10000 });
      await page.waitForSelector(summaryRow('T101.LevelHi'), { state: 'detached', timeout: 5000 });
      assert.equal(await page.$('[data-testid="eq-alarm"][data-equipment="T101"]'), null, 'no marker for a shelved alarm');
      await page.click('[data-testid="alarm-scope-hidden"]');
      const hidden = `${summaryRow('T101.LevelHi')}[data-flags*="shelved"]`;
      await page.waitForSelector(hidden, { timeout: 10000 });
      const flags = await text(page, `${hidden} .flags`);
      assert.match(flags, /Shelved/);
      assert.match(flags, /by operator/);
      assert.equal((await alarmState(page, 'T101.LevelHi')).shelve_reason, REASON);
      await page.screenshot({ path: join(outDir, 'alarm-hidden.png'), animations: 'disabled' });

      // Unshelve: back in the banner.
      await page.click(`${hidden} [data-testid="alarm-more-actions"]`);
      await page.click('[data-testid="alarm-act-unshelve"]');
      await page.waitForSelector('[data-testid="alarm-dialog"][data-action="unshelve"]');
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="alarm-dialog"]', { state: 'detached', timeout: 10000 });
      await page.waitForSelector(row, { timeout: 10000 });
      await page.click('[data-testid="alarm-scope-active"]');
      await page.waitForSelector(summaryRow('T101.LevelHi'), { timeout: 5000 });
      assert.deepEqual(errors, [], 'no uncaught page errors');
    } finally {
      await restoreLevel(page).catch(() => {});
      await context.close();
    }
  });

  test('(m) trends: a tag row opens its trend, the live pen moves, a drag zooms into the past and shows stored data, CSV export', async () => {
    const { page, context, errors } = await openPage();
    const chart = '[data-testid="trend-chart"]';
    const attr = async (name) => Number(await page.getAttribute(chart, name));
    try {
      await page.click('[data-testid="tab-tags"]');
      await page.click('[data-testid="trend-T101.Level"]');
      await page.waitForSelector('[data-testid="trend-pen"][data-tag="T101.Level"]', { timeout: 10000 });
      assert.match(page.url(), /#\/trends\?tags=T101\.Level$/);
      await page.waitForSelector(`${chart}[data-mode="live"] .u-over`, { timeout: 10000 });

      // Live: the last point's time advances.
      const t0 = await until(async () => (await attr('data-last-ts')) || false, { what: 'a first point of T101.Level' });
      await until(async () => (await attr('data-last-ts')) > t0, { timeout: 15000, what: 'the live pen to move' });

      // The server (fresh) records from its start: wait until it holds 20 s.
      const since = Date.now() - 600_000;
      const first = (await getJSON(page, `/api/v1/history?tag=T101.Level&from=${since}&to=${Date.now()}&points=10000`)).series[0].t[0];
      assert.ok(first > since, 'the history starts with the server');
      await until(async () => Date.now() - first > 20_000, { timeout: 30000, what: '20 s of history' });

      // Zoom: drag over [first + 2 s, now - 8 s] on the plot.
      const box = await page.locator(`${chart} .u-over`).boundingBox();
      const [from, to] = [await attr('data-from'), await attr('data-to')];
      const x = (t) => box.x + ((t - from) / (to - from)) * box.width;
      const a = first + 2000;
      const b = Date.now() - 8000;
      const answer = page.waitForResponse((r) => r.url().includes('/api/v1/history?') && r.status() === 200, { timeout: 10000 });
      await page.mouse.move(x(a), box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(x(b), box.y + box.height / 2, { steps: 8 });
      await page.mouse.up();
      await answer;
      await page.waitForSelector(`${chart}[data-mode="history"]`, { timeout: 5000 });
      const [zf, zt] = [await attr('data-from'), await attr('data-to')];
      assert.ok(Math.abs(zf - a) < 3000 && Math.abs(zt - b) < 3000, `zoomed to ${zf}..${zt}, dragged ${a}..${b}`);
      // Stored data in the past: points, the newest before the zoom's end.
      await until(async () => (await attr('data-points')) >= 5, { timeout: 10000, what: 'stored points in the zoomed range' });
      const last = await attr('data-last-ts');
      assert.ok(last <= zt && last >= zf, `the newest point ${last} lies in ${zf}..${zt}`);
      await sleep(2500);
      assert.equal(await attr('data-last-ts'), last, 'a zoomed trend does not follow live');
      // The legend shows the value under the cursor.
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      const legend = await text(page, `${chart} .u-legend .u-series:nth-child(2) .u-value`);
      assert.match(legend, /^-?\d+(\.\d+)? %$/, `legend value ${JSON.stringify(legend)}`);
      await page.screenshot({ path: join(outDir, 'trend-zoomed.png'), animations: 'disabled' });

      // Export the shown range as CSV.
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }), page.click('[data-testid="trend-export"]')]);
      assert.match(download.suggestedFilename(), /^edgehmi-history-.*\.csv$/);
      const rows = readFileSync(await download.path(), 'utf8').trim().split('\n');
      assert.equal(rows[0], 'time,tag,value,quality');
      assert.ok(rows.length > 5, `${rows.length} rows`);
      assert.match(rows[1], /^\d{4}-\d\d-\d\dT[\d:.]+Z,T101\.Level,[-\d.e]*,(good|uncertain|bad)$/);

      // From a faceplate: its tags as pens.
      await page.click('[data-testid="tab-overview"]');
      await page.click('[data-testid="open-faceplate-TIC101"]');
      await page.click('[data-testid="fp-trend"]');
      await page.waitForSelector('[data-testid="faceplate"]', { state: 'detached', timeout: 5000 });
      await until(async () => (await page.$$('[data-testid="trend-pen"]')).length === 3, { what: 'the three pens of the TIC101 faceplate' });
      assert.match(page.url(), /#\/trends\?tags=TIC101\.PV,TIC101\.SP,TIC101\.OUT$/);

      // Back to live.
      await page.click('[data-testid="trend-preset-10min"]');
      await page.waitForSelector(`${chart}[data-mode="live"]`, { timeout: 5000 });
      assert.deepEqual(errors, [], 'no uncaught page errors');
    } finally {
      await context.close();
    }
  });

  test('(n) the operator changes TIC101.SP on the faceplate, the PV follows, and the audit shows the change', async () => {
    const { page, context, errors } = await openPage();
    const spPosts = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && /\/api\/v1\/loops\/TIC101\/sp$/.test(r.url())) spPosts.push(r.url());
    });
    try {
      await page.click('[data-testid="open-faceplate-TIC101"]');
      const fp = '[data-testid="faceplate"][data-equipment="TIC101"]';
      await page.waitForSelector(fp, { timeout: 5000 });
      await page.waitForSelector('[data-testid="fp-sp-change"]:not([disabled])', { timeout: 10000 });
      const spText = async () => Number.parseFloat(await text(page, '[data-testid="fp-sp-value"]'));
      const pvText = async () => Number.parseFloat(await text(page, '[data-testid="fp-pv"]'));
      await until(async () => Number.isFinite(await spText()) && Number.isFinite(await pvText()), { what: 'SP and PV on the faceplate' });
      const sp0 = await spText();
      const pv0 = await pvText();
      const target = Math.round(sp0 <= 70 ? sp0 + 15 : sp0 - 15);
      mkdirSync(outDir, { recursive: true });
      await page.screenshot({ path: join(outDir, 'faceplate-tic101.png'), animations: 'disabled' });

      // Esc cancels the entry (no command); out-of-limits is refused in the page.
      await page.click('[data-testid="fp-sp-change"]');
      await page.waitForSelector('[data-testid="fp-sp"][data-step="editing"]');
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'fp-sp-input', 'the input has the focus');
      await typeValue(page, 150);
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="fp-sp-error"]');
      assert.match(await text(page, '[data-testid="fp-sp-error"]'), /20 to 100/);
      await page.keyboard.press('Escape');
      await page.waitForSelector('[data-testid="fp-sp"][data-step="idle"]');
      assert.ok(await page.$(fp), 'Esc in the entry does not close the faceplate');
      assert.equal(spPosts.length, 0, 'nothing sent');

      // A change of 15 °C (> confirm_delta 10): Enter, confirm (old → new), pending, read-back.
      await page.click('[data-testid="fp-sp-change"]');
      await typeValue(page, target);
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="fp-sp"][data-step="confirming"]');
      const q = await text(page, '[data-testid="fp-sp-confirm-text"]');
      assert.match(q, new RegExp(`${target}`), q);
      await page.evaluate(() => {
        const el = document.querySelector('[data-testid="fp-sp"]');
        window.__steps = [];
        new MutationObserver(() => window.__steps.push(el.getAttribute('data-step'))).observe(el, { attributes: true, attributeFilter: ['data-step'] });
      });
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="fp-sp"][data-step="done"]', { timeout: 15000 });
      const steps = await page.evaluate(() => window.__steps);
      assert.deepEqual(steps.slice(0, 2), ['pending', 'done'], `steps ${steps}`);
      assert.match(await text(page, '[data-testid="fp-sp-done"]'), new RegExp(`Read back ${target}`));
      assert.equal(spPosts.length, 1, 'one setpoint command');
      assert.equal(await spText(), target);

      // The PV follows (the loop ramps at 1 °C/s and the heater lags).
      const d0 = Math.abs(pv0 - target);
      await until(async () => Math.abs((await pvText()) - target) < d0 - 2, { timeout: 60000, interval: 500, what: `PV to move from ${pv0} toward ${target}` });
      const trendPoints = await page.$eval('[data-testid="mini-trend"] polyline[data-tag="TIC101.PV"]', (el) => Number(el.getAttribute('data-points')));
      assert.ok(trendPoints > 3, `the mini trend has PV points (${trendPoints})`);
      await page.screenshot({ path: join(outDir, 'faceplate-tic101-after.png'), animations: 'disabled' });

      // Esc closes the faceplate; the audit shows the command with old and new value.
      await page.keyboard.press('Escape');
      await page.waitForSelector(fp, { state: 'detached', timeout: 3000 });
      await page.click('[data-testid="tab-audit"]');
      const rowSel = '[data-testid="audit-row"][data-source="TIC101"][data-action="loop.sp"]';
      await page.waitForSelector(rowSel, { timeout: 10000 });
      const row = await page.$eval(rowSel, (el) => ({
        old: el.querySelector('[data-field="old"]')?.textContent?.trim() ?? '',
        new: el.querySelector('[data-field="new"]')?.textContent?.trim() ?? '',
        readback: el.querySelector('[data-field="readback"]')?.textContent?.trim() ?? '',
        failed: el.getAttribute('data-failed'),
      }));
      assert.ok(Math.abs(Number.parseFloat(row.old) - sp0) < 0.051, `old ${row.old} is ${sp0}`);
      assert.equal(Number.parseFloat(row.new), target, `new ${row.new}`);
      assert.equal(Number.parseFloat(row.readback), target, `read-back ${row.readback}`);
      assert.equal(row.failed, null);
      assert.deepEqual(errors, [], 'no uncaught page errors');
    } finally {
      await context.close();
    }
  });

  test('(o) loop mode: OUT is locked in auto; manual, then an OUT entry; back to auto', async () => {
    const { page, context, errors } = await openPage();
    try {
      await page.focus('[data-testid="open-faceplate-TIC101"]');
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="faceplate"][data-equipment="TIC101"]', { timeout: 5000 });
      await page.waitForSelector('[data-testid="fp-mode"][data-target="auto"]', { timeout: 10000 });
      assert.equal(await page.getAttribute('[data-testid="fp-out-change"]', 'disabled'), '', 'OUT locked in auto');
      assert.match(await text(page, '[data-testid="fp-out-why"]'), /manual/);

      await page.click('[data-testid="fp-mode-manual"]');
      await page.waitForSelector('[data-testid="fp-mode"][data-target="manual"]', { timeout: 5000 });
      await page.waitForSelector('[data-testid="fp-out-change"]:not([disabled])', { timeout: 5000 });
      await page.click('[data-testid="fp-out-change"]');
      await typeValue(page, 35);
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="fp-out"][data-step="done"]', { timeout: 15000 });
      const l = await getJSON(page, '/api/v1/loops/TIC101');
      assert.equal(l.target_mode, 'manual');
      assert.equal(l.out, 35);
      assert.equal(await tagValue(page, 'TIC101.OUT'), 35);
      mkdirSync(outDir, { recursive: true });
      await page.screenshot({ path: join(outDir, 'faceplate-tic101-manual.png'), animations: 'disabled' });

      await page.click('[data-testid="fp-mode-auto"]');
      await page.waitForSelector('[data-testid="fp-mode"][data-target="auto"]', { timeout: 5000 });
      await page.waitForSelector('[data-testid="fp-out-change"][disabled]', { timeout: 5000 });
      const audit = await getJSON(page, '/api/v1/events?kind=audit&limit=50');
      const list = Array.isArray(audit) ? audit : (audit.events ?? []);
      assert.ok(list.some((e) => e.action === 'loop.out' && e.new === '35'), 'loop.out audited');
      assert.ok(list.some((e) => e.action === 'loop.mode' && e.new === 'manual'), 'loop.mode audited');
      await page.click('[data-testid="fp-close"]');
      await page.waitForSelector('[data-testid="faceplate"]', { state: 'detached', timeout: 3000 });
      assert.deepEqual(errors, [], 'no uncaught page errors');
    } finally {
      await post(page, '/api/v1/loops/TIC101/mode', { mode: 'auto' }).catch(() => {});
      await context.close();
    }
  });

  test('(p) P101: a dry-run interlock the API reports disables Start with its reason; valve and conveyor faceplates; Start pulses the pump', async () => {
    const { page, context, errors } = await openPage();
    try {
      // The interlock as the server reports it while the tank is nearly empty
      // (the real condition is test (q), which needs the demo's tank to empty).
      const held = (list) =>
        list.map((i) =>
          i.name === 'P101.DryRun' ? { ...i, active: true, reason: 'T101.Level < 10 (T101.Level = 4.2)', since: Date.now() } : i,
        );
      await page.route('**/api/v1/interlocks', async (route) => {
        const res = await route.fetch();
        await route.fulfill({ response: res, json: held(await res.json()) });
      });
      await page.click('[data-testid="open-faceplate-P101"]');
      const fp = '[data-testid="faceplate"][data-equipment="P101"]';
      await page.waitForSelector(fp, { timeout: 5000 });
      await page.waitForSelector(`${fp} [data-testid="fp-state"]`);
      await page.waitForSelector('[data-testid="fp-start-button"][disabled]', { timeout: 5000 });
      const why = await text(page, '[data-testid="fp-start-why"]');
      assert.match(why, /P101\.DryRun/);
      assert.match(why, /Tank low: pump would run dry/);
      assert.match(why, /T101\.Level = 4\.2/);
      await page.waitForSelector('[data-testid="fp-interlock"][data-name="P101.DryRun"][data-active="true"]');
      assert.equal(await page.getAttribute('[data-testid="fp-stop-button"]', 'disabled'), null, 'Stop stays possible');
      mkdirSync(outDir, { recursive: true });
      await page.screenshot({ path: join(outDir, 'faceplate-p101-interlock.png'), animations: 'disabled' });

      // The interlock clears: Start (a push button) is possible again, with a confirm step.
      await page.unroute('**/api/v1/interlocks');
      await page.waitForSelector('[data-testid="fp-start-button"]:not([disabled])', { timeout: 5000 });
      await page.click('[data-testid="fp-start-button"]');
      await page.waitForSelector('[data-testid="fp-start"][data-step="confirming"]');
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid="fp-start"][data-step="done"]', { timeout: 15000 });
      assert.equal(await tagValue(page, 'P101.Running'), true);
      const audit = await getJSON(page, '/api/v1/events?kind=audit&limit=50');
      assert.ok(audit.some((e) => e.action === 'pulse' && e.source === 'P101.Start' && e.result === 'ok'), 'the press is audited');
      await page.keyboard.press('Escape');
      await page.waitForSelector(fp, { state: 'detached', timeout: 3000 });

      // The valve faceplate: the opposite of its state, confirmed, and the valve follows.
      await page.focus('[data-testid="open-faceplate-XV101"]');
      await page.keyboard.press('Enter');
      const vstate = '[data-testid="faceplate"][data-equipment="XV101"] [data-testid="fp-state"]';
      await page.waitForSelector(`${vstate}:not([data-state="unknown"])`, { timeout: 5000 });
      const open = (await page.getAttribute(vstate, 'data-state')) === 'open';
      const cmd = open ? 'fp-closevalve' : 'fp-open';
      await page.click(`[data-testid="${cmd}-button"]`);
      await page.click(`[data-testid="${cmd}-confirm"]`);
      await page.waitForSelector(`[data-testid="${cmd}"][data-step="done"]`, { timeout: 15000 });
      assert.equal(await tagValue(page, 'XV101.Open'), !open);
      await page.click('[data-testid="fp-close"]');
      await page.waitForSelector('[data-testid="faceplate"]', { state: 'detached', timeout: 3000 });
      assert.equal(
        await page.evaluate(() => document.activeElement?.getAttribute('data-testid')),
        'open-faceplate-XV101',
        'the focus returns to the equipment',
      );

      // The conveyor faceplate: state, speed entry and count.
      await page.click('[data-testid="open-faceplate-CV201"]');
      await page.waitForSelector('[data-testid="faceplate"][data-equipment="CV201"] [data-testid="fp-state"]', { timeout: 5000 });
      await page.waitForSelector('[data-testid="fp-speed-change"]:not([disabled])');
      assert.match(await text(page, '[data-testid="fp-count"]'), /\d/);
      await page.screenshot({ path: join(outDir, 'faceplate-cv201.png'), animations: 'disabled' });
      await page.keyboard.press('Escape');
      await page.waitForSelector('[data-testid="faceplate"]', { state: 'detached', timeout: 3000 });
      assert.deepEqual(errors, [], 'no uncaught page errors');
    } finally {
      await context.close();
    }
  });

});
