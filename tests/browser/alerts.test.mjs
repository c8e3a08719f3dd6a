// SPDX-License-Identifier: Apache-2.0
// Browser test of the alerts view against the real server: a rule created through the API
// (system_memory_total_bytes > 0, for 0s, with markup and SQL in its name) shows up firing in
// the open page through the live stream's alert frames, and is acknowledged from the page;
// history lists its transitions; the rule editor shows the API's validation error next to
// the expression and saves and edits rules; a built-in rule is edited (its identity fields
// locked, then shown "modified"), disabled, enabled and restored to its default; silences and channels
// (with "Send test") are created and deleted. Injected strings must render as inert text.

import { absentEndpoints, apiCall, apiLogin, assert, run, until, USER, PASSWORD } from './lib.mjs';

const stamp = Date.now().toString(36);
const RULE_NAME = `Mem <img src=x onerror=alert(1)> '; DROP TABLE rules; -- ${stamp}`;

await run('alerts', 200_000, async (s) => {
  const admin = await apiLogin(USER, PASSWORD);
  const page = await s.open();
  s.expectAbsent(await absentEndpoints(admin.token));
  let dialogs = 0;
  page.on('dialog', async (d) => {
    if (d.type() === 'alert') dialogs += 1;
    await d.accept();
  });
  const status = (id) => page.locator(`#${id}`).textContent();
  const inert = async () => {
    assert(dialogs === 0, `an injected script ran (${dialogs} alert dialog(s))`);
    assert(await page.locator('#alerts-view img').count() === 0, 'an <img> element was created from a server string');
  };
  let rule = null;
  const alertRow = () => page.locator('#active-table tr', { has: page.locator('.alert-name', { hasText: stamp }) });

  await s.check('the alerts page opens; a rule created through the API fires there without a reload', async () => {
    await s.login(page, USER, PASSWORD, '#/alerts');
    await page.locator('#alerts-active').waitFor({ state: 'visible' });
    await until(async () => (await status('active-status')).length > 0, 5000, 'the active list did not load');
    const r = await apiCall(admin.token, 'POST', '/api/v1/alerts/rules',
      { name: RULE_NAME, expr: 'system_memory_total_bytes', op: '>', warning: 0, for: '0s', category: 'system' });
    assert(r.status === 201, `creating the rule: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    rule = r.body;
    // No navigation, no polling in the page: the {"type":"alert"} frame triggers the refresh.
    await alertRow().first().waitFor({ timeout: 30_000 });
    const row = alertRow().first();
    assert((await row.locator('.state').textContent()) === 'firing', 'the alert is not firing');
    assert((await row.locator('.alert-name').textContent()) === RULE_NAME, 'the rule name is altered');
    assert(await page.evaluate(() => document.getElementById('alerts-live').textContent.length > 0), 'no live frame noted');
    await inert();
    await s.shot('alerts-active-firing');
  });

  await s.check('acknowledge the firing alert from the page', async () => {
    const row = alertRow().first();
    await row.getByRole('button', { name: /Acknowledge/ }).click();
    await until(async () => /acknowledged by admin/.test(await alertRow().first().locator('.alert-notes').textContent()), 5000, 'no acknowledgement shown');
    const list = (await apiCall(admin.token, 'GET', '/api/v1/alerts')).body.items.filter((a) => a.rule_id === rule.id);
    assert(list.length > 0 && list.every((a) => a.acknowledged), 'the server has no acknowledgement');
    await s.shot('alerts-acknowledged');
  });

  await s.check('history lists the firing and acknowledged transitions', async () => {
    await page.locator('#alerts-tab-history').click();
    await page.locator('#alerts-history').waitFor({ state: 'visible' });
    const rows = () => page.locator('#ahistory-table tr', { hasText: stamp });
    await until(async () => (await rows().count()) >= 2, 5000, async () => `history: ${await status('ahistory-status')}`);
    const events = await rows().locator('.state').allTextContents();
    assert(events.includes('firing') && events.includes('acknowledged'), `events: ${events.join(', ')}`);
    await inert();
    await s.shot('alerts-history');
  });

  await s.check('rule editor: the API\'s validation error appears next to the expression; save, edit, delete', async () => {
    s.expectConsoleError('the rule with a broken expression (422)', /status of 422 .*\/api\/v1\/alerts\/rules\b/, 1);
    await page.locator('#alerts-tab-rules').click();
    await page.locator('#alerts-rules').waitFor({ state: 'visible' });
    await page.locator('#rules-table .rule-name', { hasText: stamp }).first().waitFor();
    const f = page.locator('#rule-form');
    await f.locator('#rule-name').fill(`Broken ${stamp}`);
    await f.locator('#rule-expr').fill('sum(rate(');
    await f.locator('#rule-warning').fill('1');
    await page.getByRole('button', { name: 'Save rule' }).click();
    const problem = f.locator('.field-problem[data-for="expr"]');
    await problem.waitFor({ state: 'visible' });
    assert((await problem.textContent()).length > 0, 'empty expression problem');
    assert(await f.locator('#rule-expr').getAttribute('aria-invalid') === 'true', 'the expression is not marked invalid');
    await s.shot('alerts-rule-invalid');
    // Client-side: a threshold that is not a number.
    await f.locator('#rule-expr').fill('system_memory_total_bytes');
    await f.locator('#rule-warning').fill('lots');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await f.locator('.field-problem[data-for="warning"]').waitFor({ state: 'visible' });
    await f.locator('#rule-warning').fill('1');
    await f.locator('#rule-labels').fill(`team=qa-${stamp}`);
    await page.getByRole('button', { name: 'Save rule' }).click();
    await until(async () => /^Saved rule/.test(await status('rule-form-status')), 5000, async () => `save: ${await status('rule-form-status')}`);
    const row = page.locator('#rules-table tr', { has: page.locator('.rule-name', { hasText: `Broken ${stamp}` }) });
    await row.waitFor();
    await row.getByRole('button', { name: /^Edit/ }).click();
    assert(await f.locator('#rule-expr').inputValue() === 'system_memory_total_bytes', 'edit form not filled');
    assert(await f.locator('#rule-labels').inputValue() === `team=qa-${stamp}`, 'labels not filled');
    await f.locator('#rule-name').fill(`Edited ${stamp}`);
    await page.getByRole('button', { name: 'Save rule' }).click();
    const edited = page.locator('#rules-table tr', { has: page.locator('.rule-name', { hasText: `Edited ${stamp}` }) });
    await edited.waitFor();
    await edited.getByRole('button', { name: /^Delete/ }).click();
    await edited.waitFor({ state: 'detached' });
    await inert();
    await s.shot('alerts-rules');
  });

  await s.check('built-in rule: edit its threshold (shown modified), disable, enable, restore the default', async () => {
    const ID = 'builtin-process-count';
    const getRule = async () => (await apiCall(admin.token, 'GET', `/api/v1/alerts/rules/${ID}`)).body;
    const before = await getRule();
    assert(before.builtin === true && before.modified === false && before.enabled === true, `unexpected start: ${JSON.stringify(before)}`);
    const row = page.locator('#rules-table tr', { has: page.locator('.rule-name', { hasText: before.name }) }).first();
    assert(/built-in/.test(await row.textContent()), 'the built-in rule is not marked built-in');
    await row.getByRole('button', { name: /^Edit/ }).click();
    const f = page.locator('#rule-form');
    for (const k of ['name', 'expr', 'op', 'category']) {
      assert(await f.locator(`#rule-${k}`).isDisabled(), `the built-in rule's ${k} is editable`);
    }
    assert(await f.locator('#rule-critical').inputValue() === String(before.critical), 'critical not filled');
    await f.locator('#rule-critical').fill('123456');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await until(async () => /^Saved rule/.test(await status('rule-form-status')), 5000, async () => `save: ${await status('rule-form-status')}`);
    await until(async () => /modified/.test(await row.textContent()), 5000, 'the edited built-in rule is not shown as modified');
    let r = await getRule();
    assert(r.critical === 123456 && r.modified === true && r.defaults.critical === before.critical,
      `after the edit: ${JSON.stringify(r)}`);
    assert(Object.keys(r.defaults).length === 1, `fields changed besides critical: ${JSON.stringify(r.defaults)}`);
    await row.getByRole('button', { name: /^Edit/ }).click();
    assert(/critical \(default/.test(await page.locator('#rule-form-note').textContent()), 'the editor does not name the changed field');
    await page.locator('#rule-cancel').click();
    await row.getByRole('button', { name: /^Disable/ }).click();
    await until(async () => /disabled/.test(await row.textContent()), 5000, 'the disabled rule is not shown as disabled');
    assert((await getRule()).enabled === false, 'the rule is still enabled');
    await s.shot('alerts-rule-builtin-modified');
    await row.getByRole('button', { name: /^Enable/ }).click();
    await until(async () => (await getRule()).enabled === true, 5000, 'the rule was not enabled again');
    await row.getByRole('button', { name: /^Restore the default/ }).waitFor();
    await row.getByRole('button', { name: /^Restore the default/ }).click();
    await until(async () => !/modified/.test(await row.textContent()), 5000, 'the restored rule is still shown as modified');
    r = await getRule();
    assert(r.modified === false && r.critical === before.critical && r.defaults === undefined, `after restoring: ${JSON.stringify(r)}`);
    await inert();
  });

  await s.check('silences: create with a matcher and a comment, list, delete', async () => {
    await page.locator('#alerts-tab-silences').click();
    await page.locator('#alerts-silences').waitFor({ state: 'visible' });
    await page.locator('#silence-matchers').fill(`alertname="${RULE_NAME.replace(/"/g, '\\"')}"\nseverity=~"warn.*"`);
    await page.locator('#silence-comment').fill(`maintenance <b>bold</b> ${stamp}`);
    await page.getByRole('button', { name: 'Create silence' }).click();
    await until(async () => /created/.test(await status('silence-form-status')), 5000, async () => `silence: ${await status('silence-form-status')}`);
    const row = page.locator('#silences-table tr', { has: page.locator('.silence-comment', { hasText: stamp }) });
    await row.waitFor();
    assert((await row.locator('.silence-comment').textContent()) === `maintenance <b>bold</b> ${stamp}`, 'comment altered');
    assert(await page.locator('#silences-table b').count() === 0, 'markup in a comment was rendered');
    await s.shot('alerts-silences');
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    await page.locator('#silence-matchers').fill('not a matcher');
    await page.getByRole('button', { name: 'Create silence' }).click();
    await until(async () => /is not name="value"/.test(await status('silence-form-status')), 5000, 'a bad matcher was not refused');
  });

  await s.check('channels: create a log channel and a webhook to a closed port, send tests, delete', async () => {
    s.expectConsoleError('the test notification to a closed port fails (502/504)', /status of 50[24] .*\/api\/v1\/alerts\/channels\/.*\/test/, 1);
    await page.locator('#alerts-tab-channels').click();
    await page.locator('#alerts-channels').waitFor({ state: 'visible' });
    const f = page.locator('#channel-form');
    await f.locator('#channel-id').fill(`qa-log-${stamp}`);
    await f.locator('#channel-name').fill(`QA log ${stamp}`);
    await f.locator('#channel-type').selectOption('log');
    await page.getByRole('button', { name: 'Create channel' }).click();
    const logRow = page.locator('#channels-table tr', { has: page.locator('.channel-name', { hasText: `QA log ${stamp}` }) });
    await logRow.waitFor();
    await logRow.getByRole('button', { name: /Send a test/ }).click();
    await until(async () => /Test notification sent/.test(await status('channel-form-status')), 10000, async () => `test: ${await status('channel-form-status')}`);
    await f.locator('#channel-id').fill(`qa-hook-${stamp}`);
    await f.locator('#channel-name').fill(`QA hook ${stamp}`);
    await f.locator('#channel-type').selectOption('webhook');
    await f.locator('#channel-config').fill('{"url": "http://127.0.0.1:9/hook", "timeout": "1s"}');
    await page.getByRole('button', { name: 'Create channel' }).click();
    const hookRow = page.locator('#channels-table tr', { has: page.locator('.channel-name', { hasText: `QA hook ${stamp}` }) });
    await hookRow.waitFor({ timeout: 5000 }).catch(async () => { throw new Error(`webhook channel: ${await status('channel-form-status')}`); });
    await hookRow.getByRole('button', { name: /Send a test/ }).click();
    await until(async () => /failed/.test(await status('channel-form-status')), 15000, async () => `test: ${await status('channel-form-status')}`);
    await s.shot('alerts-channels');
    for (const row of [logRow, hookRow]) {
      await row.getByRole('button', { name: 'Delete' }).click();
      await row.waitFor({ state: 'detached' });
    }
    await inert();
  });

  await s.check('a viewer sees active alerts but no acknowledge button, rule editor or channels', async () => {
    const viewer = { username: `qa-alerts-viewer-${stamp}`, password: 'viewer-Pa55word-0123', role: 'viewer' };
    const made = await apiCall(admin.token, 'POST', '/api/v1/users', viewer);
    assert(made.status === 201, `creating a viewer: HTTP ${made.status}`);
    const vpage = await s.context.newPage();
    s.watch(vpage);
    await s.login(vpage, viewer.username, viewer.password, '#/alerts');
    await vpage.locator('#active-table .alert-name', { hasText: stamp }).first().waitFor();
    assert(await vpage.locator('#active-table button').count() === 0, 'a viewer is offered Acknowledge');
    assert(!(await vpage.locator('#alerts-tab-channels').isVisible()), 'a viewer is offered channels');
    await vpage.locator('#alerts-tab-rules').click();
    await vpage.locator('#rules-table .rule-name', { hasText: stamp }).first().waitFor();
    assert(!(await vpage.locator('#rule-editor').isVisible()), 'a viewer is offered the rule editor');
    await s.shot('alerts-viewer', vpage);
    await vpage.close();
    await apiCall(admin.token, 'DELETE', `/api/v1/users/${viewer.username}`);
  });

  await s.check('delete the rule; its alert leaves the active list', async () => {
    const r = await apiCall(admin.token, 'DELETE', `/api/v1/alerts/rules/${encodeURIComponent(rule.id)}`);
    assert(r.status === 204, `delete: HTTP ${r.status}`);
    await page.locator('#alerts-tab-active').click();
    await until(async () => (await alertRow().count()) === 0, 5000, 'the deleted rule\'s alert is still listed');
  });

  await s.checkConsole();
});
