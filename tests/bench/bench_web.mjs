// SPDX-License-Identifier: Apache-2.0
// Browser benchmark of the Real-time view (headless Debian chromium through playwright-core):
//   paint  time from navigation start to the first CPU chart point drawn (after the next
//          animation frame), over N fresh page loads with a signed-in session; target < 1 s.
//   heap   one live page for M minutes; every minute a forced GC (CDP HeapProfiler) and the
//          used JS heap, DOM node and listener counts; prints first/mid/last and the slope
//          after the rolling window has filled.
// Starts its own omega-monitor (loopback, throwaway data dir, 1 s collection) and stops it by
// PID. Bounded: every wait has a deadline. Not part of ctest (timings belong here, not there).
// Usage: node tests/bench/bench_web.mjs paint [runs=10] | heap [minutes=60]
// Env: OMEGA_BUILD_DIR (default build/h-dash-rel), OMEGA_BENCH_OUT (JSON lines, optional).

import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const BUILD = resolve(process.env.OMEGA_BUILD_DIR || 'build/h-dash-rel');
const PASSWORD = 'bench-web-Pa55word-0123';
let serverPid = 0; // for the watchdog
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = (rec) => {
  console.log(JSON.stringify(rec));
  if (process.env.OMEGA_BENCH_OUT) appendFileSync(process.env.OMEGA_BENCH_OUT, `${JSON.stringify(rec)}\n`);
};

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Start the server; resolves to {pid, url, stop()}. */
async function startServer() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'omega-bench-web-'));
  const log = openSync(join(dir, 'server.log'), 'a');
  const child = spawn(join(BUILD, 'omega-monitor'), ['serve'], {
    env: {
      ...process.env,
      OMEGA_SERVER_LISTEN: `127.0.0.1:${port}`,
      OMEGA_SERVER_DATA_DIR: join(dir, 'data'),
      OMEGA_ADMIN_PASSWORD: PASSWORD,
      OMEGA_PERFORMANCE_MONITOR_METRICS_COLLECTION_INTERVAL: '1000',
    },
    stdio: ['ignore', log, log],
  });
  const url = `http://127.0.0.1:${port}`;
  serverPid = child.pid;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM'); // by PID: the child we spawned
      for (let i = 0; i < 200 && child.exitCode === null; i++) await sleep(100);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`server exited during start-up (log in ${dir})`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return { pid: child.pid, url, stop };
    } catch {
      /* not listening yet */
    }
    await sleep(100);
  }
  await stop();
  throw new Error('server did not answer /healthz within 30 s');
}

async function session(url) {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: PASSWORD }),
  });
  const b = await res.json();
  if (!res.ok) throw new Error(`login: HTTP ${res.status} ${b.error}`);
  return { token: b.token, expires_at: b.expires_at, role: b.role, username: 'admin' };
}

async function browser() {
  const b = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return b;
}

/** A page whose sessionStorage holds s before any script of the app runs. */
async function signedInPage(b, s) {
  const ctx = await b.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
  await ctx.addInitScript((v) => sessionStorage.setItem('omega.session', v), JSON.stringify(s));
  return { ctx, page: await ctx.newPage() };
}

const pct = (xs, p) => {
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.floor((p / 100) * a.length))];
};

async function paint(runs) {
  const srv = await startServer();
  const b = await browser();
  try {
    await sleep(3000); // a few collections so the first frame has something to draw
    const s = await session(srv.url);
    const times = [];
    for (let i = 0; i < runs; i++) {
      const { ctx, page } = await signedInPage(b, s);
      await page.goto(`${srv.url}/#/live`, { waitUntil: 'commit' });
      // Polled inside the page every animation frame: a point in the CPU chart, then one
      // more frame so it is on screen; the time is relative to navigation start.
      const ms = await page.evaluate(() => new Promise((res, rej) => {
        const end = performance.now() + 10_000;
        const tick = () => {
          const n = window.__omegaLive ? window.__omegaLive.points('cpu') : 0;
          if (n > 0) requestAnimationFrame(() => res(performance.now()));
          else if (performance.now() > end) rej(new Error('no CPU point within 10 s'));
          else requestAnimationFrame(tick);
        };
        tick();
      }));
      times.push(ms);
      out({ bench: 'paint', run: i + 1, first_point_ms: Math.round(ms), cold: i === 0 });
      await ctx.close();
    }
    out({
      bench: 'paint_summary', runs, p50_ms: Math.round(pct(times, 50)), p95_ms: Math.round(pct(times, 95)),
      max_ms: Math.round(Math.max(...times)),
      cold_ms: Math.round(times[0]), loadavg: (await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' '),
    });
  } finally {
    await b.close();
    await srv.stop();
  }
}

