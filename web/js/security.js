// SPDX-License-Identifier: Apache-2.0
// Security tab of the admin view: the encryption key hierarchy and on-demand rotation with
// its background re-encryption of secrets and of encrypted series data, with progress (GET
// /api/v1/security/keys, POST /api/v1/security/rotate-key),
// the right to erasure with a preview-then-confirm step (GET /api/v1/series, POST
// /api/v1/admin/erase) and the consent record for per-user process data (GET|POST
// /api/v1/admin/consent). Keys and erasure are superuser-only, consent admin (API.md); the
// panel offers each part only to the roles the server allows. Server strings are set as text.

import { api, withQuery } from './api.js';
import { el, fill, fmtTime, setStatus, table } from './ui.js';

const POLL_MS = 1000;      // key status refresh while a re-encryption walk runs
const PREVIEW_MAX = 20;    // series listed in the erasure preview
const TIERS = [['h1', 'Hourly'], ['d1', 'Daily'], ['w1', 'Weekly'], ['mo1', 'Monthly']];

/** Labels object -> 'name{a="b",...}' (for display only, as text). */
function seriesText(labels) {
  const { __name__: name = '', ...rest } = labels || {};
  const inner = Object.entries(rest).map(([k, v]) => `${k}=${JSON.stringify(String(v))}`).join(', ');
  return `${name}{${inner}}`;
}

/** State of the re-seal pass over encrypted series data: pending, resolved or error. */
function seriesState(r) {
  if (!r) return 'resolved';
  return r.state === 'running' ? 'pending' : r.state === 'stalled' ? 'error' : 'resolved';
}

/** One line on the re-seal pass over encrypted series data (chunks, rollups, head log). */
function resealText(r) {
  if (!r) return '—';
  if (r.state === 'running') {
    return `re-sealing to key v${r.target_version}: ${Math.floor(r.progress * 100)}% (${r.resealed} of ${r.examined} value(s) so far)`;
  }
  if (r.state === 'stalled') return `stopped short: ${r.error}`;
  return r.done_version ? `all under key v${r.done_version} or newer${r.finished_at ? ` (last pass ${fmtTime(r.finished_at)}: ${r.resealed} value(s) re-sealed)` : ''}` : 'no pass yet';
}

/** A two-column table of [label, value] rows. */
const facts = (rows) => table(['Property', 'Value'], rows.map(([k, v]) => [k, v]));

export class SecurityPanel {
  /**
   * @param {HTMLElement} root   the (empty) tab panel to draw into
   * @param {string|null} role   the session's role
   */
  constructor(root, role) {
    this.root = root;
    this.superuser = role === 'superuser';
    this.timer = 0;
    this.stopped = false; // answers arriving after stop() are dropped
    this.pending = ''; // the selector the confirm button erases (as previewed)
    this.build();
  }

