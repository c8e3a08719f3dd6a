// SPDX-License-Identifier: Apache-2.0
// Browser test of the historical view and role-aware navigation: a range query renders
// exactly the points the API returned, with a step of at most one point per 2 px; a drag on
// the chart zooms (the next query asks for the dragged sub-range); a bad expression shows the
// API's own error text inline; series-picker label values holding HTML render as text;
// PNG/CSV exports; the comparative view's % change and regression flag match a hand
// computation from the served data; a viewer sees no Admin link and is refused #/admin.
// Two series fixture_metric{host="a"} and {host="<img ...>"} are written through
// /api/v1/import over the last 2 hours (run.sh widens storage.out_of_order_window for it).
// Endpoints this server does not offer yet (import, query_range, series, label values) are
// served by contract fixtures in the Prometheus HTTP API shapes computing the same values,
// and the output says so. Prints "N passed, M failed" last.

import { absentEndpoints, apiCall, apiLogin, assert, PASSWORD, run, sleep, until, USER } from './lib.mjs';

const EVIL = '<img src=x onerror="window.__xss=1">';
const HOSTS = ['a', EVIL];
const value = (tSec, k) => 50 + 20 * Math.sin(tSec / 600 + k);
const SEED_S = 2 * 3600; // seeded history
const SEED_STEP_S = 10;

