// End-to-end: the real server (`edgehmi serve --demo`) and the page in headless Chromium.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeServer, launchBrowser, maybeServeDist, outDir, sleep, until } from './harness.mjs';

const VIEWPORT = { width: 1280, height: 800 };
const mimic = (tag) => `svg.mimic [data-tag="${tag}"]`;

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
  await page.click('[data-testid="sp-button"]');
  await page.waitForSelector('[data-testid="write-dialog"][data-tag="TIC101.SP"]', { timeout: 5000 });
  const focused = await page.evaluate(() => document.activeElement?.getAttribute('data-testid'));
  assert.equal(focused, 'value-input', 'the value input has the focus');
}

async function typeValue(page, value) {
  await page.keyboard.press('Control+A');
  await page.keyboard.type(String(value));
}

describe('edgehmi web UI against the demo server', { timeout: 180000 }, () => {
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

  test('(e) log in as another user: role shown, writes disabled for a viewer', async () => {
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
      assert.match((await page.getAttribute('[data-testid="sp-button"]', 'class')) ?? '', /disabled/);
      await page.click('[data-testid="sp-button"]');
      await sleep(300);
      assert.equal(await page.$('[data-testid="write-dialog"]'), null, 'no dialog for a viewer');
      await page.click('nav >> text=Tags');
      await page.waitForSelector('tr[data-tag="TIC101.SP"]');
      assert.equal(await page.isDisabled('[data-testid="set-TIC101.SP"]'), true, 'Set… disabled for a viewer');
      assert.equal(writes.length, 0);

      await page.click('[data-testid="user-badge"]');
      await page.click('[data-testid="logout"]');
      await page.waitForSelector('text=Not logged in');
    } finally {
      await context.close();
    }
  });
});
