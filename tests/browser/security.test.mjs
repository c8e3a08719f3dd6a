// SPDX-License-Identifier: Apache-2.0
// Browser test of the admin view's Security tab against the real server: a superuser rotates
// the data key (the API reports the new version and the page follows the background
// re-encryption of secrets and of encrypted series data until it settles), erases a selector's series after a preview and a confirm
// step (Cancel erases nothing; the per-tier counts are shown; the API no longer lists them),
// records and withdraws consent; markup and SQL in label values and in the selector field
// render as inert text; an admin sees only the consent part (the API refuses it the rest) and
// a viewer is refused the tab and every security endpoint.

import { apiCall, apiLogin, assert, run, until, USER, PASSWORD } from './lib.mjs';

const INJ_HTML = '<img src=x onerror=alert(1)>';
const INJ_SQL = "'; DROP TABLE series; --";
const stamp = Date.now().toString(36);

await run('security', 200_000, async (s) => {
  const su = await apiLogin(USER, PASSWORD);
  assert(su.role === 'superuser', `the bootstrap user is ${su.role}, not superuser`);
  const page = await s.open();
  let dialogs = 0;
  page.on('dialog', async (d) => {
    if (d.type() === 'alert') dialogs += 1; // an executed injection
    await d.accept();
  });
  const text = (sel) => page.locator(sel).first().textContent();
  const inert = async () => {
    assert(dialogs === 0, `an injected script ran (${dialogs} alert dialog(s))`);
    assert(await page.locator('#admin-security img, #admin-security script').count() === 0, 'markup from the server became elements');
  };
  const keys = async () => (await apiCall(su.token, 'GET', '/api/v1/security/keys')).body;
  const seriesCount = async (match) => {
    const r = await apiCall(su.token, 'GET', `/api/v1/series?match[]=${encodeURIComponent(match)}`);
    assert(r.status === 200, `series ${match}: HTTP ${r.status}`);
    return r.body.data.length;
  };

  await s.check('a superuser opens #/admin/security and sees the key hierarchy', async () => {
    await s.login(page, USER, PASSWORD, '#/admin/security');
    await page.locator('#admin-security').waitFor({ state: 'visible' });
    const st = await keys();
    assert(st.enabled === true, 'encryption at rest is off on the test server');
    await until(async () => (await page.locator('#sec-active-version').count()) > 0, 5000, 'no active key shown');
    assert(await text('#sec-active-version') === `v${st.current_version}`, `active key ${await text('#sec-active-version')} vs v${st.current_version}`);
    assert(await page.locator('#sec-keys-table td', { hasText: 'Last rotation' }).count() === 1, 'no last rotation row');
  });

  await s.check('rotate the data key: a new version is active and re-encryption settles', async () => {
    const before = (await keys()).current_version;
    await page.getByRole('button', { name: 'Rotate data key now' }).click();
    await until(async () => /is active/.test(await text('#sec-keys-status')), 5000, async () => `status: ${await text('#sec-keys-status')}`);
    const after = await keys();
    assert(after.current_version === before + 1, `version ${after.current_version} after rotating v${before}`);
    assert(await text('#sec-active-version') === `v${before + 1}`, 'the page does not show the new version');
    // The page polls while old versions remain; the walk retires them (bounded wait).
    await until(async () => (await page.locator('#sec-progress').getAttribute('data-state')) === 'resolved', 30000,
      async () => `re-encryption did not settle: ${await text('#sec-progress')}`);
    assert((await keys()).versions_held === 1, 'old key versions still held');
    // The encrypted series' re-seal pass reached the new version too, and the page says so.
    assert((await keys()).series_reencryption.done_version === before + 1, 'series data not re-sealed to the new version');
    assert(await page.locator('#sec-series-progress').getAttribute('data-state') === 'resolved', 'series re-encryption not shown as settled');
    assert((await text('#sec-series-progress')).includes(`v${before + 1}`), `series re-encryption shows: ${await text('#sec-series-progress')}`);
    const audit = await apiCall(su.token, 'GET', '/api/v1/audit?event=security.rotate_key');
    assert(audit.body.items.some((a) => a.actor === USER && a.outcome === 'success'), 'rotation not audited');
    await s.shot('security-keys');
  });

  const alice = `alice-${stamp}`;
  await s.check('erasure: preview, cancel, then confirm; per-tier counts shown and the series are gone', async () => {
    const now = Date.now();
    const body = [
      { metric: 'sec_probe', labels: { user: alice, note: INJ_HTML }, samples: [[now - 2000, 1]] },
      { metric: 'sec_probe', labels: { user: alice, note: INJ_SQL }, samples: [[now - 2000, 2]] },
      { metric: 'sec_probe', labels: { user: `bob-${stamp}` }, samples: [[now - 2000, 3]] },
    ];
    const w = await apiCall(su.token, 'POST', '/api/v1/import', body);
    assert(w.status === 204 || w.status === 200, `import: HTTP ${w.status}`);
    const sel = `{user="${alice}"}`;
    assert(await seriesCount(sel) === 2, 'the probe series were not stored');
    await page.locator('#erase-match').fill(sel);
    await page.getByRole('button', { name: 'Find matching series' }).click();
    await page.locator('#erase-confirm').waitFor({ state: 'visible' });
    assert(/^2 series match/.test(await text('#erase-preview')), `preview: ${await text('#erase-preview')}`);
    const shown = await page.locator('.erase-series').allTextContents();
    assert(shown.length === 2 && shown.some((t) => t.includes(INJ_HTML)) && shown.some((t) => t.includes(INJ_SQL)),
      `preview rows: ${JSON.stringify(shown)}`);
    await inert();
    await s.shot('security-erase-preview');
    await page.locator('#erase-cancel').click();
    await page.locator('#erase-confirm').waitFor({ state: 'hidden' });
    assert(await seriesCount(sel) === 2, 'Cancel erased something');
    // Editing the selector after a preview withdraws the confirm button.
    await page.getByRole('button', { name: 'Find matching series' }).click();
    await page.locator('#erase-confirm').waitFor({ state: 'visible' });
    await page.locator('#erase-match').fill(`{user="bob-${stamp}"}`);
    await page.locator('#erase-confirm').waitFor({ state: 'hidden' });
    await page.locator('#erase-match').fill(sel);
    await page.getByRole('button', { name: 'Find matching series' }).click();
    await page.getByRole('button', { name: 'Erase 2 series permanently' }).click();
    await until(async () => /^Erased 2 series/.test(await text('#erase-status')), 10000, async () => `status: ${await text('#erase-status')}`);
    const counts = Object.fromEntries(await page.locator('.erase-count').evaluateAll((n) => n.map((e) => [e.dataset.tier, e.textContent])));
    assert(counts.series === '2', `series count shown: ${JSON.stringify(counts)}`);
    for (const t of ['raw', 'h1', 'd1', 'w1', 'mo1']) assert(/^\d+$/.test(counts[t] ?? ''), `tier ${t} not shown: ${JSON.stringify(counts)}`);
    assert(await seriesCount(sel) === 0, 'the series are still listed');
    assert(await seriesCount(`{user="bob-${stamp}"}`) === 1, 'a series the selector did not match was erased');
    const audit = await apiCall(su.token, 'GET', '/api/v1/audit?event=data.delete');
    assert(audit.body.items.some((a) => a.target === sel && /right to erasure: 2 series/.test(a.detail)), 'erasure not audited');
    await s.shot('security-erased');
  });

  await s.check('injection strings in the selector field are refused or shown as inert text', async () => {
    s.expectConsoleError('selectors the server refuses (400)', /status of 400 .*\/api\/v1\/(series|admin\/erase)\b/, 4);
    for (const bad of [INJ_HTML, INJ_SQL, `{user="${INJ_HTML}"}`, `{user=~".*"}`]) {
      await page.locator('#erase-status').evaluate((e) => { e.textContent = ''; });
      await page.locator('#erase-match').fill(bad);
      await page.getByRole('button', { name: 'Find matching series' }).click();
      const t = await until(async () => { const v = await text('#erase-status'); return v && !/^Looking/.test(v) ? v : ''; }, 5000, `no answer for ${bad}`);
      if (await page.locator('#erase-confirm').isVisible()) {
        // A valid selector: the preview names it as typed. {user=~".*"} is refused on erase.
        assert((await text('#erase-preview')).includes(bad), `preview altered the selector ${bad}`);
        await page.locator('#erase-go').click();
        await until(async () => /^(Erased 0 series|Erasure refused)/.test(await text('#erase-status')), 5000, async () => `erase of ${bad}: ${await text('#erase-status')}`);
      } else {
        assert(/^Cannot use this selector/.test(t), `status for ${bad}: ${t}`);
        assert(await page.locator('#erase-status').getAttribute('data-kind') === 'error', 'not shown as an error');
      }
      await inert();
    }
    assert(await seriesCount(`{user="bob-${stamp}"}`) === 1, 'an injected selector erased data');
  });

  let initial = null;
  await s.check('record and withdraw consent to per-user process data', async () => {
    initial = (await apiCall(su.token, 'GET', '/api/v1/admin/consent')).body;
    await until(async () => (await page.locator('#consent-state').count()) > 0, 5000, 'no consent state shown');
    const grant = page.getByRole('button', { name: 'Record consent' });
    const withdraw = page.getByRole('button', { name: 'Withdraw consent' });
    if (initial.granted) {
      await withdraw.click();
      await until(async () => (await apiCall(su.token, 'GET', '/api/v1/admin/consent')).body.granted === false, 5000, 'withdrawal not stored');
    }
    await until(async () => grant.isEnabled(), 5000, 'Record consent stays disabled');
    await grant.click();
    await until(async () => (await text('#consent-state')) === 'granted', 5000, 'the page does not show consent');
    let c = (await apiCall(su.token, 'GET', '/api/v1/admin/consent')).body;
    assert(c.granted === true && c.recorded_by === USER, `consent record: ${JSON.stringify(c)}`);
    assert(await text('#consent-by') === USER, 'recorded-by not shown');
    assert(await withdraw.isEnabled() && !(await grant.isEnabled()), 'buttons do not follow the state');
    await s.shot('security-consent');
    await withdraw.click();
    await until(async () => (await text('#consent-state')) === 'not granted', 5000, 'the page does not show the withdrawal');
    c = (await apiCall(su.token, 'GET', '/api/v1/admin/consent')).body;
    assert(c.granted === false, 'withdrawal not stored');
    if (initial.granted) {
      await grant.click(); // leave it as found for the other test files
      await until(async () => (await apiCall(su.token, 'GET', '/api/v1/admin/consent')).body.granted === true, 5000, 'consent not restored');
    }
    const audit = await apiCall(su.token, 'GET', '/api/v1/audit?event=privacy.consent');
    assert(audit.body.items.filter((a) => a.actor === USER).length >= 2, 'consent changes not audited');
  });

  const pw = 'security-Pa55word-0123';
  const admin = `qa.sec-admin-${stamp}`;
  const viewer = `qa.sec-viewer-${stamp}`;
  await s.check('an admin sees only the consent part; the API refuses keys and erasure', async () => {
    for (const [username, role] of [[admin, 'admin'], [viewer, 'viewer']]) {
      const r = await apiCall(su.token, 'POST', '/api/v1/users', { username, password: pw, role });
      assert(r.status === 201, `create ${username}: HTTP ${r.status}`);
    }
    const apage = await s.context.newPage();
    s.watch(apage);
    await s.login(apage, admin, pw, '#/admin/security');
    await apage.locator('#admin-security').waitFor({ state: 'visible' });
    await apage.locator('#consent-state').waitFor();
    assert(await apage.locator('#sec-keys, #sec-erase, #sec-rotate').count() === 0, 'key or erasure controls drawn for an admin');
    assert(await apage.locator('#sec-role-note').isVisible(), 'no note on what needs the superuser role');
    const a = await apiLogin(admin, pw);
    assert((await apiCall(a.token, 'GET', '/api/v1/security/keys')).status === 403, 'keys readable by an admin');
    assert((await apiCall(a.token, 'POST', '/api/v1/security/rotate-key', {})).status === 403, 'rotation allowed to an admin');
    assert((await apiCall(a.token, 'POST', '/api/v1/admin/erase', { match: `{user="bob-${stamp}"}` })).status === 403, 'erasure allowed to an admin');
    assert((await apiCall(a.token, 'GET', '/api/v1/admin/consent')).status === 200, 'consent not readable by an admin');
    await s.shot('security-admin', apage);
    await apage.close();
  });

  await s.check('a viewer is refused the security tab and every security endpoint', async () => {
    const vpage = await s.context.newPage();
    s.watch(vpage);
    await s.login(vpage, viewer, pw);
    await vpage.evaluate(() => { location.hash = '#/admin/security'; });
    await vpage.locator('#denied-view').waitFor({ state: 'visible' });
    assert(!(await vpage.locator('#admin-security').isVisible()), 'security tab shown to a viewer');
    assert(await vpage.locator('#admin-security *').count() === 0, 'security controls drawn for a viewer');
    const v = await apiLogin(viewer, pw);
    for (const [m, p, b] of [['GET', '/api/v1/security/keys'], ['POST', '/api/v1/security/rotate-key', {}],
      ['POST', '/api/v1/admin/erase', { match: '{user="x"}' }], ['GET', '/api/v1/admin/consent'],
      ['POST', '/api/v1/admin/consent', { granted: true }]]) {
      const r = await apiCall(v.token, m, p, b);
      assert(r.status === 403, `${m} ${p} for a viewer: HTTP ${r.status}`);
    }
    await vpage.close();
    for (const n of [admin, viewer]) {
      assert((await apiCall(su.token, 'DELETE', `/api/v1/users/${n}`)).status === 204, `delete ${n}`);
    }
    const e = await apiCall(su.token, 'POST', '/api/v1/admin/erase', { match: `{user="bob-${stamp}"}` });
    assert(e.status === 200, `cleanup erase: HTTP ${e.status}`);
  });

  await s.checkConsole();
});
