// SPDX-License-Identifier: Apache-2.0
// Shared harness of the browser tests: launches Debian's /usr/bin/chromium through
// playwright-core with a throwaway profile, runs named checks (after a failure the rest of
// that file are reported as not run: they build on each other), tracks console and page
// errors (only declared, bounded ones are tolerated), and prints "N passed, M failed" last.
// Also: API helpers on the test's side (login, JSON calls), the list of endpoints the server
// does not offer yet, downloads, screenshots and the server-restart request to run.sh.
// Env: OMEGA_URL, OMEGA_USER, OMEGA_PASSWORD, OMEGA_ARTIFACTS, OMEGA_CONTROL.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const URL_ = process.env.OMEGA_URL;
export const USER = process.env.OMEGA_USER || 'admin';
export const PASSWORD = process.env.OMEGA_PASSWORD;
export const ARTIFACTS = process.env.OMEGA_ARTIFACTS || join(process.cwd(), 'screenshots');
export const STEP_MS = 10_000;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

/** Poll fn() every 100 ms until it returns a truthy value or ms pass (then throw what()). */
export async function until(fn, ms, what) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(typeof what === 'function' ? await what() : what);
    await sleep(100);
  }
}

/** Log in through the API; returns {token, role}. */
export async function apiLogin(user, password) {
  const res = await fetch(`${URL_}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: user, password }),
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`login ${user}: HTTP ${res.status} ${body.error}`);
  return body;
}

/** JSON API call with a token: resolves to {status, body}. */
export async function apiCall(token, method, path, body) {
  const res = await fetch(`${URL_}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  return { status: res.status, body: json };
}

const PROBED = ['/api/v1/health', '/api/v1/alerts', '/api/v1/operations', '/api/v1/query_range',
  '/api/v1/series', '/api/v1/labels', '/api/v1/label/__name__/values', '/api/v1/label/host/values',
  '/api/v1/config', '/api/v1/users'];

/** Endpoints among those the dashboard uses that answer "no such endpoint" on this server. */
export async function absentEndpoints(token) {
  const out = [];
  for (const p of PROBED) {
    const r = await apiCall(token, 'GET', p);
    if (r.status === 404 && r.body && /no such endpoint/.test(r.body.error || '')) out.push(p);
  }
  // Label values of any label come from one route: absent for one name, absent for all.
  if (out.includes('/api/v1/label/__name__/values')) out.push('/api/v1/label/');
  return out;
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class Session {
  /** @param {string} file  name of the test file, for messages and failure screenshots */
  constructor(file) {
    this.file = file;
    this.results = [];
    this.failed = false;
    this.problems = [];
    this.expected = [];
  }

  async open(o = {}) {
    this.profile = mkdtempSync(join(tmpdir(), 'omega-browser-'));
    this.context = await chromium.launchPersistentContext(this.profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      timeout: 30_000,
      acceptDownloads: true,
      viewport: o.viewport || { width: 1280, height: 900 },
      colorScheme: 'dark',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    this.context.setDefaultTimeout(STEP_MS);
    this.page = this.context.pages()[0] ?? (await this.context.newPage());
    this.watch(this.page);
    return this.page;
  }

  /** Track console errors and page errors of page. */
  watch(page) {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const loc = msg.location();
      const text = `${msg.text()}${loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`;
      const e = this.expected.find((x) => x.active && x.re.test(text));
      if (e) e.seen += 1;
      else this.problems.push(`console error: ${text}`);
    });
    page.on('pageerror', (err) => this.problems.push(`page error: ${err.message}`));
  }

  /** Declare console errors a step provokes on purpose (reported with the results). */
  expectConsoleError(what, re, max) {
    const e = { what, re, max, seen: 0, active: true };
    this.expected.push(e);
    return e;
  }

  /** Tolerate Chromium's "Failed to load resource ... 404" for endpoints the server lacks. */
  expectAbsent(paths) {
    if (!paths.length) return;
    console.log(`# endpoints not on this server yet (their 404s are expected): ${paths.join(' ')}`);
    const re = new RegExp(`^Failed to load resource: .*\\b404\\b.*(${paths.map(escapeRe).join('|')})`);
    this.expectConsoleError('endpoints this server does not offer yet', re, 200);
  }

  async check(name, fn) {
    if (this.failed) {
      this.results.push({ name, ok: false });
      console.log(`not ok - ${name} (not run: an earlier check failed)`);
      return;
    }
    const t0 = Date.now();
    try {
      await fn();
      this.results.push({ name, ok: true });
      console.log(`ok - ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      this.failed = true;
      this.results.push({ name, ok: false });
      console.log(`not ok - ${name}: ${e && e.message ? e.message : e}`);
    }
  }

  /** The whole-session console check; call last. */
  async checkConsole() {
    await this.check('no unexpected console errors or page errors (whole session)', async () => {
      for (const e of this.expected) {
        if (e.seen) console.log(`# expected console errors (${e.what}): ${e.seen}`);
        assert(e.seen <= e.max, `expected at most ${e.max} console error(s) for ${e.what}, saw ${e.seen}`);
      }
      assert(this.problems.length === 0, `${this.problems.length} problem(s):\n  ${this.problems.join('\n  ')}`);
    });
  }

  async shot(name, page = this.page) {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const file = join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: STEP_MS });
    console.log(`# screenshot: ${file}`);
  }

  /** Sign in through the login form and wait for the app. */
  async login(page, user = USER, password = PASSWORD, hash = '') {
    await page.goto(`${URL_}/${hash}`, { waitUntil: 'load' });
    await page.locator('#login-view').waitFor({ state: 'visible' });
    await page.getByLabel('Username', { exact: true }).fill(user);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // "attached": in kiosk mode the unhidden nav is still not displayed (no chrome).
    await page.locator('#nav:not([hidden]), #login-error:not([hidden])').first().waitFor({ state: 'attached' });
    if (await page.locator('#login-error').isVisible()) {
      throw new Error(`login refused: "${(await page.locator('#login-error').textContent()).trim()}"`);
    }
  }

  /** Click what triggers a download; returns the downloaded bytes and file name. */
  async download(page, click) {
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: STEP_MS }), click()]);
    const file = await dl.path();
    return { name: dl.suggestedFilename(), bytes: readFileSync(file) };
  }

  /** Close the browser, print the results and exit with their status. */
  async finish() {
    if (this.failed && this.page) {
      await this.shot(`${this.file}-failure`).catch(() => {});
      if (this.problems.length) console.log(`# console/page errors so far:\n#   ${this.problems.join('\n#   ')}`);
    }
    if (this.context) await this.context.close().catch((e) => console.log(`# closing the browser failed: ${e}`));
    if (this.profile) rmSync(this.profile, { recursive: true, force: true });
    const passed = this.results.filter((r) => r.ok).length;
    const failed = this.results.length - passed;
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed === 0 && passed > 0 ? 0 : 1);
  }
}

