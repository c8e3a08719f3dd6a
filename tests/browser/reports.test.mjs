// SPDX-License-Identifier: Apache-2.0
// Browser test of the Reports view against the real server: an analyst downloads a CSV
// report of the last hour through the form (file name from Content-Disposition, content holds
// the server's own CPU figures and a job started through the API), an HTML report whose job
// label carries markup renders that markup inert when the file is opened, a refused period
// shows the server's message as text, and a viewer sees no Reports link and is refused
// #/reports. Prints "N passed, M failed" last.

import { apiCall, apiLogin, assert, run, until, URL_, USER, PASSWORD } from './lib.mjs';

const INJ_HTML = '<img src=x onerror=alert(1)>';
const stamp = Date.now().toString(36);
const PW = 'reports-Pa55word-0123';

await run('reports', 150_000, async (s) => {
  const admin = await apiLogin(USER, PASSWORD);
  const users = { analyst: `rep-analyst-${stamp}`, viewer: `rep-viewer-${stamp}` };
  for (const [role, username] of Object.entries(users)) {
    const r = await apiCall(admin.token, 'POST', '/api/v1/users', { username, password: PW, role });
    assert(r.status === 201, `create ${role}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  }
  const id = `rep-${stamp}`;
  let r = await apiCall(admin.token, 'POST', `/api/v1/operations/${id}/start`,
    { kind: 'compile', labels: { target: INJ_HTML } });
  assert(r.status === 201, `job start: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  r = await apiCall(admin.token, 'POST', `/api/v1/operations/${id}/end`, { status: 'ok' });
  assert(r.status === 200, `job end: HTTP ${r.status}`);

  const page = await s.open();
  let dialogs = 0;
  page.on('dialog', async (d) => {
    dialogs += 1; // an executed injection
    await d.accept();
  });
  const status = () => page.locator('#report-status').textContent();

  await s.check('(a) an analyst downloads a CSV report of the last hour', async () => {
    await s.login(page, users.analyst, PW, '#/reports');
    await page.locator('#reports-view').waitFor({ state: 'visible' });
    assert(await page.locator('#nav a[data-route="reports"]').isVisible(), 'the Reports link is hidden from an analyst');
    await page.locator('#report-type').selectOption('custom');
    const now = Date.now();
    const local = (ms) => {
      const d = new Date(ms);
      const p = (n) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    };
    await page.locator('#report-from').fill(local(now - 3600e3));
    await page.locator('#report-to').fill(local(now + 120e3));
    await page.locator('#report-format').selectOption('csv');
    const { name, bytes } = await s.download(page, () => page.locator('#report-submit').click());
    const text = bytes.toString('utf8');
    assert(/^omega-custom-\d{8}T\d{6}Z-\d{8}T\d{6}Z\.csv$/.test(name), `file name "${name}"`);
    assert(text.startsWith('report,type,from,to\r\n'), `CSV starts "${text.slice(0, 40)}"`);
    assert(text.includes('section,table,metric,unit,avg,p95,max'), 'no resource table header in the CSV');
    assert(/system_resources,Resource usage,CPU usage,%,\d/.test(text), 'no CPU usage row in the CSV');
    assert(text.includes(INJ_HTML), 'the job label is not in the CSV');
    await until(async () => /Downloaded/.test(await status()), 5000, async () => `status: ${await status()}`);
    await s.shot('reports-view');
  });

  await s.check('(b) markup in a label stays inert in the HTML report', async () => {
    await page.locator('#report-format').selectOption('html');
    const { name, bytes } = await s.download(page, () => page.locator('#report-submit').click());
    assert(name.endsWith('.html'), `file name "${name}"`);
    const html = bytes.toString('utf8');
    assert(!html.includes(INJ_HTML), 'the raw markup is in the HTML file');
    assert(!/<script/i.test(html), 'the report holds a script');
    const view = await s.context.newPage();
    s.watch(view);
    view.on('dialog', async (d) => {
      dialogs += 1;
      await d.accept();
    });
    await view.setContent(html, { waitUntil: 'load' });
    assert(await view.locator('img').count() === 0, 'an <img> element was created from the label');
    const cell = view.locator('td', { hasText: INJ_HTML });
    assert(await cell.count() >= 1, 'the label does not show as text');
    assert(await view.locator('svg polyline').count() > 0, 'the report has no chart');
    await s.shot('reports-html', view);
    await view.close();
    assert(dialogs === 0, `an injected script ran (${dialogs} dialog(s))`);
  });

  await s.check('(c) a refused period shows the server\'s message', async () => {
    s.expectConsoleError('the refused report period', /status of 400 .*\/api\/v1\/reports/, 1);
    await page.locator('#report-from').fill('2026-01-02T00:00');
    await page.locator('#report-to').fill('2026-01-01T00:00');
    await page.locator('#report-submit').click();
    await until(async () => /refused: to: must be after from/.test(await status()), 5000,
      async () => `status: ${await status()}`);
  });

  await s.check('(d) a viewer has no Reports link and is refused #/reports', async () => {
    await page.locator('#logout').click();
    await s.login(page, users.viewer, PW, '#/reports');
    await page.locator('#denied-view').waitFor({ state: 'visible' });
    const text = await page.locator('#denied-text').textContent();
    assert(/analyst, admin or superuser/.test(text), `denied text "${text}"`);
    assert(!(await page.locator('#nav a[data-route="reports"]').isVisible()), 'the Reports link shows for a viewer');
    assert(!(await page.locator('#reports-view').isVisible()), 'the reports form shows for a viewer');
    const v = await apiLogin(users.viewer, PW);
    const res = await apiCall(v.token, 'POST', '/api/v1/reports', { type: 'daily', format: 'csv' });
    assert(res.status === 403, `viewer POST /api/v1/reports: HTTP ${res.status}`);
  });

  await s.checkConsole();
});
