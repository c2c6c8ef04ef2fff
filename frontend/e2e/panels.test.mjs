// Operator panels and live project reload, end to end: the real server
// (`edgehmi serve --demo`) and several pages in headless Chromium, each page
// a panel (its own browser context: its own session, as separate panel PCs).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeServer, frontendDir, launchBrowser, maybeServeDist, until } from './harness.mjs';

const VIEWPORT = { width: 1280, height: 800 };
const banner = (name) => `[data-testid="banner-row"][data-alarm="${name}"]`;

let server;
let browser;

/** A panel: a fresh context on the overview, logged in (demo: as operator). */
async function openPanel() {
  const context = await browser.newContext({ viewport: VIEWPORT });
  await maybeServeDist(context, server.base);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.base + '/');
  await page.waitForSelector('[data-testid="user-name"]', { timeout: 15000 });
  await page.waitForSelector('.app[data-link="live"]', { timeout: 15000 });
  return { page, context, errors };
}

/** fetch from the page (its session): [status, parsed body]. */
async function call(page, method, path, body, type = 'application/json') {
  return page.evaluate(
    async ([m, p, b, t]) => {
      const r = await fetch(p, { method: m, credentials: 'same-origin', headers: b === undefined ? {} : { 'Content-Type': t }, body: b });
      const text = await r.text();
      try {
        return [r.status, JSON.parse(text)];
      } catch {
        return [r.status, text];
      }
    },
    [method, path, body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), type],
  );
}

async function alarm(page, name) {
  const [, list] = await call(page, 'GET', '/api/v1/alarms?all=1');
  return list.find((a) => a.name === name);
}

