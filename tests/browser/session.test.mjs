// SPDX-License-Identifier: Apache-2.0
// Browser test of token renewal: the server is restarted with 1-minute session tokens; after
// a login the live page keeps gaining points past the first token's expiry without a re-login,
// the token in sessionStorage is renewed before it expires (POST /api/v1/auth/refresh), the
// live socket stays open (re-authenticated in place: no reconnect, no 4401), and REST views
// still answer with the renewed token. Restarts the server with run.sh's defaults at the end.
// Prints "N passed, M failed" last.

import { absentEndpoints, apiLogin, assert, restartServer, run, sleep, until, URL_ } from './lib.mjs';

const TTL_S = 60; // the shortest session_ttl the configuration accepts
const RUN_MS = TTL_S * 1000 + 15_000; // past the first token's expiry, with a margin

await run('session', 200_000, async (s) => {
  let restarted = false;
  try {
    await s.check('(a) the server restarts with 1-minute session tokens', async () => {
      const report = await restartServer(60_000, { OMEGA_SECURITY_SESSION_TTL: `${TTL_S}s` });
      restarted = true;
      console.log(`# ${report}`);
      const t = await apiLogin('admin', process.env.OMEGA_PASSWORD);
      const left = Date.parse(t.expires_at) - Date.now();
      assert(left > 0 && left <= TTL_S * 1000 + 5000, `a new token lives ${left} ms, expected <= ${TTL_S} s`);
    });

    const page = await s.open();
    const admin = await apiLogin('admin', process.env.OMEGA_PASSWORD);
    s.expectAbsent(await absentEndpoints(admin.token));
    // Count socket opens and 4401 closes from inside the page.
    await page.addInitScript(() => {
      const W = window.WebSocket;
      window.__wsStats = { opened: 0, closes: [] };
      window.WebSocket = class extends W {
        constructor(...a) {
          super(...a);
          window.__wsStats.opened += 1;
          this.addEventListener('close', (e) => window.__wsStats.closes.push(e.code));
        }
      };
    });

    let first = null;
    await s.check('(b) login opens the live page', async () => {
      await s.login(page);
      await page.locator('#live-view:not([hidden])').waitFor();
      first = JSON.parse(await page.evaluate(() => sessionStorage.getItem('omega.session')));
      assert(first && first.token, 'no session stored after login');
    });

    await s.check(`(c) the live page keeps working for ${RUN_MS / 1000} s (past the first token's expiry)`, async () => {
      const tokens = new Set([first.token]);
      const end = Date.now() + RUN_MS;
      let points = 0;
      let lastGrowth = Date.now();
      while (Date.now() < end) {
        await sleep(1000);
        assert(!(await page.locator('#login-view').isVisible()), `sent back to login after ${Math.round((Date.now() - (end - RUN_MS)) / 1000)} s`);
        const stored = JSON.parse(await page.evaluate(() => sessionStorage.getItem('omega.session')) || 'null');
        assert(stored && stored.token, 'the session disappeared from sessionStorage');
        tokens.add(stored.token);
        const n = await page.evaluate(() => window.__omegaLive.points('cpu'));
        if (n !== points) lastGrowth = Date.now();
        points = n;
        assert(Date.now() - lastGrowth < 10_000, 'the CPU chart stopped gaining points for 10 s');
      }
      assert(tokens.size >= 2, `expected a renewal in ${RUN_MS / 1000} s, saw none`);
      assert(Date.now() > Date.parse(first.expires_at), 'the first token has not expired yet');
      const ws = await page.evaluate(() => window.__wsStats);
      assert(ws.opened === 1, `the live socket was opened ${ws.opened} times (expected once: re-authenticated in place)`);
      assert(ws.closes.length === 0, `the live socket closed with ${ws.closes.join(', ')}`);
      assert((await page.locator('#conn').getAttribute('data-state')) === 'live', 'the connection badge is not "live"');
      console.log(`# ${tokens.size - 1} renewals, ${points} CPU points, socket opened once`);
    });

    await s.check('(d) REST views work with the renewed token and the first one is revoked', async () => {
      await page.goto(`${URL_}/#/history`);
      await page.locator('#history-view:not([hidden])').waitFor();
      await page.locator('#history-expr').fill('system_cpu_usage_percent{cpu="total"}');
      await page.locator('#history-run').click();
      await until(() => page.evaluate(() => window.__omega.points() > 0), 10_000, 'the history view drew no points');
      assert(!(await page.locator('#login-view').isVisible()), 'the history view sent us to login');
      const res = await fetch(`${URL_}/api/v1/labels`, { headers: { Authorization: `Bearer ${first.token}` } });
      assert(res.status === 401, `the first (renewed) token still works: HTTP ${res.status}`);
      await s.shot('session-renewed');
    });

    await s.checkConsole();
  } finally {
    if (restarted) {
      // Leave the app first: a renewal during the restart would fail in the console.
      if (s.page) await s.page.goto('about:blank').catch(() => {});
      const report = await restartServer(60_000).catch((e) => `failed: ${e.message}`);
      console.log(`# back to the defaults: ${report}`);
    }
  }
});