  build() {
    const status = (id) => el('p', { id, class: 'status-line', role: 'status', 'aria-live': 'polite' });
    const keys = el('section', { id: 'sec-keys', 'aria-labelledby': 'sec-keys-title' },
      el('h4', { id: 'sec-keys-title', class: 'h-small', text: 'Encryption at rest' }),
      el('p', { class: 'muted', text: 'Secrets and the samples of sensitive series are sealed with the active data key (AES-256-GCM); a rotation makes a new key and re-encrypts every sealed value in the background. Old key versions are kept until nothing uses them.' }),
      el('div', { id: 'sec-keys-table', class: 'table-wrap' }),
      el('button', { id: 'sec-rotate', type: 'button', class: 'btn', text: 'Rotate data key now', on: { click: () => this.rotate() } }),
      status('sec-keys-status'));
    this.matchInput = el('input', { id: 'erase-match', name: 'match', type: 'text', spellcheck: 'false', autocomplete: 'off', required: true, placeholder: '{user="alice"}' });
    this.matchInput.addEventListener('input', () => this.cancelErase());
    const erase = el('section', { id: 'sec-erase', 'aria-labelledby': 'sec-erase-title' },
      el('h4', { id: 'sec-erase-title', class: 'h-small', text: 'Right to erasure' }),
      el('p', { class: 'muted', text: 'Removes every series the selector matches from raw data and all rollup tiers (backups lose them from their next generation). It cannot be undone and is audited.' }),
      el('form', { id: 'erase-form', class: 'row-inline', on: { submit: (ev) => { ev.preventDefault(); this.preview(); } } },
        el('label', { for: 'erase-match', text: 'Series selector' }), this.matchInput,
        el('button', { type: 'submit', class: 'btn', text: 'Find matching series' })),
      el('div', { id: 'erase-confirm', class: 'key-once', hidden: true },
        el('p', { id: 'erase-preview' }),
        el('div', { id: 'erase-sample', class: 'table-wrap' }),
        el('button', { id: 'erase-go', type: 'button', class: 'btn btn-danger', text: 'Erase permanently', on: { click: () => this.erase() } }),
        el('button', { id: 'erase-cancel', type: 'button', class: 'btn', text: 'Cancel', on: { click: () => this.cancelErase() } })),
      status('erase-status'),
      el('div', { id: 'erase-result', class: 'table-wrap' }));
    const consent = el('section', { id: 'sec-consent', 'aria-labelledby': 'sec-consent-title' },
      el('h4', { id: 'sec-consent-title', class: 'h-small', text: 'Consent to per-user process data' }),
      el('p', { class: 'muted', text: 'When consent is required, process owners and command lines are withheld until an administrator records consent.' }),
      el('div', { id: 'consent-table', class: 'table-wrap' }),
      el('div', { class: 'row-inline' },
        el('button', { id: 'consent-grant', type: 'button', class: 'btn', text: 'Record consent', on: { click: () => this.setConsent(true) } }),
        el('button', { id: 'consent-withdraw', type: 'button', class: 'btn btn-danger', text: 'Withdraw consent', on: { click: () => this.setConsent(false) } })),
      status('consent-status'));
    const note = el('p', { id: 'sec-role-note', class: 'muted', text: 'Key rotation and erasure need the superuser role.' });
    fill(this.root, el('h3', { text: 'Security and privacy' }),
      this.superuser ? [keys, erase] : note, consent);
  }

  $(id) {
    return this.root.querySelector(`#${id}`);
  }

  load() {
    if (this.superuser) this.loadKeys();
    this.loadConsent();
  }

  // ----- keys -----
  async loadKeys() {
    clearTimeout(this.timer);
    this.timer = 0;
    try {
      const st = await api('/api/v1/security/keys');
      if (!this.stopped) this.showKeys(st);
    } catch (e) {
      if (this.stopped) return;
      fill(this.$('sec-keys-table'));
      setStatus(this.$('sec-keys-status'), `Cannot load the key status: ${e.message}`, 'error');
    }
  }

  showKeys(st) {
    const busy = Boolean(st.reencrypting);
    const progress = !st.enabled ? 'encryption at rest is off'
      : busy ? `re-encrypting: ${st.resealed_total} value(s) re-sealed so far, ${st.versions_held} key version(s) held`
        : `idle (${st.resealed_total} value(s) re-sealed since the server started)`;
    fill(this.$('sec-keys-table'), facts([
      ['Encryption', st.enabled ? `on (${st.algorithm})` : 'off'],
      ['Active key', st.current_version ? el('span', { class: 'mono', id: 'sec-active-version', text: `v${st.current_version}` }) : 'none'],
      ['Versions held', st.versions_pinned ? `${st.versions_held} (${st.versions_pinned} kept for encrypted series)` : String(st.versions_held)],
      ['Last rotation', st.current_created_at ? fmtTime(st.current_created_at) : 'never'],
      ['Rotation interval', st.rotation_interval || 'on demand only'],
      ['Next rotation', st.next_rotation_at ? fmtTime(st.next_rotation_at) : '—'],
      ['Re-encryption', el('span', { id: 'sec-progress', 'data-state': busy ? 'pending' : 'resolved', class: 'state', text: progress })],
      ['Encrypted series', el('span', { id: 'sec-series-progress', 'data-state': seriesState(st.series_reencryption), class: 'state', text: resealText(st.series_reencryption) })],
    ]));
    this.$('sec-rotate').disabled = !st.enabled;
    if (busy && st.enabled) this.timer = setTimeout(() => this.loadKeys(), POLL_MS);
  }