describe('operator panels and live project reload', { timeout: 240000 }, () => {
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

  test('two operator panels: one acknowledges an alarm, the other shows it acknowledged within a second', async () => {
    const a = await openPanel();
    const b = await openPanel();
    try {
      for (const p of [a, b]) assert.equal((await p.page.textContent('[data-testid="user-name"]'))?.trim(), 'operator');
      // Force T101.LevelHiHi (latched, 95 %): fill the tank by hand from
      // panel A, valve open and pump stopped, again whenever the PLC undoes it.
      const NAME = 'T101.LevelHiHi';
      await until(
        async () => {
          const al = await alarm(a.page, NAME);
          if (al.unacked) return true;
          for (const [tag, value] of [
            ['XV101.Open', true],
            ['P101.Running', false],
          ]) {
            const [, t] = await call(a.page, 'GET', `/api/v1/tags/${tag}`);
            if (t.value !== value) {
              const [st, res] = await call(a.page, 'POST', `/api/v1/tags/${tag}/write`, { value, reason: 'e2e: fill the tank' });
              assert.equal(st, 200, `write ${tag}: ${JSON.stringify(res)}`);
            }
          }
          return false;
        },
        { timeout: 120000, interval: 250, what: `${NAME} to activate (the tank filled by hand)` },
      );
      await call(a.page, 'POST', '/api/v1/tags/XV101.Open/write', { value: false, reason: 'e2e: stop filling' });
      for (const p of [a, b]) await p.page.waitForSelector(`${banner(NAME)}[data-unacked="true"]`, { timeout: 10000 });

      // Panel A acknowledges; panel B, which did nothing, shows it acknowledged.
      const [st, res] = await call(a.page, 'POST', `/api/v1/alarms/${encodeURIComponent(NAME)}/ack`, { comment: 'e2e: seen on panel A' });
      assert.equal(st, 200, `ack: ${JSON.stringify(res)}`);
      const t0 = Date.now();
      await b.page.waitForSelector(`${banner(NAME)}[data-unacked="false"]`, { timeout: 1000 });
      const took = Date.now() - t0;
      console.log(`panel B showed the acknowledgement ${took} ms after panel A's ack answered`);
      assert.ok(took < 1000, `panel B within a second: ${took} ms`);
      assert.equal((await alarm(b.page, NAME)).acked_by, 'operator');
      assert.deepEqual([...a.errors, ...b.errors], [], 'no uncaught page errors');
    } finally {
      await call(a.page, 'POST', '/api/v1/tags/P101.Running/write', { value: true, reason: 'e2e: back to normal' }).catch(() => {});
      await a.context.close();
      await b.context.close();
    }
  });

  test('an engineer loads a project: a bad file lists its errors and changes nothing; a good one adds a tag an operator panel shows, without reconnecting', async () => {
    const op = await openPanel();
    const eng = await openPanel();
    try {
      const [st] = await call(eng.page, 'POST', '/api/v1/login', { user: 'engineer', password: 'engineer' });
      assert.equal(st, 200);
      await eng.page.reload();
      await eng.page.waitForSelector('.app[data-link="live"]', { timeout: 15000 });
      await eng.page.click('[data-testid="tab-engineering"]');
      await eng.page.click('[data-testid="eng-pane-project"]');
      await eng.page.waitForSelector('[data-testid="project-versions"]', { timeout: 10000 });

      // New websocket connections of the operator panel from now on (a reconnect would be one).
      const wsOpened = [];
      op.page.on('websocket', (ws) => wsOpened.push(ws.url()));

      const demo = readFileSync(join(frontendDir, '../examples/demo.yaml'), 'utf8');
      const bad = demo.replace('    address: IR0\n    type: uint16\n', '    address: IR0\n    type: nonsense\n');
      await eng.page.setInputFiles('[data-testid="project-file"]', { name: 'bad.yaml', mimeType: 'application/yaml', buffer: Buffer.from(bad) });
      await eng.page.click('[data-testid="project-load"]');
      await eng.page.waitForSelector('[data-testid="project-problems"] li', { timeout: 10000 });
      const problems = await eng.page.$$eval('[data-testid="project-problems"] li', (els) => els.map((e) => e.textContent.trim()));
      assert.match(problems[0], /^bad\.yaml:\d+:\d+: .*unknown data type "nonsense"/, `problems: ${problems}`);
      assert.match(await eng.page.textContent('[data-testid="project-error"]'), /nothing was changed/);

      // The operator panel shows the Overview: it fetches the display list again on the reload.
      await op.page.waitForSelector('.mimic[data-display]', { timeout: 10000 });
      let listFetches = 0;
      op.page.on('request', (r) => {
        if (new URL(r.url()).pathname === '/api/v1/displays') listFetches++;
      });
      const good = demo.replace('\ntags:\n', '\ntags:\n  - name: T101.Copy\n    device: plc1\n    address: IR0\n    type: uint16\n    description: added by a live reload\n');
      await eng.page.setInputFiles('[data-testid="project-file"]', { name: 'line.yaml', mimeType: 'application/yaml', buffer: Buffer.from(good) });
      await eng.page.click('[data-testid="project-load"]');
      await eng.page.waitForSelector('[data-testid="project-result"]', { timeout: 15000 });
      const summary = await eng.page.textContent('[data-testid="project-result"]');
      assert.match(summary, /14 tags; 1 device kept running; restarted plc1/);
      await until(async () => listFetches > 0, { timeout: 10000, what: 'the operator panel to fetch the display list after the reload' });
      assert.equal(await eng.page.$$eval('[data-testid="project-versions"] tbody tr', (r) => r.length), 2, 'two versions kept');

      // The operator panel: still live on the same websocket, and the new tag is in its tag list with a value.
      await op.page.click('[data-testid="tab-tags"]');
      await until(async () => (await op.page.$('text=T101.Copy')) !== null, { timeout: 10000, what: 'T101.Copy in the operator panel' });
      assert.equal(await op.page.getAttribute('.app', 'data-link'), 'live');
      assert.deepEqual(wsOpened, [], 'the operator panel did not reconnect');

      // Restore the demo: the tag goes again.
      await eng.page.click('[data-testid="project-restore"]');
      await eng.page.click('[data-testid="project-restore-confirm"]');
      await eng.page.waitForSelector('[data-testid="project-result"]:has-text("13 tags")', { timeout: 15000 });
      await until(async () => (await op.page.$('text=T101.Copy')) === null, { timeout: 10000, what: 'T101.Copy gone from the operator panel' });
      assert.deepEqual([...op.errors, ...eng.errors], [], 'no uncaught page errors');
    } finally {
      await op.context.close();
      await eng.context.close();
    }
  });
});
