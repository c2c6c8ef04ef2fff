// The browser-only operator panel (docs/panels.md): Debian's Chromium in
// kiosk mode, pointed at the server, on a real (virtual) screen with the
// kiosk window manager a panel runs (matchbox). The panel fills the
// 1280x800 screen with no browser interface and shows live values over its
// websocket. Needs Xvfb and matchbox-window-manager (apt-get install xvfb
// matchbox-window-manager); skipped without them unless
// EDGEHMI_REQUIRE_XVFB=1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { EdgeServer, chromiumPath, outDir, until } from './harness.mjs';

const SCREEN = { width: 1280, height: 800 };
const haveXvfb = spawnSync('sh', ['-c', 'command -v Xvfb && command -v matchbox-window-manager']).status === 0;
const required = process.env.EDGEHMI_REQUIRE_XVFB === '1';

let server;
let xvfb;
let wm;
let display;
let profile;

before(async () => {
  if (!haveXvfb) return;
  server = new EdgeServer();
  await server.start();
  // -displayfd: Xvfb picks a free display and writes its number to fd 3.
  xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', `${SCREEN.width}x${SCREEN.height}x24`, '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  display = await new Promise((res, rej) => {
    let got = '';
    xvfb.stdio[3].on('data', (d) => {
      got += d.toString();
      if (got.includes('\n')) res(':' + got.trim());
    });
    xvfb.on('exit', (code) => rej(new Error(`Xvfb exited (${code})`)));
    setTimeout(() => rej(new Error('Xvfb gave no display within 10 s')), 10000);
  });
  // A panel's session: a window manager that gives the one window the
  // whole screen (Chromium asks it for full screen; with none it cannot).
  wm = spawn('matchbox-window-manager', ['-use_titlebar', 'no'], { stdio: 'ignore', env: { ...process.env, DISPLAY: display } });
  profile = mkdtempSync(join(tmpdir(), 'edgehmi-kiosk-'));
});

after(async () => {
  await server?.stop();
  wm?.kill('SIGTERM');
  xvfb?.kill('SIGTERM');
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('Chromium in kiosk mode is a full-screen operator panel with live values', { skip: !haveXvfb && !required && 'Xvfb or matchbox-window-manager is not installed' }, async () => {
  assert.ok(haveXvfb, 'Xvfb and matchbox-window-manager are required (EDGEHMI_REQUIRE_XVFB=1) but not installed');
  // The command line of docs/panels.md, on the virtual screen.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: false,
    viewport: null, // the window's own size, as a panel has it
    env: { ...process.env, DISPLAY: display },
    args: ['--kiosk', `--app=${server.base}/`, '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic', '--noerrdialogs', '--disable-session-crashed-bubble'],
  });
  try {
    const page = await until(() => context.pages().find((p) => p.url().startsWith(server.base)), { timeout: 15000, what: 'the kiosk window on the server' });
    await page.waitForSelector('.app[data-link="live"]', { timeout: 20000 });
    await until(() => page.evaluate(() => innerWidth === screen.width && innerHeight === screen.height), { timeout: 10000, what: 'the window to fill the screen' }).catch(() => {});
    const size = await page.evaluate(() => ({ inner: [innerWidth, innerHeight], screen: [screen.width, screen.height] }));
    assert.deepEqual(size.screen, [SCREEN.width, SCREEN.height], 'the virtual screen');
    assert.deepEqual(size.inner, [SCREEN.width, SCREEN.height], 'the page fills the screen: no tabs, no address bar, no window frame');
    // Live: the demo's tank level, as the page shows it, moves.
    const level = () => page.evaluate(() => document.querySelector('[data-tag="T101.Level"]')?.textContent?.trim() ?? '');
    const first = await until(level, { timeout: 15000, what: 'T101.Level on the panel' });
    await until(async () => (await level()) !== first, { timeout: 15000, what: `T101.Level to move from ${first}` });
    mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: join(outDir, 'kiosk-panel.png') });
  } finally {
    await context.close();
  }
});
