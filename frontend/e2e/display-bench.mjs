// Display benchmark (issue 12): a display of 1,000 live objects bound to
// 1,000 tags that change every second, in headless Chromium.
//
// Builds a project = examples/demo.yaml plus 1,000 tags BENCH.Vnnnn, each
// reading the demo plant's tank level register (IR0) once a second with its
// own scale, so all of them change whenever the level does (about every
// second). Runs `edgehmi serve --demo --config <it>`, saves a 1,000-object
// display (tanks, pumps, value fields, bar graphs) through PUT
// /api/v1/displays/bench as the engineer, then as the operator opens it and
// measures: time to first render (select to 1,000 objects in the DOM and
// painted; and to every value live), frames per second and long tasks
// (> 50 ms) over DURATION seconds with the tag changes the page receives
// per second; then in the editor, dragging 1 and 20 selected objects:
// frames per second, long tasks and the time per pointer move. Prints
// figures, asserts nothing. Run by `make bench` (scripts/bench.sh) when
// Chromium is present; alone: `node e2e/display-bench.mjs` (EDGEHMI_BIN,
// CHROMIUM_PATH as for the e2e tests; BENCH_N, BENCH_SECONDS).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EdgeServer, frontendDir, launchBrowser, maybeServeDist } from './harness.mjs';

const N = Number(process.env.BENCH_N) || 1000;
const SECONDS = Number(process.env.BENCH_SECONDS) || 10;
const COLS = 40;
const CELL = 60;

export function benchProject(demoYaml, n = N) {
  const lines = [];
  for (let i = 0; i < n; i++) {
    const id = String(i).padStart(4, '0');
    lines.push(
      `  - {name: BENCH.V${id}, device: plc1, address: IR0, type: uint16, scale: {raw_low: 0, raw_high: 10000, eng_low: 0, eng_high: ${100 + (i % 50)}}, low: 0, high: ${100 + (i % 50)}, unit: "%", scan_class: slow}`,
    );
  }
  const at = demoYaml.search(/^tags:[ \t]*$/m);
  const eol = demoYaml.indexOf('\n', at);
  return `${demoYaml.slice(0, eol + 1)}${lines.join('\n')}\n${demoYaml.slice(eol + 1)}`;
}

/** n objects on a grid, one tag each: a quarter each of tanks, pumps, value fields and bars. */
export function benchDisplay(n = N) {
  const objects = [];
  for (let i = 0; i < n; i++) {
    const tag = `BENCH.V${String(i).padStart(4, '0')}`;
    const x = (i % COLS) * CELL + 5;
    const y = Math.floor(i / COLS) * CELL + 5;
    const o = { id: `o${i}`, x, y, w: 50, h: 50, tag };
    switch (i % 4) {
      case 0:
        objects.push({ ...o, type: 'symbol', symbol: 'tank' });
        break;
      case 1:
        objects.push({ ...o, type: 'symbol', symbol: 'pump' });
        break;
      case 2:
        objects.push({ ...o, type: 'value', h: 24, y: y + 13, hide_unit: true, decimals: 1 });
        break;
      default:
        objects.push({ ...o, type: 'bar', h: 14, y: y + 18 });
    }
  }
  return { version: 1, title: `${n} live objects`, level: 'diagnostics', width: COLS * CELL, height: Math.ceil(n / COLS) * CELL, objects };
}

const ms = (x) => `${Math.round(x)} ms`;

