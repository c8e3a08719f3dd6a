// SPDX-License-Identifier: Apache-2.0
// Browser test of the admin view against the real server: an admin creates a user and an
// API key through the forms (the key is shown once and works), the audit log lists both
// actions, markup and SQL-looking strings in names and e-mails render as inert text, a viewer
// sees no Admin link, is refused #/admin and gets 403 from the API, and the configuration
// editor either edits the served configuration (a bad value shows the server's problem next
// to its field) or, on a server without /api/v1/config, says honestly that it is not available.

import { join } from 'node:path';
import { absentEndpoints, apiCall, apiLogin, ARTIFACTS, assert, run, until, URL_, USER, PASSWORD } from './lib.mjs';

const INJ_HTML = '<img src=x onerror=alert(1)>';
const INJ_SQL = "'; DROP TABLE users; --";
const stamp = Date.now().toString(36);

await run('admin', 200_000, async (s) => {
  const admin = await apiLogin(USER, PASSWORD);
  const page = await s.open();
  let dialogs = 0;
  page.on('dialog', async (d) => {
    if (d.type() === 'alert') dialogs += 1; // an executed injection
    await d.accept();
  });
  const configAbsent = (await apiCall(admin.token, 'GET', '/api/v1/config/schema')).status === 404
    || (await apiCall(admin.token, 'GET', '/api/v1/config')).status === 404;
  s.expectAbsent([...await absentEndpoints(admin.token), ...(configAbsent ? ['/api/v1/config'] : [])]);
  const status = (id) => page.locator(`#${id}`).textContent();
  const inert = async (where) => {
    assert(dialogs === 0, `an injected script ran (${dialogs} alert dialog(s))`);
    assert(await page.locator(`${where} img`).count() === 0, `an <img> element was created in ${where}`);
  };

  const user = { username: `qa.viewer-${stamp}`, password: 'viewer-Pa55word-0123', email: `qa-${stamp}@example.org` };

  await s.check('admin opens #/admin and sees the users', async () => {
    await s.login(page, USER, PASSWORD, '#/admin');
    await page.locator('#admin-view').waitFor({ state: 'visible' });
    assert(await page.locator('#nav a[data-route="admin"]').isVisible(), 'the Admin link is hidden from the admin');
    await until(async () => page.locator('#users-table td', { hasText: USER }).count(), 5000, 'the admin user is not listed');
  });

  await s.check('create a viewer through the form; change the role, disable and enable it', async () => {
    await page.locator('#user-name').fill(user.username);
    await page.locator('#user-password').fill(user.password);
    await page.locator('#user-role').selectOption('viewer');
    await page.locator('#user-email').fill(user.email);
    await page.getByRole('button', { name: 'Create user' }).click();
    await until(async () => /Created/.test(await status('user-form-status')), 5000, async () => `status: ${await status('user-form-status')}`);
    const row = page.locator('#users-table tr', { has: page.locator('.user-name', { hasText: user.username }) });
    await row.waitFor();
    assert((await row.locator('.user-email').textContent()) === user.email, 'e-mail not shown');
    await row.locator('select').selectOption('analyst');
    await until(async () => (await apiCall(admin.token, 'GET', `/api/v1/users/${user.username}`)).body?.role === 'analyst', 5000, 'role change not stored');
    await row.getByRole('button', { name: 'Disable' }).click();
    await until(async () => (await apiCall(admin.token, 'GET', `/api/v1/users/${user.username}`)).body?.disabled === true, 5000, 'disable not stored');
    await row.getByRole('button', { name: 'Enable' }).click();
    await until(async () => (await apiCall(admin.token, 'GET', `/api/v1/users/${user.username}`)).body?.disabled === false, 5000, 'enable not stored');
    await row.locator('select').selectOption('viewer');
    await until(async () => (await apiCall(admin.token, 'GET', `/api/v1/users/${user.username}`)).body?.role === 'viewer', 5000, 'role change back not stored');
    await s.shot('admin-users');
  });

  await s.check('markup and SQL in a user name and e-mail stay inert text', async () => {
    s.expectConsoleError('user names and e-mails the server refuses (422)', /status of 422 .*\/api\/v1\/users\b/, 3);
    for (const [name, email] of [[INJ_HTML, ''], [`qa-inj-${stamp}`, `${INJ_HTML}@example.org`], [`qa-sql-${stamp}`, `${INJ_SQL}@x.org`]]) {
      await page.locator('#user-name').fill(name);
      await page.locator('#user-password').fill('inj-Pa55word-0123');
      await page.locator('#user-email').fill(email);
      await page.locator('#user-form-status').evaluate((e) => { e.textContent = ''; });
      await page.getByRole('button', { name: 'Create user' }).click();
      const text = await until(async () => status('user-form-status'), 5000, 'no answer shown');
      if (/^Created/.test(text)) {
        // Accepted: the stored strings appear exactly as typed.
        const cell = page.locator('#users-table .user-email', { hasText: email });
        await cell.first().waitFor();
        assert((await cell.first().textContent()) === email, 'e-mail altered');
      } else {
        assert(await page.locator('#user-form-status').getAttribute('data-kind') === 'error', `unexpected status ${text}`);
      }
      await inert('#admin-view');
    }
    await s.shot('admin-users-injection');
  });

  let key = '';
  const keyName = `ci ${INJ_HTML} ${INJ_SQL} ${stamp}`;
  await s.check('create an API key: shown once with a copy button, it works, the list shows its prefix', async () => {
    await page.locator('#admin-tab-keys').click();
    await page.locator('#admin-keys').waitFor({ state: 'visible' });
    await page.locator('#key-name').fill(keyName);
    await page.locator('#key-form input[value="ingest"]').check();
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.locator('#key-once').waitFor({ state: 'visible' });
    key = (await page.locator('#key-once-value').textContent()).trim();
    assert(/^omk_[0-9a-f]{12}_[0-9a-f]{64}$/.test(key), `key shape: ${key}`);
    assert(await page.locator('#key-copy').isVisible(), 'no copy button');
    const row = page.locator('#keys-table tr', { has: page.locator('.key-name', { hasText: stamp }) });
    await row.waitFor();
    assert((await row.locator('.key-name').textContent()) === keyName, 'key name altered');
    const prefix = key.slice(0, 16);
    assert((await row.textContent()).includes(key.slice(0, 8)), `prefix not listed (${prefix})`);
    await inert('#admin-view');
    const r = await fetch(`${URL_}/api/v1/labels`, { headers: { 'X-API-Key': key } });
    assert(r.status === 200, `the new key is refused: HTTP ${r.status}`);
    await s.shot('admin-keys-created');
    // Leave and come back: the key is gone from the page for good.
    await page.locator('#admin-tab-users').click();
    await page.evaluate(() => { location.hash = '#/live'; });
    await page.locator('#live-view').waitFor({ state: 'visible' });
    await page.evaluate(() => { location.hash = '#/admin/keys'; });
    await page.locator('#admin-keys').waitFor({ state: 'visible' });
    await row.waitFor();
    assert(!(await page.locator('#key-once').isVisible()), 'the key is shown again');
    assert(!(await page.evaluate((k) => document.body.innerText.includes(k), key)), 'the full key is still on the page');
  });

  await s.check('revoke the API key through the list', async () => {
    const row = page.locator('#keys-table tr', { has: page.locator('.key-name', { hasText: stamp }) });
    await row.getByRole('button', { name: 'Revoke' }).click(); // confirm() accepted by the dialog handler
    await row.waitFor({ state: 'detached' });
    const r = await fetch(`${URL_}/api/v1/labels`, { headers: { 'X-API-Key': key } });
    assert(r.status === 401, `a revoked key still answers HTTP ${r.status}`);
  });

  await s.check('the audit log shows the user and key actions (superuser), filtered by event', async () => {
    if (admin.role !== 'superuser') {
      assert(!(await page.locator('#admin-tab-audit').isVisible()), 'an admin is offered the superuser-only audit log');
      const r = await apiCall(admin.token, 'GET', '/api/v1/audit');
      assert(r.status === 403, `audit for role ${admin.role}: HTTP ${r.status}`);
      return;
    }
    await page.locator('#admin-tab-audit').click();
    await page.locator('#admin-audit').waitFor({ state: 'visible' });
    for (const action of ['user.create', 'user.update', 'apikey.create', 'apikey.delete']) {
      await until(async () => page.locator('#audit-table td', { hasText: action }).count(), 5000, `${action} is not in the audit table`);
    }
    assert(await page.locator('#audit-table .audit-target', { hasText: user.username }).count() > 0, 'the new user is not an audit target');
    await page.locator('#audit-event').fill('apikey.create');
    await page.locator('#audit-form button[type=submit]').click();
    await until(async () => {
      const actions = await page.locator('#audit-table tbody tr td:nth-child(4)').allTextContents();
      return actions.length > 0 && actions.every((a) => a === 'apikey.create');
    }, 5000, 'the event filter did not narrow the table to apikey.create');
    await page.locator('#audit-since').fill('2000-01-01T00:00');
    await page.locator('#audit-until').fill('2000-01-02T00:00');
    await page.locator('#audit-form button[type=submit]').click();
    await until(async () => /^0 entries/.test(await status('audit-status')), 5000, 'the time filter was not applied');
    await inert('#admin-view');
    await page.locator('#audit-since').fill('');
    await page.locator('#audit-until').fill('');
    await page.locator('#audit-event').fill('');
    await page.locator('#audit-form button[type=submit]').click();
    await until(async () => page.locator('#audit-table td', { hasText: 'user.create' }).count(), 5000, 'unfiltered table');
    await s.shot('admin-audit');
  });

  await s.check(configAbsent ? 'the configuration editor says it is not available (no /api/v1/config on this server)'
    : 'the configuration editor loads; a bad value shows the server\'s problem next to its field', async () => {
    await page.locator('#admin-tab-config').click();
    await page.locator('#admin-config').waitFor({ state: 'visible' });
    await until(async () => ['absent', 'ready', 'error'].includes(await page.locator('#admin-config').getAttribute('data-state')), 10000, 'the editor did not settle');
    const state = await page.locator('#admin-config').getAttribute('data-state');
    if (configAbsent) {
      assert(state === 'absent', `state ${state}: ${await status('config-status')}`);
      assert(/not available/.test(await status('config-status')), 'no "not available" text');
      assert(await page.locator('#config-form *').count() === 0, 'a form was drawn without a schema');
      await s.shot('admin-config-absent');
      return;
    }
    assert(state === 'ready', `state ${state}: ${await status('config-status')}`);
    const schema = (await apiCall(admin.token, 'GET', '/api/v1/config/schema')).body;
    const fields = Array.isArray(schema) ? schema : schema.fields || schema.items || [];
    assert(fields.length > 0, 'empty schema');
    const settings = fields.filter((f) => f.type !== 'object'); // objects are the sections
    const rows = await page.locator('.cfg-field').count();
    assert(rows === settings.length, `${rows} form rows for ${settings.length} settings`);
    assert(await page.locator('.cfg-section').count() > 1, 'the settings are not grouped by section');
    // Client-side range check on a numeric field with a minimum.
    const num = fields.find((f) => typeof f.min === 'number' && /int|double|number|float/i.test(String(f.type)) && !f.enum);
    if (num) {
      const input = page.locator(`.cfg-field[data-path="${num.path}"] input`);
      const old = await input.inputValue();
      await input.fill(String(num.min - 1));
      await input.dispatchEvent('change');
      await page.locator(`.cfg-field[data-path="${num.path}"] .field-problem`).waitFor({ state: 'visible' });
      await input.fill(old);
      await input.dispatchEvent('change');
    }
    // A value only the server can judge: a malformed duration (or size).
    const txt = fields.find((f) => /duration/i.test(String(f.type))) || fields.find((f) => /size/i.test(String(f.type)));
    assert(txt, 'the schema has no duration or size field to test the server\'s problems with');
    const input = page.locator(`.cfg-field[data-path="${txt.path}"] input`);
    const old = await input.inputValue();
    s.expectConsoleError('the configuration with a malformed duration (422)', /status of 422 .*\/api\/v1\/config\b/, 1);
    await input.fill('not-a-duration');
    await page.getByRole('button', { name: 'Save configuration' }).click();
    const problem = page.locator(`.cfg-field[data-path="${txt.path}"] .field-problem`);
    await problem.waitFor({ state: 'visible' });
    assert((await problem.textContent()).trim().length > 0, 'empty problem text');
    console.log(`# server problem for ${txt.path}: ${(await problem.textContent()).trim()}`);
    await s.shot('admin-config-problem');
    // The full page is very tall: also the section around the field, readable on its own.
    await page.locator('.cfg-section', { has: page.locator(`.cfg-field[data-path="${txt.path}"]`) })
      .screenshot({ path: join(ARTIFACTS, 'admin-config-problem-section.png') });
    await input.fill(old);
    await page.getByRole('button', { name: 'Save configuration' }).click();
    await until(async () => /^Saved/.test(await status('config-status')), 10000, async () => `save: ${await status('config-status')}`);
    assert(await page.locator('#config-result').textContent(), 'no restart/in-effect note after saving');
    console.log(`# after saving: ${(await page.locator('#config-result').textContent()).trim()}`);
    await s.shot('admin-config-saved');
    await page.locator('#config-result').screenshot({ path: join(ARTIFACTS, 'admin-config-saved-result.png') });
    await page.locator('.cfg-section').first().screenshot({ path: join(ARTIFACTS, 'admin-config-first-section.png') });
  });

  await s.check('a viewer sees no Admin link, is refused #/admin and gets 403 from the API', async () => {
    const vpage = await s.context.newPage();
    s.watch(vpage);
    await s.login(vpage, user.username, user.password);
    assert(!(await vpage.locator('#nav a[data-route="admin"]').isVisible()), 'Admin link shown to a viewer');
    await vpage.evaluate(() => { location.hash = '#/admin/users'; });
    await vpage.locator('#denied-view').waitFor({ state: 'visible' });
    assert(!(await vpage.locator('#admin-view').isVisible()), 'admin view shown to a viewer');
    assert(await vpage.locator('#users-table tr').count() === 0, 'user rows rendered for a viewer');
    const v = await apiLogin(user.username, user.password);
    for (const p of ['/api/v1/users', '/api/v1/apikeys', '/api/v1/audit']) {
      const r = await apiCall(v.token, 'GET', p);
      assert(r.status === 403, `${p} for a viewer: HTTP ${r.status}`);
    }
    await s.shot('admin-viewer-denied', vpage);
    await vpage.close();
  });

  await s.check('delete the test users through the list', async () => {
    await page.locator('#admin-tab-users').click();
    const names = (await apiCall(admin.token, 'GET', '/api/v1/users')).body.items.map((u) => u.username).filter((n) => n.includes(stamp));
    for (const n of names) {
      const row = page.locator('#users-table tr', { has: page.locator('.user-name', { hasText: n }) });
      await row.getByRole('button', { name: 'Delete' }).click();
      await row.waitFor({ state: 'detached' });
    }
    assert((await apiCall(admin.token, 'GET', `/api/v1/users/${user.username}`)).status === 404, 'user not deleted');
    await inert('#admin-view');
  });

  await s.checkConsole();
});
