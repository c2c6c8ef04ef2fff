// Helpers for the end-to-end tests: start/stop the real edgehmi server, launch
// Debian's Chromium through playwright-core, and wait for things.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const frontendDir = resolve(here, '..');
export const outDir = join(here, 'out');
export const serverBin = process.env.EDGEHMI_BIN ? resolve(process.env.EDGEHMI_BIN) : resolve(frontendDir, '../bin/edgehmi');
export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a truthy value; returns that value or throws with `what`. */
export async function until(fn, { timeout = 10000, interval = 200, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(interval);
  }
}

const live = new Set();
function killAll() {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

/**
 * The edgehmi server under test: `serve --demo` on 127.0.0.1:port with its own
 * data directory (`config`: `serve --demo --config FILE`, that project against
 * the demo plant, with the demo users). start() waits for GET /healthz 200;
 * stop() sends SIGTERM.
 */
export class EdgeServer {
  constructor({ port, dataDir, config } = {}) {
    this.port = port;
    this.config = config;
    this.dataDir = dataDir ?? mkdtempSync(join(tmpdir(), 'edgehmi-e2e-'));
    this.ownsData = !dataDir;
    this.proc = null;
    this.log = '';
  }

  get base() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start({ timeout = 20000 } = {}) {
    if (!existsSync(serverBin)) {
      throw new Error(
        `server binary not found: ${serverBin}\n` +
          'Build it from the repository root with `CGO_ENABLED=0 go build -o bin/edgehmi .` (after `npm run build` here), or set EDGEHMI_BIN.',
      );
    }
    this.port ??= await freePort();
    const args = ['serve', '--demo', '--listen', `127.0.0.1:${this.port}`, '--data', this.dataDir];
    if (this.config) args.push('--config', this.config, '--log-level', 'warn');
    const proc = spawn(serverBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    live.add(proc);
    const onData = (d) => {
      this.log += d.toString();
      if (this.log.length > 200000) this.log = this.log.slice(-100000);
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    let exited = null;
    proc.on('exit', (code, signal) => {
      exited = { code, signal };
      live.delete(proc);
    });
    this.exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
    await until(
      async () => {
        if (exited) throw new Error(`server exited early (${JSON.stringify(exited)}):\n${this.log}`);
        const r = await fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(1000) }).catch(() => null);
        return r?.status === 200;
      },
      { timeout, interval: 100, what: `GET ${this.base}/healthz → 200` },
    ).catch((e) => {
      if (!exited) proc.kill('SIGKILL');
      throw new Error(`${e.message}\n--- server log ---\n${this.log}`);
    });
  }

  /** SIGTERM, then SIGKILL after `grace` ms; resolves with the exit status. */
  async stop({ grace = 10000 } = {}) {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return null;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), grace);
    const st = await this.exited;
    clearTimeout(timer);
    this.proc = null;
    return st;
  }

  cleanup() {
    if (this.ownsData) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export async function launchBrowser() {
  if (!existsSync(chromiumPath)) throw new Error(`Chromium not found at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`);
  const args = [...CHROMIUM_ARGS];
  // A page fulfilled by request interception has no address of its own, so
  // Chromium's local network access checks would block its websocket to
  // 127.0.0.1; only the E2E_DIST mode needs this.
  if (process.env.E2E_DIST) args.push('--disable-features=LocalNetworkAccessChecks');
  return chromium.launch({ executablePath: chromiumPath, args, headless: true });
}

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };

/**
 * With E2E_DIST=1 the page's static files come from frontend/dist instead of
 * the copy embedded in the server binary (to test a fresh `npm run build`
 * without rebuilding the binary). API and websocket still go to the server.
 */
export async function maybeServeDist(context, base) {
  if (!process.env.E2E_DIST) return;
  const dist = join(frontendDir, 'dist');
  await context.route(`${base}/**`, (route) => {
    const u = new URL(route.request().url());
    if (u.pathname.startsWith('/api/') || u.pathname === '/healthz' || u.pathname === '/ws') return route.continue();
    let f = join(dist, u.pathname === '/' ? 'index.html' : u.pathname);
    if (!f.startsWith(dist) || !existsSync(f)) f = join(dist, 'index.html');
    return route.fulfill({ status: 200, contentType: MIME[extname(f)] ?? 'application/octet-stream', body: readFileSync(f) });
  });
}