async function heap(minutes) {
  const srv = await startServer();
  const b = await browser();
  const samples = [];
  try {
    await sleep(2000);
    const s = await session(srv.url);
    const { page } = await signedInPage(b, s);
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${srv.url}/#/live`, { waitUntil: 'load' });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('HeapProfiler.enable');
    await cdp.send('Performance.enable');
    const t0 = Date.now();
    for (let m = 0; m <= minutes; m++) {
      const due = t0 + m * 60_000;
      if (Date.now() < due) await sleep(due - Date.now());
      await cdp.send('HeapProfiler.collectGarbage');
      const { usedSize, totalSize } = await cdp.send('Runtime.getHeapUsage');
      const { metrics } = await cdp.send('Performance.getMetrics');
      const metric = (n) => (metrics.find((x) => x.name === n) || {}).value;
      const rec = {
        bench: 'heap', minute: m, used_kb: Math.round(usedSize / 1024), total_kb: Math.round(totalSize / 1024),
        dom_nodes: metric('Nodes'), listeners: metric('JSEventListeners'),
        cpu_points: await page.evaluate(() => window.__omegaLive.points('cpu')),
        conn: await page.evaluate(() => document.getElementById('conn').dataset.state || ''),
        page_errors: errors.length,
      };
      samples.push(rec);
      out(rec);
    }
    const first = samples[0];
    const mid = samples[Math.floor(samples.length / 2)];
    const last = samples[samples.length - 1];
    // Least-squares slope after the 5-minute rolling window (the default) has filled.
    const tail = samples.filter((r) => r.minute >= 6);
    let slope = null;
    if (tail.length >= 2) {
      const n = tail.length;
      const mx = tail.reduce((a, r) => a + r.minute, 0) / n;
      const my = tail.reduce((a, r) => a + r.used_kb, 0) / n;
      const num = tail.reduce((a, r) => a + (r.minute - mx) * (r.used_kb - my), 0);
      const den = tail.reduce((a, r) => a + (r.minute - mx) ** 2, 0);
      slope = Math.round((num / den) * 100) / 100;
    }
    out({
      bench: 'heap_summary', minutes, first_kb: first.used_kb, mid_kb: mid.used_kb, last_kb: last.used_kb,
      slope_kb_per_min_after_6min: slope, dom_nodes_first: first.dom_nodes, dom_nodes_last: last.dom_nodes,
      page_errors: errors.length, loadavg: (await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' '),
    });
  } finally {
    await b.close();
    await srv.stop();
  }
}

const [mode, arg] = process.argv.slice(2);
const watchdog = setTimeout(() => {
  console.error('bench_web: watchdog expired');
  if (serverPid) process.kill(serverPid, 'SIGTERM');
  process.exit(2);
}, mode === 'heap' ? (Number(arg || 60) + 5) * 60_000 : 10 * 60_000);
try {
  if (mode === 'paint') await paint(Number(arg || 10));
  else if (mode === 'heap') await heap(Number(arg || 60));
  else {
    console.error('usage: bench_web.mjs paint [runs] | heap [minutes]');
    process.exitCode = 2;
  }
} catch (e) {
  console.error(`bench_web: ${e && e.stack ? e.stack : e}`);
  process.exitCode = 1;
}
clearTimeout(watchdog);