/** Run main(session) under a watchdog; always ends with the summary line. */
export async function run(file, watchdogMs, main) {
  if (!URL_ || !PASSWORD) {
    console.error(`${file}: OMEGA_URL and OMEGA_PASSWORD must be set (run it through run.sh)`);
    process.exit(2);
  }
  const s = new Session(file);
  const watchdog = setTimeout(() => {
    const passed = s.results.filter((r) => r.ok).length;
    console.log(`not ok - watchdog: ${file} did not finish within ${watchdogMs} ms`);
    console.log(`${passed} passed, ${s.results.length - passed + 1} failed`);
    process.exit(1);
  }, watchdogMs);
  try {
    await main(s);
  } catch (e) {
    s.results.push({ name: 'browser session', ok: false });
    console.log(`not ok - browser session: ${e && e.stack ? e.stack : e}`);
  }
  clearTimeout(watchdog);
  await s.finish();
}

/**
 * Ask run.sh to restart the server (SIGTERM by PID, exit 0 required, same port and data)
 * and wait until it reports back. env: extra OMEGA_* settings for the restarted server
 * (kept until the next restart; restart without them to return to run.sh's defaults).
 * Resolves to run.sh's one-line report.
 */
export async function restartServer(timeoutMs = 60_000, env = {}) {
  const dir = process.env.OMEGA_CONTROL;
  assert(dir && existsSync(dir), 'OMEGA_CONTROL is not set: run the test through run.sh');
  const done = join(dir, 'restart.done');
  rmSync(done, { force: true });
  const lines = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  writeFileSync(join(dir, 'restart.request'), [String(Date.now()), ...lines].join('\n') + '\n');
  await until(() => existsSync(done), timeoutMs, `run.sh did not restart the server within ${timeoutMs} ms`);
  const report = readFileSync(done, 'utf8').trim();
  assert(report.startsWith('ok'), `server restart failed: ${report}`);
  return report;
}
