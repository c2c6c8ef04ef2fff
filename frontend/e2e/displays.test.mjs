// End-to-end, issue 12: an engineer makes a display in the browser editor
// (a tank bound to T101.Level and a setpoint field for TIC101.SP) and saves
// it; an operator opens it, sees the level move and changes the setpoint; a
// viewer gets no editor; the page subscribes only to the display's tags.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EdgeServer, launchBrowser, maybeServeDist, outDir, until } from './harness.mjs';

const VIEWPORT = { width: 1400, height: 900 };
let server;
let browser;

async function openPage(user) {
  const context = await browser.newContext({ viewport: VIEWPORT });
  await maybeServeDist(context, server.base);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const subs = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => subs.push(String(f.payload))));
  await page.goto(server.base + '/');
  await page.waitForSelector('[data-testid="user-name"]', { timeout: 15000 });
  if (user !== 'operator') {
    await page.click('[data-testid="user-badge"]');
    await page.fill('input[name="user"]', user);
    await page.fill('input[name="password"]', user);
    await page.keyboard.press('Enter');
    await until(async () => (await page.textContent('[data-testid="user-role"]'))?.trim() === user, { what: `role ${user}` });
  }
  await page.waitForSelector('.app[data-link="live"]', { timeout: 15000 });
  return { page, context, errors, subs };
}

/** The tags the page is subscribed to after the frames it sent. */
function subscribed(frames) {
  const set = new Set();
  for (const f of frames) {
    const m = JSON.parse(f);
    if (m.type === 'subscribe') for (const t of m.tags) set.add(t);
    if (m.type === 'unsubscribe') for (const t of m.tags) set.delete(t);
  }
  return set;
}

async function request(page, method, path, body) {
  return page.evaluate(
    async ([m, p, b]) => {
      const r = await fetch(p, { method: m, credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: b === undefined ? undefined : JSON.stringify(b) });
      return [r.status, await r.text()];
    },
    [method, path, body],
  );
}

/** Names a new display in the page's own dialog (no browser prompt): a taken and a bad name are refused first. */
async function newDisplay(page, name) {
  let prompted = false;
  const onDialog = (d) => {
    prompted = true;
    void d.dismiss();
  };
  page.on('dialog', onDialog);
  await page.click('[data-testid="display-new"]');
  await page.waitForSelector('[data-testid="new-display-dialog"]');
  await page.fill('[data-testid="new-display-name"]', 'overview');
  await page.waitForSelector('[data-testid="new-display-error"]:has-text("already a display")');
  assert.equal(await page.isDisabled('[data-testid="new-display-ok"]'), true);
  await page.fill('[data-testid="new-display-name"]', 'Bad Name');
  await page.waitForSelector('[data-testid="new-display-error"]:has-text("lower-case")');
  await page.fill('[data-testid="new-display-name"]', name);
  await page.click('[data-testid="new-display-ok"]');
  await page.waitForSelector('[data-testid="new-display-dialog"]', { state: 'detached' });
  page.off('dialog', onDialog);
  assert.equal(prompted, false, 'no browser prompt');
}

async function setProp(page, name, value) {
  const sel = `[data-testid="prop-${name}"]`;
  await page.fill(sel, value);
  await page.press(sel, 'Enter');
  await page.locator(sel).blur();
}

