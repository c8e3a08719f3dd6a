// SPDX-License-Identifier: Apache-2.0
// Browser test of the job parts of the dashboard against the real server: operations started
// through the API appear in the real-time view's "Active jobs" list (pushed by the live `job`
// frames, no reload), leave it when they end, and the historical view's "Compilation success
// rate" and "Job failures per hour" panels draw them (one ok + one failed job of one kind =
// 50 %). Screenshots of both. Prints "N passed, M failed" last.

import { apiCall, apiLogin, assert, run, until, URL_ } from './lib.mjs';

const PUSH_MS = 5_000; // a live frame reaches the list this soon

await run('jobs', 120_000, async (s) => {
  const admin = await apiLogin(process.env.OMEGA_USER || 'admin', process.env.OMEGA_PASSWORD);
  const page = await s.open();
  const tag = `bt${Date.now()}`;
  const ids = { front: `${tag}-frontend`, back: `${tag}-backend` };
  const listText = () => page.locator('#jobs-list').innerText();

  await s.check('(a) started jobs appear in the live view without a reload', async () => {
    await s.login(page, undefined, undefined, '#/live');
    await page.locator('#live-view').waitFor({ state: 'visible' });
    // The job frames go to sockets with a subscription: wait for the first chart point.
    await until(() => page.evaluate(() => window.__omegaLive.points('cpu') > 0), 10_000,
      'the live CPU chart got no point (stream not subscribed)');
    let r = await apiCall(admin.token, 'POST', `/api/v1/operations/${ids.front}/start`,
      { kind: 'compile', labels: { job: `frontend-${tag}` } });
    assert(r.status === 201, `start: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    await until(async () => (await listText()).includes(`frontend-${tag}`), PUSH_MS,
      async () => `the active list reads "${await listText()}"`);
    r = await apiCall(admin.token, 'POST', `/api/v1/operations/${ids.back}/start`,
      { kind: 'compile', labels: { job: `backend-${tag}` } });
    assert(r.status === 201, `start: HTTP ${r.status}`);
    await until(async () => (await listText()).includes(`backend-${tag}`), PUSH_MS,
      async () => `the active list reads "${await listText()}"`);
    const count = (await page.locator('#jobs-count').innerText()).trim();
    assert(count === '2 running', `the count reads "${count}"`);
    assert(!(await page.locator('#jobs-empty').isVisible()), 'the empty state shows next to running jobs');
    await s.shot('jobs-live');
  });

  await s.check('(b) ended jobs leave the list', async () => {
    let r = await apiCall(admin.token, 'POST', `/api/v1/operations/${ids.front}/end`,
      { status: 'failed', phases: { lexical: 120, codegen: 900 }, attributes: { exit_code: 2 } });
    assert(r.status === 200, `end: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    r = await apiCall(admin.token, 'POST', `/api/v1/operations/${ids.back}/end`, { status: 'ok' });
    assert(r.status === 200, `end: HTTP ${r.status}`);
    await until(async () => !(await listText()).includes(tag), PUSH_MS,
      async () => `the active list still reads "${await listText()}"`);
    await page.locator('#jobs-empty').waitFor({ state: 'visible' });
  });

  await s.check('(c) the historical view draws success rate and failures', async () => {
    await page.goto(`${URL_}/#/history?range=15m`);
    await page.locator('#history-view').waitFor({ state: 'visible' });
    const ys = (id) => page.evaluate((canvas) => {
      const c = window.Chart.getChart(document.getElementById(canvas));
      return c ? c.data.datasets.flatMap((d) => d.data.map((p) => p.y)).filter(Number.isFinite) : [];
    }, id);
    await until(async () => (await ys('jobs-success-chart')).length > 0, 10_000,
      'the success-rate panel drew no point');
    const success = await ys('jobs-success-chart');
    assert(success.some((y) => Math.abs(y - 50) < 0.5),
      `one ok and one failed job should read 50 %, the panel holds ${success.slice(-5).join(', ')}`);
    await until(async () => (await ys('jobs-errors-chart')).some((y) => y > 0), 10_000,
      'the failures panel drew no positive point');
    assert(!(await page.locator('#jobs-success-empty').isVisible()), 'the success panel shows its empty state');
    await s.shot('jobs-history');
  });

  await s.checkConsole();
});