/** In the page: counts frames and long tasks for `seconds`. */
async function measure(seconds) {
  return await new Promise((res) => {
    const long = [];
    let obs = null;
    try {
      obs = new PerformanceObserver((l) => {
        for (const e of l.getEntries()) long.push(e.duration);
      });
      obs.observe({ type: 'longtask', buffered: false });
    } catch {
      /* no longtask support */
    }
    let frames = 0;
    let worst = 0;
    let last = performance.now();
    const t0 = last;
    const tick = (t) => {
      frames++;
      worst = Math.max(worst, t - last);
      last = t;
      if (t - t0 < seconds * 1000) requestAnimationFrame(tick);
      else {
        obs?.disconnect();
        res({ fps: (frames * 1000) / (t - t0), worstFrame: worst, longTasks: long.length, longestTask: Math.max(0, ...long) });
      }
    };
    requestAnimationFrame(tick);
  });
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'edgehmi-displaybench-'));
  const project = join(dir, 'bench.yaml');
  const demo = readFileSync(resolve(frontendDir, '../examples/demo.yaml'), 'utf8');
  writeFileSync(project, benchProject(demo));
  const server = new EdgeServer({ config: project, dataDir: join(dir, 'data') });
  let browser;
  try {
    await server.start({ timeout: 60000 });
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    await maybeServeDist(context, server.base);
    const page = await context.newPage();
    let tagChanges = 0;
    page.on('websocket', (ws) =>
      ws.on('framereceived', (f) => {
        const s = String(f.payload);
        if (process.env.BENCH_DEBUG && tagChanges < 3) console.log("frame", s.slice(0, 200));
        if (s.startsWith('{"type":"update"')) tagChanges += (s.match(/"name":/g) ?? []).length;
      }),
    );
    await page.goto(server.base + '/');
    await page.waitForSelector('.app[data-link="live"]', { timeout: 30000 });
    // Save the display as the engineer (the page's session).
    const login = async (user) =>
      page.evaluate(async (u) => {
        const r = await fetch('/api/v1/login', { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user: u, password: u }) });
        return r.status;
      }, user);
    await login('engineer');
    const saved = await page.evaluate(async (d) => {
      const t0 = performance.now();
      const r = await fetch('/api/v1/displays/bench', { method: 'PUT', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ display: d }) });
      return [r.status, (await r.text()).slice(0, 300), performance.now() - t0];
    }, benchDisplay());
    if (saved[0] !== 200) throw new Error(`save: ${saved[0]} ${saved[1]}`);
    console.log(`display: ${N} objects on ${N} tags; PUT /api/v1/displays/bench (validate, write, keep): ${ms(saved[2])}`);
    await login('operator');
    await page.reload();
    await page.waitForSelector('.app[data-link="live"]', { timeout: 30000 });
    await page.waitForSelector('.mimic[data-display="overview"]');
    await page.waitForSelector('[data-testid="display-select"] option[value="bench"]', { state: 'attached' });

    // Time to first render: select → N objects in the DOM, painted; → every value field live.
    const t0 = Date.now();
    await page.selectOption('[data-testid="display-select"]', 'bench');
    await page.waitForFunction((n) => document.querySelectorAll('.mimic[data-display="bench"] .obj').length >= n, N, { timeout: 60000, polling: 'raf' });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const firstRender = Date.now() - t0;
    await page.waitForFunction(() => !document.querySelector('.mimic[data-display="bench"] .value [data-quality="bad"]'), null, { timeout: 60000, polling: 200 });
    const allLive = Date.now() - t0;
    console.log(`time to first render: ${ms(firstRender)} (select to ${N} objects drawn); every value live: ${ms(allLive)}`);

    const c0 = tagChanges;
    let cdp = null;
    if (process.env.BENCH_PROFILE) {
      cdp = await context.newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    if (process.env.BENCH_TRACE) await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
    const run = await page.evaluate(measure, SECONDS);
    if (process.env.BENCH_TRACE) {
      const buf = await browser.stopTracing();
      const events = JSON.parse(buf.toString()).traceEvents;
      const sum = new Map();
      for (const e of events) if (e.ph === 'X' && e.dur) sum.set(e.name, (sum.get(e.name) ?? 0) + e.dur / 1000);
      console.log('trace (total ms by event, top 15):\n' + [...sum].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => `${v.toFixed(0).padStart(7)} ms  ${k}`).join('\n'));
    }
    if (cdp) {
      const { profile } = await cdp.send('Profiler.stop');
      const self = new Map();
      const dt = profile.timeDeltas;
      const byId = new Map(profile.nodes.map((n) => [n.id, n]));
      profile.samples.forEach((id, i) => {
        const n = byId.get(id);
        const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
        self.set(k, (self.get(k) ?? 0) + (dt[i] ?? 0) / 1000);
      });
      console.log('profile (self time, top 25):\n' + [...self].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${v.toFixed(0).padStart(6)} ms  ${k}`).join('\n'));
    }
    const rate = (tagChanges - c0) / SECONDS;
    console.log(
      `live, ${SECONDS} s: ${run.fps.toFixed(1)} fps, worst frame ${ms(run.worstFrame)}, long tasks > 50 ms: ${run.longTasks} (longest ${ms(run.longestTask)}); tag changes received: ${Math.round(rate)}/s`,
    );

    // Editor: drag in the same display (engineer).
    await login('engineer');
    await page.reload();
    await page.waitForSelector('.app[data-link="live"]', { timeout: 30000 });
    await page.waitForSelector('[data-testid="display-select"] option[value="bench"]', { state: 'attached' });
    await page.selectOption('[data-testid="display-select"]', 'bench');
    await page.waitForFunction((n) => document.querySelectorAll('.mimic[data-display="bench"] .obj').length >= n, N, { timeout: 60000 });
    if (process.env.BENCH_DEBUG) await page.screenshot({ path: '/tmp/mine/bench-before-edit.png' });
    const te = Date.now();
    await page.click('[data-testid="display-edit"]');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="display-editor"] .mimic .obj').length >= n, N, { timeout: 60000, polling: 'raf' });
    console.log(`editor open with ${N} objects: ${ms(Date.now() - te)}`);
    for (const count of [1, 20]) {
      const first = page.locator('[data-testid="display-editor"] [data-id="o2"]');
      const box = await first.boundingBox();
      await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
      for (let i = 1; i < count; i++) {
        const b = await page.locator(`[data-testid="display-editor"] [data-id="o${2 + i * 4}"]`).boundingBox();
        await page.keyboard.down('Shift');
        await page.mouse.click(b.x + b.width / 2, b.y + b.height / 2);
        await page.keyboard.up('Shift');
      }
      const sx = box.x + box.width / 2;
      const sy = box.y + box.height / 2;
      // In the page: from each pointer event to the frame after the one
      // that draws it (two animation frames later), on the page's clock.
      await page.evaluate(() => {
        window.__lat = [];
        window.__onmove = (e) => {
          const t = e.timeStamp;
          requestAnimationFrame(() => requestAnimationFrame(() => window.__lat.push(performance.now() - t)));
        };
        document.addEventListener('pointermove', window.__onmove, true);
      });
      await page.mouse.move(sx, sy);
      await page.mouse.down();
      let dcdp = null;
      if (process.env.BENCH_PROFILE) {
        dcdp = await context.newCDPSession(page);
        await dcdp.send('Profiler.enable');
        await dcdp.send('Profiler.start');
      }
      const meas = page.evaluate(measure, 3);
      const moves = 110; // ends away from the start: one undo step
      for (let i = 1; i <= moves; i++) {
        await page.mouse.move(sx + (i % 60) * 3, sy + (i % 60) * 2);
        await new Promise((r) => setTimeout(r, 16)); // a hand at about 60 Hz
      }
      await page.mouse.up();
      const d = await meas;
      if (dcdp) {
        const { profile } = await dcdp.send('Profiler.stop');
        const self = new Map();
        const byId = new Map(profile.nodes.map((n) => [n.id, n]));
        profile.samples.forEach((id, i) => {
          const n = byId.get(id);
          const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}:${n.callFrame.columnNumber}`;
          self.set(k, (self.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
        });
        console.log('drag profile (self time, top 15):\n' + [...self].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => `${v.toFixed(0).padStart(6)} ms  ${k}`).join('\n'));
      }
      const lat = await page.evaluate(() => {
        document.removeEventListener('pointermove', window.__onmove, true);
        return window.__lat.sort((a, b) => a - b);
      });
      const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
      console.log(
        `editor drag of ${count} object${count > 1 ? 's' : ''} (${lat.length} moves): pointer move to its frame drawn: median ${ms(q(0.5))}, p95 ${ms(q(0.95))}, max ${ms(lat.at(-1))}; ${d.fps.toFixed(1)} fps, worst frame ${ms(d.worstFrame)}, long tasks > 50 ms: ${d.longTasks} (longest ${ms(d.longestTask)})`,
      );
      await page.click('[data-testid="editor-undo"]');
    }
    await context.close();
  } finally {
    await browser?.close().catch(() => {});
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