describe('displays: editor, runtime, roles', { timeout: 240000 }, () => {
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

  test('the overview is the demo display file; the page subscribes to its tags only', async () => {
    const { page, context, errors, subs } = await openPage('operator');
    try {
      await page.waitForSelector('.mimic[data-display="overview"]');
      await page.waitForSelector('.mimic [data-symbol="tank"]');
      await until(() => subscribed(subs).has('T101.Level') && !subscribed(subs).has('*'), {
        what: `a subscription to the overview's tags only (sent: ${subs.join(' ')})`,
      });
      assert.equal(subscribed(subs).size, 13, `the overview's 13 tags: ${[...subscribed(subs)]}`);
      assert.ok(!subs.some((f) => JSON.parse(f).tags?.includes('*')), `never every tag on the overview, not even at start (sent: ${subs.join(' ')})`);
      // Navigation: a link to the TIC101 display, back and forward.
      await page.click('[data-testid="link-tic101"]');
      await page.waitForSelector('.mimic[data-display="tic101"]');
      await page.click('[data-testid="display-back"]');
      await page.waitForSelector('.mimic[data-display="overview"]');
      await page.click('[data-testid="display-forward"]');
      await page.waitForSelector('.mimic[data-display="tic101"]');
      // Another screen wants every tag again.
      await page.click('[data-testid="tab-tags"]');
      await until(() => subscribed(subs).has('*'), { what: 'a subscription to every tag on the Tags screen' });
      assert.equal(await page.$('[data-testid="display-edit"]'), null, 'an operator gets no editor');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test('editor: undo and redo of each action in the browser', async () => {
    const { page, context, errors } = await openPage('engineer');
    try {
      await newDisplay(page, 'actions');
      await page.waitForSelector('[data-testid="display-editor"][data-name="actions"]');
      const objs = () => page.$$eval('[data-testid="display-editor"] .mimic [data-id]', (els) => [...new Set(els.map((e) => e.getAttribute('data-id')))].sort());
      const selX = () => page.$$eval('[data-selected]', (els) => els.map((e) => Number(e.getAttribute('x'))));
      const selY = () => page.$$eval('[data-selected]', (els) => els.map((e) => Number(e.getAttribute('y'))));
      const undoRedo = async (what, after, before) => {
        assert.deepEqual(await after(), before.after, `${what}: done`);
        await page.click('[data-testid="editor-undo"]');
        assert.deepEqual(await after(), before.before, `${what}: undone`);
        await page.click('[data-testid="editor-redo"]');
        assert.deepEqual(await after(), before.after, `${what}: redone`);
      };
      // place
      await page.click('[data-testid="palette-pump"]');
      await undoRedo('place', objs, { before: [], after: ['pump1'] });
      await page.click('[data-testid="palette-text"]');
      await page.click('[data-testid="palette-value"]');
      await setProp(page, 'tag', 'T101.Level');
      assert.deepEqual(await objs(), ['pump1', 'text1', 'value1']);
      // setProp (move by the property panel)
      await setProp(page, 'x', '300');
      await undoRedo('set x', async () => Number(await page.inputValue('[data-testid="prop-x"]')), { before: 100, after: 300 });
      // resize by the handle
      const h = await page.locator('[data-testid="resize-handle"]').boundingBox();
      await page.mouse.move(h.x + 6, h.y + 6);
      await page.mouse.down();
      await page.mouse.move(h.x + 60, h.y + 40, { steps: 5 });
      await page.mouse.up();
      const w1 = Number(await page.inputValue('[data-testid="prop-w"]'));
      assert.ok(w1 > 140 && w1 % 10 === 0, `resized and snapped: w = ${w1}`);
      await undoRedo('resize', async () => Number(await page.inputValue('[data-testid="prop-w"]')), { before: 140, after: w1 });
      // select all three (shift-click), then align, distribute, group, copy/paste, delete
      const click = async (id, shift = false) => {
        const b = await page.locator(`[data-testid="display-editor"] [data-id="${id}"]`).first().boundingBox();
        if (shift) await page.keyboard.down('Shift');
        await page.mouse.click(b.x + b.width / 2, b.y + b.height / 2);
        if (shift) await page.keyboard.up('Shift');
      };
      await click('pump1');
      await click('text1', true);
      await click('value1', true);
      assert.equal((await selX()).length, 3, 'three selected');
      const x0 = await selX();
      await page.click('[data-testid="align-left"]');
      const xl = await selX();
      assert.equal(new Set(xl).size, 1, `aligned left: ${xl}`);
      await undoRedo('align left', selX, { before: x0, after: xl });
      const y0 = await selY();
      await page.click('[data-testid="align-top"]');
      const yt = await selY();
      assert.equal(new Set(yt).size, 1, `aligned top: ${yt}`);
      await undoRedo('align top', selY, { before: y0, after: yt });
      await page.click('[data-testid="editor-undo"]'); // back to different y for distribute
      const yd0 = await selY();
      await page.click('[data-testid="distribute-vertical"]');
      const yd = await selY();
      await undoRedo('distribute', selY, { before: yd0, after: yd });
      await page.click('[data-testid="editor-group"]');
      await undoRedo('group', async () => page.isEnabled('[data-testid="editor-ungroup"]'), { before: false, after: true });
      await page.click('[data-testid="editor-ungroup"]');
      await undoRedo('ungroup', async () => page.isEnabled('[data-testid="editor-ungroup"]'), { before: true, after: false });
      await page.click('[data-testid="editor-copy"]');
      await page.click('[data-testid="editor-paste"]');
      await undoRedo('paste', objs, { before: ['pump1', 'text1', 'value1'], after: ['pump1', 'pump2', 'text1', 'text2', 'value1', 'value2'] });
      await page.click('[data-testid="editor-delete"]');
      await undoRedo('delete', objs, { before: ['pump1', 'pump2', 'text1', 'text2', 'value1', 'value2'], after: ['pump1', 'text1', 'value1'] });
      // snap to grid after a move off the grid (arrow keys move by 1)
      await click('pump1');
      await page.keyboard.press('ArrowRight');
      const px = Number(await page.inputValue('[data-testid="prop-x"]'));
      await page.click('[data-testid="editor-snap-selection"]');
      await undoRedo('snap', async () => Number(await page.inputValue('[data-testid="prop-x"]')), { before: px, after: Math.round(px / 10) * 10 });
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test('an engineer builds a display; an operator watches the level and changes the setpoint; a viewer gets no editor', async () => {
    // ---- engineer
    {
      const { page, context, errors } = await openPage('engineer');
      try {
        await page.waitForSelector('[data-testid="display-new"]');
        await newDisplay(page, 'line-a');
        await page.waitForSelector('[data-testid="display-editor"][data-name="line-a"]');

        await page.click('[data-testid="palette-tank"]');
        await page.waitForSelector('[data-selected="tank1"]');
        await setProp(page, 'tag', 'T101.Level');
        await setProp(page, 'label', 'T101');
        // Drag the tank by 200 px on screen: one undo step, snapped to the grid.
        const box = await page.locator('[data-id="tank1"]').boundingBox();
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
        await page.mouse.down();
        for (let i = 1; i <= 10; i++) await page.mouse.move(box.x + box.width / 2 + i * 20, box.y + box.height / 2);
        await page.mouse.up();
        const x1 = Number(await page.inputValue('[data-testid="prop-x"]'));
        assert.ok(x1 > 100 && x1 % 10 === 0, `moved and snapped: x = ${x1}`);
        await page.click('[data-testid="editor-undo"]');
        assert.equal(await page.inputValue('[data-testid="prop-x"]'), '40', 'undo puts the tank back');
        await page.click('[data-testid="editor-redo"]');
        assert.equal(Number(await page.inputValue('[data-testid="prop-x"]')), x1, 'redo moves it again');

        // A symbol of equipment without a faceplate of its own: it opens the generic one.
        await page.click('[data-testid="palette-motor"]');
        await page.waitForSelector('[data-selected="motor1"]');
        await setProp(page, 'tag', 'CV201.Speed');
        await setProp(page, 'fault', 'CV201.Jam');
        await setProp(page, 'label', 'M201');
        await setProp(page, 'x', '700');
        await setProp(page, 'y', '100');

        await page.click('[data-testid="palette-setpoint"]');
        await page.waitForSelector('[data-selected="setpoint1"]');
        await setProp(page, 'tag', 'TIC101.SP');
        await setProp(page, 'label', 'SP');
        await setProp(page, 'x', '400');
        await setProp(page, 'y', '100');
        // A mistake first: a setpoint on a tag that is not writable is refused by the server.
        await setProp(page, 'tag', 'TIC101.PV');
        await page.click('[data-testid="editor-save"]');
        await page.waitForSelector('[data-testid="editor-errors"]');
        assert.match(await page.textContent('[data-testid="editor-errors"]'), /objects\[2\] "setpoint1": tag: tag "TIC101.PV" is not writable/);
        await setProp(page, 'tag', 'TIC101.SP');
        await page.click('[data-testid="editor-save"]');
        await page.waitForSelector('[data-testid="editor-status"]');
        assert.match(await page.textContent('[data-testid="editor-status"]'), /Saved/);
        await page.screenshot({ path: join(outDir, 'display-editor.png') });
        await page.click('[data-testid="editor-close"]');
        await page.waitForSelector('.mimic[data-display="line-a"]');
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    }
    // ---- operator
    {
      const { page, context, errors, subs } = await openPage('operator');
      try {
        await page.waitForSelector('[data-testid="display-select"] option[value="line-a"]', { state: 'attached' });
        await page.selectOption('[data-testid="display-select"]', 'line-a');
        await page.waitForSelector('.mimic[data-display="line-a"] [data-symbol="tank"] [data-level]');
        const lv = async () => page.getAttribute('.mimic [data-symbol="tank"] [data-level]', 'data-level');
        const l0 = await lv();
        await until(async () => (await lv()) !== l0, { timeout: 20000, what: 'the tank level to move' });
        await until(() => [...subscribed(subs)].sort().join() === 'CV201.Jam,CV201.Speed,T101.Level,TIC101.SP', {
          what: `a subscription to the display's four tags (sent: ${subs.join(' ')})`,
        });

        // The generic faceplate of the motor's two tags: value, quality, unit, limits, trend, setpoint entry, alarms.
        await page.click('.mimic [data-testid="open-faceplate-motor1"]');
        const fp = '[data-testid="faceplate"][data-generic="true"][data-title="M201"]';
        await page.waitForSelector(fp);
        assert.deepEqual(await page.$$eval(`${fp} [data-testid="fp-tag"]`, (els) => els.map((e) => e.getAttribute('data-tag'))), ['CV201.Speed', 'CV201.Jam']);
        const speed = `${fp} [data-testid="fp-tag"][data-tag="CV201.Speed"]`;
        await until(async () => (await page.getAttribute(`${speed} [data-testid="fp-quality"]`, 'data-quality')) === 'good', { what: 'the speed to be good' });
        const spd = await page.textContent(`${speed} [data-testid="fp-value"]`);
        assert.match(spd, /^\d+(\.\d+)? m\/min$/, JSON.stringify(spd));
        assert.equal(await page.textContent(`${speed} [data-testid="fp-unit"]`), 'm/min');
        assert.equal(await page.textContent(`${speed} [data-testid="fp-limits"]`), '0 … 60 m/min');
        assert.equal(await page.textContent(`${speed} [data-testid="fp-access"]`), 'writable');
        assert.equal(await page.$$eval(`${speed} [data-testid="mini-trend"]`, (els) => els.length), 1);
        const jam = `${fp} [data-testid="fp-tag"][data-tag="CV201.Jam"]`;
        assert.equal(await page.textContent(`${jam} [data-testid="fp-access"]`), 'read only');
        assert.equal(await page.$(`${jam} [data-testid="fp-setpoint"]`), null, 'no entry for a read-only tag');
        await page.waitForSelector(`${fp} [data-testid="fp-alarm"][data-alarm="CV201.Jam"], ${fp} [data-testid="fp-no-alarms"]`);
        await page.screenshot({ path: join(outDir, 'display-faceplate.png') });
        // The setpoint entry is the write dialog with the tag's limits; Esc closes it, then the faceplate.
        await page.click(`${speed} [data-testid="fp-setpoint"]`);
        await page.waitForSelector('[data-testid="write-dialog"][data-tag="CV201.Speed"]');
        await page.keyboard.press('Escape');
        await page.waitForSelector('[data-testid="write-dialog"]', { state: 'detached' });
        await page.waitForSelector(fp);
        await page.click(`${fp} [data-testid="fp-close"]`);
        await page.waitForSelector('[data-testid="faceplate"]', { state: 'detached' });

        const spText = async () => Number.parseFloat((await page.textContent('.mimic [data-testid="setpoint-TIC101.SP"] [data-tag="TIC101.SP"]')) ?? '');
        const sp0 = await spText();
        const target = Math.abs(sp0 - 65) > 2 ? 65 : 55;
        await page.click('.mimic [data-testid="setpoint-TIC101.SP"]');
        await page.waitForSelector('[data-testid="write-dialog"][data-tag="TIC101.SP"]');
        await page.keyboard.press('Control+A');
        await page.keyboard.type(String(target));
        await page.keyboard.press('Enter');
        const confirm = await page.waitForSelector('[data-testid="write-dialog"][data-step="confirm"]', { timeout: 2000 }).catch(() => null);
        if (confirm) await page.keyboard.press('Enter');
        await page.waitForSelector('[data-testid="write-dialog"]', { state: 'detached', timeout: 15000 });
        await until(async () => Math.abs((await spText()) - target) < 0.05, { what: `the setpoint field to show ${target}` });
        await page.screenshot({ path: join(outDir, 'display-operator.png') });
        assert.deepEqual(errors, []);
      } finally {
        await context.close();
      }
    }
    // ---- viewer
    {
      const { page, context } = await openPage('viewer');
      try {
        await page.waitForSelector('.mimic');
        assert.equal(await page.$('[data-testid="display-edit"]'), null, 'no Edit for a viewer');
        assert.equal(await page.$('[data-testid="display-new"]'), null, 'no New display for a viewer');
        const [st, body] = await request(page, 'PUT', '/api/v1/displays/line-a', { display: { version: 1, level: 'area', objects: [] } });
        assert.equal(st, 403, body);
        const scripts = await page.evaluate(() => performance.getEntriesByType('resource').map((r) => r.name).filter((n) => /DisplayEditor/.test(n)));
        assert.deepEqual(scripts, [], 'the editor chunk is not loaded for a viewer');
      } finally {
        await context.close();
      }
    }
  });
});