/** Fixture /api/v1/query_range: two series, one point per step from start to end. */
function fixtureRange(url) {
  const q = url.searchParams.get('query') || '';
  if (/\($|\(\s*$/.test(q)) {
    return { status: 400, body: { status: 'error', errorType: 'bad_data', error: `invalid parameter 'query': 1:${q.length + 1}: parse error: unexpected end of input` } };
  }
  const start = Number(url.searchParams.get('start'));
  const end = Number(url.searchParams.get('end'));
  const step = Number(url.searchParams.get('step'));
  const result = HOSTS.map((host, k) => {
    const values = [];
    for (let t = start; t <= end; t += step) values.push([t, String(value(t, k))]);
    return { metric: { __name__: 'fixture_metric', host }, values };
  });
  return { status: 200, body: { status: 'success', data: { resultType: 'matrix', result } } };
}

await run('views', 150_000, async (s) => {
  const admin = await apiLogin(USER, PASSWORD);
  const absent = await absentEndpoints(admin.token);
  const importAbsent = (await apiCall(admin.token, 'POST', '/api/v1/import', [])).status === 404;
  if (!importAbsent) {
    const now = Math.floor(Date.now() / 1000);
    const body = HOSTS.map((host, k) => {
      const samples = [];
      for (let t = now - SEED_S; t <= now; t += SEED_STEP_S) samples.push([t * 1000, value(t, k)]);
      return { metric: 'fixture_metric', labels: { host }, samples };
    });
    const r = await apiCall(admin.token, 'POST', '/api/v1/import', body);
    assert(r.status === 204 || r.status === 200, `seeding through /api/v1/import: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    console.log(`# seeded fixture_metric: 2 series x ${SEED_S / SEED_STEP_S + 1} samples`);
  }
  const page = await s.open();
  s.expectAbsent(absent.filter((p) => !/query_range|series|label\//.test(p)));
  const fixtures = [];
  const fulfil = (pattern, make, path) => {
    fixtures.push(path);
    return page.route(pattern, (route) => {
      const { status, body } = make(new URL(route.request().url()));
      route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
    });
  };
  if (absent.includes('/api/v1/query_range')) await fulfil('**/api/v1/query_range?**', fixtureRange, '/api/v1/query_range');
  if (absent.includes('/api/v1/series')) {
    await fulfil('**/api/v1/series?**', () => ({ status: 200, body: { status: 'success', data: [
      { __name__: 'fixture_metric', host: 'a' }, { __name__: 'fixture_metric', host: EVIL }] } }), '/api/v1/series');
  }
  if (absent.includes('/api/v1/label/__name__/values')) {
    await fulfil('**/api/v1/label/__name__/values', () => ({ status: 200, body: { status: 'success', data: ['fixture_metric', 'system_load1'] } }),
      '/api/v1/label/__name__/values');
  }
  console.log(fixtures.length
    ? `# contract fixtures stand in for endpoints this server lacks: ${fixtures.join(' ')}`
    : '# every endpoint is served by the real server');
  const realRange = !fixtures.includes('/api/v1/query_range');
  assert(!realRange || !importAbsent, 'the server has query_range but no import: cannot seed the data the checks read');

  await s.login(page);
  const ranges = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/query_range?')) ranges.push(new URL(r.url()).searchParams);
  });

  /** Run expr; resolves to the status and JSON the API answered for it. */
  async function runQuery(expr) {
    const answer = page.waitForResponse((r) => r.url().includes('/api/v1/query_range?')
      && new URL(r.url()).searchParams.get('query') === expr);
    await page.locator('#history-expr').fill(expr);
    await page.getByRole('button', { name: 'Run query' }).click();
    const res = await answer;
    return { status: res.status(), body: await res.json() };
  }

  await s.check('(a) a range query renders exactly the points the API returned', async () => {
    await page.locator('#nav').getByRole('link', { name: 'History' }).click();
    await page.locator('#history-view').waitFor({ state: 'visible' });
    await page.locator('#range-preset').selectOption('15m');
    const { status, body } = await runQuery('fixture_metric');
    assert(status === 200, `query_range answered ${status}: ${JSON.stringify(body)}`);
    const expected = body.data.result.reduce((n, r) => n + r.values.length, 0);
    assert(expected > 0, 'the range query returned no points');
    await until(async () => (await page.evaluate(() => window.__omega.points())) === expected, 3000,
      async () => `chart holds ${await page.evaluate(() => window.__omega.points())} points, API returned ${expected}`);
    const p = ranges[ranges.length - 1];
    const width = await page.locator('#history-chart').evaluate((c) => c.clientWidth);
    const span = Number(p.get('end')) - Number(p.get('start'));
    const step = Number(p.get('step'));
    assert(Math.abs(span - 900) < 2, `15-minute preset asked for ${span} s`);
    assert(span / step <= width / 2 + 1, `step ${step} s gives ${span / step} points on ${width} px`);
    assert(span / step <= 11000, 'more than 11,000 points per series');
    const info = await page.locator('#range-info').textContent();
    assert(info.includes(`${expected} points`), `range info reads "${info}"`);
    assert(page.url().includes('#/history?') && page.url().includes('range=15m'), `URL state: ${page.url()}`);
    console.log(`# ${realRange ? 'real' : 'fixture'} query_range: ${body.data.result.length} series, ${expected} points, step ${step} s on ${width} px`);
    await s.shot('history');
  });

  await s.check('(b) dragging across the chart zooms into that range', async () => {
    const before = ranges[ranges.length - 1];
    const [s0, e0] = [Number(before.get('start')), Number(before.get('end'))];
    const box = await page.locator('#history-chart').boundingBox();
    const answer = page.waitForResponse((r) => r.url().includes('/api/v1/query_range?'));
    const y = box.y + box.height * 0.4;
    await page.mouse.move(box.x + box.width * 0.4, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, y, { steps: 8 });
    await page.mouse.up();
    await answer;
    const after = ranges[ranges.length - 1];
    const [s1, e1] = [Number(after.get('start')), Number(after.get('end'))];
    assert(s1 > s0 && e1 < e0, `zoomed range ${s1}..${e1} is not inside ${s0}..${e0}`);
    assert((e1 - s1) < (e0 - s0) * 0.5, `zoomed span ${e1 - s1} s of ${e0 - s0} s`);
    assert(await page.locator('#range-preset').inputValue() === 'custom', 'range picker did not switch to the absolute range');
    assert(await page.locator('#zoom-reset').isVisible(), 'no Reset zoom button');
    assert(page.url().includes('from=') && page.url().includes('to='), `URL after zoom: ${page.url()}`);
    console.log(`# zoom: ${Math.round(e0 - s0)} s -> ${Math.round(e1 - s1)} s`);
    await page.locator('#zoom-reset').click();
    await until(async () => (await page.locator('#range-preset').inputValue()) === '15m', 3000, 'reset zoom did not restore the preset');
  });

  await s.check('(c) a bad expression shows the API error text inline', async () => {
    const provoked = s.expectConsoleError('the deliberate bad expression answered 400',
      /^Failed to load resource: .*\b400\b.*\/api\/v1\/query_range/, 1);
    const { status, body } = await runQuery('rate(');
    assert(status === 400, `bad expression answered ${status}`);
    const shown = page.locator('#history-error');
    await shown.waitFor({ state: 'visible' });
    const text = (await shown.textContent()).trim();
    assert(text === body.error, `inline error "${text}", API said "${body.error}"`);
    assert(await page.locator('#history-expr').getAttribute('aria-invalid') === 'true', 'input not marked invalid');
    assert(await page.locator('#history-empty').isVisible(), 'the failed query left a chart with no explanation');
    await s.shot('history-error');
    await sleep(200);
    provoked.active = false;
  });

  await s.check('(d) label values holding HTML render as text (series picker, CSV)', async () => {
    await page.locator('#series-picker summary').click();
    await page.locator('#picker-metric').fill('fixture_metric');
    await page.locator('#picker-metric').dispatchEvent('change');
    await until(async () => (await page.locator('#picker-label option').count()) > 1, 3000, 'no label names in the picker');
    await page.locator('#picker-label').selectOption('host');
    await until(async () => (await page.locator('#picker-value option').count()) > 2, 3000, 'no label values in the picker');
    const texts = await page.locator('#picker-value option').allTextContents();
    assert(texts.includes(EVIL), `picker values: ${JSON.stringify(texts)}`);
    assert(await page.locator('img[src="x"]').count() === 0, 'the label value became an <img> element');
    assert(await page.evaluate(() => window.__xss === undefined), 'the label value ran script');
    {
      await runQuery('fixture_metric');
      const csv = await s.download(page, () => page.locator('#history-view').getByRole('button', { name: /as CSV/ }).click());
      const header = csv.bytes.toString('utf8').split('\r\n')[0];
      assert(header.includes('<img src=x onerror=\\""window.__xss=1\\"">'), `CSV header: ${header}`);
      const png = await s.download(page, () => page.locator('#history-view').getByRole('button', { name: /as PNG/ }).click());
      assert(png.bytes.length > 1000, `PNG export: ${png.bytes.length} bytes`);
    }
  });

  await s.check('(e) comparative view: % change per pair matches a hand computation', async () => {
    await page.locator('#nav').getByRole('link', { name: 'Compare' }).click();
    await page.locator('#compare-view').waitFor({ state: 'visible' });
    const mean = (values) => {
      const ys = values.map(([, v]) => Number(v)).filter(Number.isFinite);
      return ys.reduce((a, b) => a + b, 0) / ys.length;
    };
    const expectRow = async (wantPct, what) => {
      const row = page.locator('#cmp-table tbody tr').first();
      await row.waitFor();
      const cells = await row.locator('td').allTextContents();
      const want = `${wantPct >= 0 ? '+' : ''}${wantPct.toFixed(1)} %`;
      assert(cells[3] === want, `${what}: table says ${cells[3]}, hand computation ${want} (${cells.join(' | ')})`);
      const flag = Math.abs(wantPct) > 10 ? (wantPct > 0 ? 'regression' : 'improvement') : '–';
      assert(cells[4] === flag, `${what}: flag "${cells[4]}", expected "${flag}"`);
      console.log(`# ${what}: ${cells.join(' | ')}`);
      return cells;
    };
    // Two values of a label, paired on the other labels.
    await page.locator('#cmp-mode').selectOption('labels');
    const [label, a, b] = ['host', 'a', EVIL];
    await page.locator('#cmp-expr').fill('fixture_metric');
    await page.locator('#cmp-label').fill(label);
    await page.locator('#cmp-a').fill(a);
    await page.locator('#cmp-b').fill(b);
    await page.locator('#cmp-range').selectOption('15m');
    const answer = page.waitForResponse((r) => r.url().includes('/api/v1/query_range?'));
    await page.getByRole('button', { name: 'Compare' }).click();
    const body = await (await answer).json();
    const side = (v) => body.data.result.find((r) => r.metric[label] === v);
    const cells = await expectRow((mean(side(b).values) - mean(side(a).values)) / Math.abs(mean(side(a).values)) * 100, 'label pair');
    assert(cells[0].includes(EVIL), `pair name does not show the label value as text: ${cells[0]}`);
    assert(await page.locator('img[src="x"]').count() === 0, 'a label value became an <img> element');
    await s.shot('compare');
    {
      // Before/after over a 1-hour offset (the seeded data covers 2 hours).
      await page.locator('#cmp-mode').selectOption('offset');
      await page.locator('#cmp-offset').selectOption('1h');
      await page.locator('#cmp-expr').fill('fixture_metric{host="a"}');
      const both = [];
      const seen = new Promise((resolve) => {
        const fn = async (r) => {
          if (!r.url().includes('/api/v1/query_range?')) return;
          both.push({ start: Number(new URL(r.url()).searchParams.get('start')), body: await r.json() });
          if (both.length === 2) {
            page.off('response', fn);
            resolve();
          }
        };
        page.on('response', fn);
      });
      await page.getByRole('button', { name: 'Compare' }).click();
      await seen;
      both.sort((x, y) => x.start - y.start);
      const before = mean(both[0].body.data.result[0].values);
      const after = mean(both[1].body.data.result[0].values);
      assert(Math.abs(both[1].start - both[0].start - 3600) < 1, 'the before query is not one hour earlier');
      await until(async () => (await page.locator('#cmp-table tbody tr td').first().textContent()).includes('host="a"'), 3000, 'table not updated');
      await expectRow((after - before) / Math.abs(before) * 100, 'before/after 1h');
    }
  });

  await s.check('(f) a viewer sees no Admin link and is refused #/admin', async () => {
    const viewer = { username: 'viewer1', password: 'viewer-Pa55word-0123', role: 'viewer' };
    const made = await apiCall(admin.token, 'POST', '/api/v1/users', viewer);
    assert(made.status === 201 || made.status === 200 || made.status === 409, `creating a viewer: HTTP ${made.status} ${JSON.stringify(made.body)}`);
    await page.locator('#logout').click();
    await page.locator('#login-view').waitFor({ state: 'visible' });
    await s.login(page, viewer.username, viewer.password);
    assert((await page.locator('#role').textContent()).includes('viewer'), 'header does not show the viewer role');
    assert(!(await page.locator('#nav a[data-route="admin"]').isVisible()), 'the Admin link is visible to a viewer');
    await page.evaluate(() => { location.hash = '#/admin'; });
    await page.locator('#denied-view').waitFor({ state: 'visible' });
    assert(!(await page.locator('#admin-view').isVisible()), 'the admin view is shown to a viewer');
    const text = await page.locator('#denied-text').textContent();
    assert(/needs the admin role/.test(text), `denied text: ${text}`);
    await page.evaluate(() => { location.hash = '#/dashboards'; });
    await page.locator('#dash-list-pane').waitFor({ state: 'visible' });
    assert(!(await page.locator('#dash-new').isVisible()), 'a viewer is offered "New dashboard"');
    await s.shot('viewer-denied');
  });

  await s.checkConsole();
});