  async rotate() {
    const status = this.$('sec-keys-status');
    const btn = this.$('sec-rotate');
    btn.disabled = true;
    try {
      const st = await api('/api/v1/security/rotate-key', { method: 'POST', body: {} });
      if (this.stopped) return;
      setStatus(status, `Data key v${st.current_version} is active; older values are re-encrypted in the background.`, 'ok');
      clearTimeout(this.timer);
      this.showKeys(st);
    } catch (e) {
      if (this.stopped) return;
      setStatus(status, `Rotation refused: ${e.message}`, 'error');
      btn.disabled = false;
    }
  }

  // ----- erasure -----
  async preview() {
    const match = this.matchInput.value.trim();
    const status = this.$('erase-status');
    this.cancelErase();
    fill(this.$('erase-result'));
    if (!match) return;
    setStatus(status, 'Looking for matching series…');
    try {
      const r = await api(withQuery('/api/v1/series', { 'match[]': match }));
      if (this.stopped) return;
      const series = Array.isArray(r && r.data) ? r.data : [];
      this.pending = match;
      this.$('erase-preview').textContent = `${series.length} series match ${match}. Erase them and all their data from every tier?`;
      fill(this.$('erase-sample'), series.length
        ? table(['Series'], series.slice(0, PREVIEW_MAX).map((s) => [el('span', { class: 'mono erase-series', text: seriesText(s) })]))
        : null);
      this.$('erase-go').textContent = `Erase ${series.length} series permanently`;
      this.$('erase-confirm').hidden = false;
      setStatus(status, series.length > PREVIEW_MAX ? `Showing the first ${PREVIEW_MAX}; check them, then confirm or cancel.`
        : 'Check the series, then confirm or cancel.');
    } catch (e) {
      if (this.stopped) return;
      setStatus(status, `Cannot use this selector: ${e.message}`, 'error');
    }
  }

  cancelErase() {
    this.pending = '';
    this.$('erase-confirm').hidden = true;
    fill(this.$('erase-sample'));
  }

  async erase() {
    const match = this.pending;
    const status = this.$('erase-status');
    if (!match) return;
    this.$('erase-go').disabled = true;
    try {
      const r = await api('/api/v1/admin/erase', { method: 'POST', body: { match } });
      if (this.stopped) return;
      this.cancelErase();
      const tiers = r.rollup_buckets || {};
      fill(this.$('erase-result'), table(['Tier', 'Removed'], [
        ['series', 'Series', r.series], ['raw', 'Raw chunks', r.raw_chunks],
        ...TIERS.map(([k, name]) => [k, `${name} rollup buckets`, tiers[k] ?? 0]),
      ].map(([k, name, v]) => [name, el('span', { class: 'num erase-count', 'data-tier': k, text: String(v) })])));
      setStatus(status, `Erased ${r.series} series matching ${match}.`, 'ok');
    } catch (e) {
      if (this.stopped) return;
      setStatus(status, `Erasure refused: ${e.message}`, 'error');
    }
    this.$('erase-go').disabled = false;
  }

  // ----- consent -----
  async loadConsent(reply) {
    try {
      const c = reply || await api('/api/v1/admin/consent');
      if (this.stopped) return;
      fill(this.$('consent-table'), facts([
        ['Consent required', c.required ? 'yes' : 'no'],
        ['State', el('span', { id: 'consent-state', class: 'state', 'data-state': c.granted ? 'enabled' : 'disabled', text: c.granted ? 'granted' : 'not granted' })],
        ['Recorded by', el('span', { id: 'consent-by', text: c.recorded_by || '—' })],
        ['Recorded at', c.recorded_at ? fmtTime(c.recorded_at) : 'never'],
      ]));
      this.$('consent-grant').disabled = c.granted;
      this.$('consent-withdraw').disabled = !c.granted;
    } catch (e) {
      if (this.stopped) return;
      fill(this.$('consent-table'));
      setStatus(this.$('consent-status'), `Cannot load the consent record: ${e.message}`, 'error');
    }
  }

  async setConsent(granted) {
    const status = this.$('consent-status');
    try {
      const c = await api('/api/v1/admin/consent', { method: 'POST', body: { granted } });
      if (this.stopped) return;
      setStatus(status, granted ? 'Consent recorded.' : 'Consent withdrawn.', 'ok');
      this.loadConsent(c);
    } catch (e) {
      if (!this.stopped) setStatus(status, e.message, 'error');
    }
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = 0;
    fill(this.root);
  }
}
