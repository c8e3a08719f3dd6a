// SPDX-License-Identifier: Apache-2.0
// Browser test of login and the real-time view: a wrong password shows the server's error and
// stays on login; a real login opens #/live with the role in the header; the CPU and memory
// charts gain points (window.__omegaLive.points(id); backfilled from /api/v1/query_range
// when the server has it, then live); the badge reads "live" and the readouts
// hold numbers; disk, network, health, alerts and jobs panels show data or their honest empty
// state; PNG and CSV exports download non-empty files; screenshots of the login error and of
// the live page in dark, light and phone layouts; a rule that starts firing shows in the alert
// overview without a reload, its markup as text, and leaves it when deleted; no console or
// page errors beyond the declared ones. Prints "N passed, M failed" last.

import { absentEndpoints, apiCall, apiLogin, assert, PASSWORD, run, sleep, until, URL_, USER } from './lib.mjs';

const FIRST_POINT_MS = 3_000; // both charts must grow this soon after the live view shows
const POLL_BUDGET_MS = 10_000; // total time the point polling may take

await run('live', 200_000, async (s) => {
  const admin = await apiLogin(USER, PASSWORD);
  const absent = await absentEndpoints(admin.token);
  const page = await s.open();
  s.expectAbsent(absent);

  await s.check('(a) a wrong password shows the server error and stays on login', async () => {
    await page.goto(`${URL_}/`, { waitUntil: 'load' });
    await page.locator('#login-view').waitFor({ state: 'visible' });
    await page.getByLabel('Username', { exact: true }).fill(USER);
    await page.getByLabel('Password', { exact: true }).fill(`${PASSWORD}-wrong`);
    const provoked = s.expectConsoleError('the wrong-password request answered 401',
      /^Failed to load resource: .*\b401\b.*\/api\/v1\/auth\/login\b/, 1);
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    const res = await answer;
    assert(res.status() === 401, `wrong password: expected HTTP 401, got ${res.status()}`);
    const body = await res.json();
    assert(typeof body.error === 'string' && body.error, 'the 401 body has no "error" text');
    const shown = page.locator('#login-error');
    await shown.waitFor({ state: 'visible' });
    const text = (await shown.textContent()).trim();
    assert(text === body.error, `login error shows "${text}", server said "${body.error}"`);
    assert(await page.locator('#login-view').isVisible(), 'login view was left after a wrong password');
    assert(!(await page.locator('#live-view').isVisible()), 'live view shown after a wrong password');
    assert(!(await page.locator('#nav').isVisible()), 'navigation shown before login');
    await s.shot('login-error');
    for (let i = 0; i < 10 && provoked.seen === 0; i++) await sleep(100); // let the log arrive
    provoked.active = false;
  });

  let liveShownAt = 0;
  await s.check('(b) a real login opens the live page', async () => {
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#live-view:not([hidden]), #login-error:not([hidden])').first().waitFor();
    if (await page.locator('#login-error').isVisible()) {
      throw new Error(`login refused: "${(await page.locator('#login-error').textContent()).trim()}"`);
    }
    liveShownAt = Date.now();
    assert(!(await page.locator('#login-view').isVisible()), 'login view still visible after login');
    const role = (await page.locator('#role').textContent()).trim();
    assert(role.includes('superuser'), `header role reads "${role}", expected the admin's superuser role`);
    assert(page.url().endsWith('#/live'), `URL after login is ${page.url()}, expected #/live`);
    const current = await page.locator('#nav a[aria-current="page"]').textContent();
    assert(current.trim() === 'Live', `the current nav item is "${current}"`);
    assert(await page.locator('#nav a[data-route="admin"]').isVisible(), 'the Admin link is hidden for a superuser');
    const stored = await page.evaluate(() => sessionStorage.getItem('omega.session'));
    assert(stored && JSON.parse(stored).token, 'no token in sessionStorage after login');
  });

  await s.check('(c) the CPU and memory charts gain points', async () => {
    const counts = () => page.evaluate(() => ({ cpu: window.__omegaLive.points('cpu'), mem: window.__omegaLive.points('mem') }));
    const deadline = liveShownAt + POLL_BUDGET_MS;
    const waitGrowth = async (from, label) => {
      for (;;) {
        const now = await counts();
        if (now.cpu > from.cpu && now.mem > from.mem) return now;
        if (Date.now() > deadline) {
          throw new Error(`${label}: points cpu ${from.cpu} -> ${now.cpu}, mem ${from.mem} -> ${now.mem} `
            + `after ${Date.now() - liveShownAt} ms`);
        }
        await sleep(100);
      }
    };
    const start = await counts();
    const first = await waitGrowth(start, 'no growth');
    const firstMs = Date.now() - liveShownAt;
    assert(firstMs <= FIRST_POINT_MS, `charts first grew ${firstMs} ms after the live view showed (limit ${FIRST_POINT_MS} ms)`);
    const second = await waitGrowth(first, 'no second update');
    console.log(`# points cpu ${start.cpu} -> ${first.cpu} -> ${second.cpu}, `
      + `mem ${start.mem} -> ${first.mem} -> ${second.mem}; first growth after ${firstMs} ms`);
  });

  await s.check('(d) the status badge reads live and the readouts hold numbers', async () => {
    const badge = page.locator('#conn');
    const text = (await badge.textContent()).trim();
    assert(text === 'live', `badge reads "${text}"`);
    assert(await badge.isVisible(), 'badge is not visible');
    const status = (await page.locator('#stream-status').textContent()).trim();
    assert(status === '', `stream status line reports: ${status}`);
    const cpu = (await page.locator('#cpu-value').textContent()).trim();
    const mem = (await page.locator('#mem-value').textContent()).trim();
    const detail = (await page.locator('#mem-detail').textContent()).trim();
    assert(/^\d+(\.\d)? %$/.test(cpu), `CPU readout is "${cpu}"`);
    assert(/^\d+(\.\d)? %$/.test(mem), `memory readout is "${mem}"`);
    assert(/ of /.test(detail), `memory used/total readout is "${detail}"`);
  });

  await s.check('(e) disk, network, health, alerts and jobs show data or an honest empty state', async () => {
    // Disk and network: either points (rates need two counter samples) or the empty note.
    for (const id of ['disk', 'net']) {
      await until(async () => (await page.evaluate((i) => window.__omegaLive.points(i), id)) > 0
        || page.locator(`#${id}-empty`).isVisible(), 5000, `${id}: neither points nor the empty state`);
      const pts = await page.evaluate((i) => window.__omegaLive.points(i), id);
      const empty = await page.locator(`#${id}-empty`).isVisible();
      assert(pts > 0 !== empty, `${id}: ${pts} points and the empty note ${empty ? 'shown' : 'hidden'}`);
      const note = empty ? (await page.locator(`#${id}-empty`).textContent()).trim() : '';
      assert(!empty || /^(No .* metrics reported yet|Measuring…)/.test(note), `${id}: empty note reads "${note}"`);
      console.log(`# ${id}: ${pts ? `${pts} points` : `empty state: ${note}`}`);
    }
    const health = (await page.locator('#health').textContent()).trim();
    if (absent.includes('/api/v1/health')) assert(health === 'health: not reported', `health badge reads "${health}"`);
    else assert(/^health: (healthy|degraded|critical)/.test(health), `health badge reads "${health}"`);
    const alerts = (await page.locator('#alerts-empty').textContent()).trim();
    if (absent.includes('/api/v1/alerts')) {
      assert(/not reported by this server yet/.test(alerts), `alerts panel reads "${alerts}"`);
    } else {
      assert(/^\d+$/.test((await page.locator('#alerts-firing').textContent()).trim()), 'no firing count');
    }
    const jobs = await page.locator('#jobs-empty').textContent();
    if (absent.includes('/api/v1/operations')) assert(jobs.trim() === 'No jobs reported yet.', `jobs panel reads "${jobs}"`);
    console.log(`# health "${health}"; alerts "${alerts}"; jobs "${jobs.trim()}"`);
  });

  await s.check('(f) PNG and CSV exports of the CPU chart download non-empty files', async () => {
    const head = page.locator('[data-chart="cpu"]');
    const png = await s.download(page, () => head.getByRole('button', { name: /as PNG/ }).click());
    assert(png.name === 'cpu-utilisation.png', `PNG file name is ${png.name}`);
    assert(png.bytes.length > 1000 && png.bytes.subarray(1, 4).toString() === 'PNG', `PNG export: ${png.bytes.length} bytes`);
    const csv = await s.download(page, () => head.getByRole('button', { name: /as CSV/ }).click());
    const lines = csv.bytes.toString('utf8').trim().split(/\r\n/);
    assert(lines[0].startsWith('time,') && lines[0].includes('total'), `CSV header is "${lines[0]}"`);
    assert(lines.length >= 3 && /^\d{4}-\d\d-\d\dT/.test(lines[1]), `CSV has ${lines.length} lines: ${lines[1]}`);
    console.log(`# exports: ${png.bytes.length} bytes PNG, ${lines.length - 1} CSV rows`);
  });

  await s.check('(g) screenshots: dark, light, phone', async () => {
    const before = await page.evaluate(() => window.__omegaLive.points('cpu'));
    await page.locator('#window-select').selectOption('1');
    const after = await page.evaluate(() => window.__omegaLive.points('cpu'));
    // The window was backfilled from history, so a shorter one drops the older points only.
    assert(after > 0 && after <= before, `switching to 1 min: points ${before} -> ${after}`);
    console.log(`# window 5 min -> 1 min: cpu points ${before} -> ${after}`);
    await s.shot('live');
    await page.locator('#theme-toggle').click();
    const theme = await page.evaluate(() => document.documentElement.dataset.theme);
    assert(theme === 'light', `theme toggle left data-theme="${theme}"`);
    await s.shot('live-light');
    await page.locator('#theme-toggle').click();
    await page.setViewportSize({ width: 390, height: 844 });
    await sleep(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(overflow <= 1, `phone layout scrolls sideways by ${overflow} px`);
    await s.shot('live-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await s.check('(h) the alert overview counts a rule that starts firing, lists it as text, drops it when deleted', async () => {
    if (absent.includes('/api/v1/alerts')) {
      console.log('# alerts API absent: the overview\'s empty state was checked in (e)');
      return;
    }
    const stamp = Date.now().toString(36);
    const name = `Live <img src=x onerror="window.__xss=1"> ${stamp}`;
    const firing = async () => Number((await page.locator('#alerts-firing').textContent()).trim());
    const before = await firing();
    const r = await apiCall(admin.token, 'POST', '/api/v1/alerts/rules',
      { name, expr: 'system_memory_total_bytes', op: '>', warning: 0, for: '0s', category: 'system' });
    assert(r.status === 201, `creating the rule: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    // Under the page's 30 s refresh: the stream's alert frame triggers the reload.
    const item = page.locator('#alerts-list li', { hasText: stamp });
    await item.first().waitFor({ timeout: 20_000 });
    assert((await item.first().locator('strong').textContent()) === name, 'the rule name is altered');
    assert((await item.first().getAttribute('data-state')) === 'firing', 'the alert is not listed as firing');
    assert(await firing() >= before + 1, `firing count ${before} -> ${await firing()}`);
    assert(await page.locator('#live-view img').count() === 0, 'the rule name became an <img> element');
    assert(await page.evaluate(() => window.__xss === undefined), 'the rule name ran script');
    await s.shot('live-alert');
    const d = await apiCall(admin.token, 'DELETE', `/api/v1/alerts/rules/${encodeURIComponent(r.body.id)}`);
    assert(d.status === 204, `deleting the rule: HTTP ${d.status}`);
    // Deleting a rule sends no alert frame: the overview's 30 s refresh drops it.
    await until(async () => (await item.count()) === 0, 45_000, 'the deleted rule\'s alert is still listed');
  });

  await s.checkConsole();
});
