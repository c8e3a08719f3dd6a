// SPDX-License-Identifier: Apache-2.0
// Admin view (admin and superuser only; the router refuses it to other roles and the server
// enforces the same): users (/api/v1/users), API keys (/api/v1/apikeys, the key shown once),
// the audit log (/api/v1/audit, superuser), the configuration editor (config_form.js) and the
// security tab (security.js: keys and erasure for superusers, consent for admins).
// Every server string is set as text.

import { api, withQuery } from './api.js';
import { ConfigEditor } from './config_form.js';
import { SecurityPanel } from './security.js';
import { el, fill, fmtTime, localInputToRfc3339, setStatus, table } from './ui.js';

const $ = (id) => document.getElementById(id);
const ROLES = ['viewer', 'developer', 'analyst', 'admin', 'superuser'];
const TABS = ['users', 'keys', 'audit', 'config', 'security'];

export class AdminView {
  /** @param {{role: string|null, tab?: string}} o  role of the session; tab from the URL */
  constructor(o) {
    this.role = o.role;
    this.config = new ConfigEditor($('admin-config'));
    this.security = new SecurityPanel($('admin-security'), this.role);
    $('admin-tab-audit').hidden = this.role !== 'superuser';
    this.onTab = (ev) => {
      const b = ev.target.closest('button[data-tab]');
      if (b) this.showTab(b.dataset.tab);
    };
    $('admin-tabs').addEventListener('click', this.onTab);
    this.onUserSubmit = (ev) => this.createUser(ev);
    $('user-form').addEventListener('submit', this.onUserSubmit);
    this.onKeySubmit = (ev) => this.createKey(ev);
    $('key-form').addEventListener('submit', this.onKeySubmit);
    this.onAuditSubmit = (ev) => { ev.preventDefault(); this.loadAudit(); };
    $('audit-form').addEventListener('submit', this.onAuditSubmit);
    this.onCopy = () => this.copyKey();
    $('key-copy').addEventListener('click', this.onCopy);
    this.showTab(TABS.includes(o.tab) && (o.tab !== 'audit' || this.role === 'superuser') ? o.tab : 'users');
  }

  showTab(tab) {
    for (const t of TABS) {
      const b = $(`admin-tab-${t}`);
      b.setAttribute('aria-selected', String(t === tab));
      $(`admin-${t}`).hidden = t !== tab;
    }
    history.replaceState(null, '', `#/admin/${tab}`);
    if (tab === 'users') this.loadUsers();
    else if (tab === 'keys') this.loadKeys();
    else if (tab === 'audit') this.loadAudit();
    else if (tab === 'security') this.security.load();
    else this.config.load();
  }

  // ----- users -----
  async loadUsers() {
    const status = $('users-status');
    setStatus(status, 'Loading…');
    try {
      const { items } = await api('/api/v1/users');
      fill($('users-table'), table(['User', 'Role', 'E-mail', 'State', 'Created', 'Actions'],
        items.map((u) => this.userRow(u))));
      setStatus(status, `${items.length} user(s).`);
    } catch (e) {
      fill($('users-table'));
      setStatus(status, `Cannot load the users: ${e.message}`, 'error');
    }
  }

  userRow(u) {
    const role = el('select', { 'aria-label': `Role of ${u.username}`, class: 'user-role' },
      ROLES.map((r) => el('option', { value: r, text: r, selected: r === u.role })));
    role.addEventListener('change', () => this.updateUser(u.username, { role: role.value }));
    return [
      el('span', { class: 'mono user-name', text: u.username }),
      role,
      el('span', { class: 'user-email', text: u.email || '' }),
      el('span', { class: 'state', 'data-state': u.disabled ? 'disabled' : 'enabled', text: u.disabled ? 'disabled' : 'enabled' }),
      fmtTime(u.created_at),
      el('span', { class: 'actions' },
        el('button', { type: 'button', class: 'btn btn-small', text: u.disabled ? 'Enable' : 'Disable',
          on: { click: () => this.updateUser(u.username, { disabled: !u.disabled }) } }),
        el('button', { type: 'button', class: 'btn btn-small btn-danger', text: 'Delete',
          'aria-label': `Delete ${u.username}`,
          on: { click: () => this.deleteUser(u.username) } })),
    ];
  }

  async createUser(ev) {
    ev.preventDefault();
    const f = ev.target;
    const body = { username: f.elements.username.value.trim(), password: f.elements.password.value,
      role: f.elements.role.value };
    if (f.elements.email.value.trim()) body.email = f.elements.email.value.trim();
    const status = $('user-form-status');
    try {
      await api('/api/v1/users', { method: 'POST', body });
      f.reset();
      setStatus(status, `Created ${body.username}.`, 'ok');
      this.loadUsers();
    } catch (e) {
      setStatus(status, e.message, 'error');
    }
  }

  async updateUser(name, body) {
    try {
      await api(`/api/v1/users/${encodeURIComponent(name)}`, { method: 'PUT', body });
      setStatus($('user-form-status'), `Updated ${name}.`, 'ok');
    } catch (e) {
      setStatus($('user-form-status'), `${name}: ${e.message}`, 'error');
    }
    this.loadUsers();
  }

  async deleteUser(name) {
    if (!window.confirm(`Delete the user ${name}?`)) return;
    try {
      await api(`/api/v1/users/${encodeURIComponent(name)}`, { method: 'DELETE' });
      setStatus($('user-form-status'), `Deleted ${name}.`, 'ok');
    } catch (e) {
      setStatus($('user-form-status'), `${name}: ${e.message}`, 'error');
    }
    this.loadUsers();
  }

  // ----- API keys -----
  async loadKeys() {
    const status = $('keys-status');
    setStatus(status, 'Loading…');
    try {
      const { items } = await api('/api/v1/apikeys');
      fill($('keys-table'), table(['Name', 'Prefix', 'Scopes', 'Created by', 'Created', 'Last used', ''],
        items.map((k) => [
          el('span', { class: 'key-name', text: k.name }),
          el('span', { class: 'mono', text: k.prefix }),
          (k.scopes || []).join(', '),
          k.created_by || '',
          fmtTime(k.created_at),
          k.last_used_at ? fmtTime(k.last_used_at) : 'never',
          el('button', { type: 'button', class: 'btn btn-small btn-danger', text: 'Revoke',
            'aria-label': `Revoke ${k.name}`, on: { click: () => this.revokeKey(k) } }),
        ])));
      setStatus(status, `${items.length} key(s).`);
    } catch (e) {
      fill($('keys-table'));
      setStatus(status, `Cannot load the API keys: ${e.message}`, 'error');
    }
  }

  async createKey(ev) {
    ev.preventDefault();
    const f = ev.target;
    const scopes = [...f.querySelectorAll('input[name=scope]:checked')].map((c) => c.value);
    const status = $('key-form-status');
    try {
      const k = await api('/api/v1/apikeys', { method: 'POST', body: { name: f.elements.name.value, scopes } });
      f.reset();
      $('key-once-value').textContent = k.key;
      $('key-once').hidden = false;
      setStatus(status, `Created ${k.name}. Copy the key now: it is not shown again.`, 'ok');
      this.loadKeys();
    } catch (e) {
      setStatus(status, e.message, 'error');
    }
  }

  async copyKey() {
    const key = $('key-once-value').textContent;
    try {
      await navigator.clipboard.writeText(key);
      setStatus($('key-form-status'), 'Key copied to the clipboard.', 'ok');
    } catch {
      const r = document.createRange();
      r.selectNodeContents($('key-once-value'));
      getSelection().removeAllRanges();
      getSelection().addRange(r);
      setStatus($('key-form-status'), 'The clipboard is not available here; the key is selected, copy it by hand.');
    }
  }

  async revokeKey(k) {
    if (!window.confirm(`Revoke the API key ${k.name}? Clients using it stop working at once.`)) return;
    try {
      await api(`/api/v1/apikeys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
      setStatus($('key-form-status'), `Revoked ${k.name}.`, 'ok');
    } catch (e) {
      setStatus($('key-form-status'), e.message, 'error');
    }
    this.loadKeys();
  }

  // ----- audit -----
  async loadAudit() {
    const f = $('audit-form');
    const status = $('audit-status');
    setStatus(status, 'Loading…');
    const q = {
      since: localInputToRfc3339(f.elements.since.value),
      until: localInputToRfc3339(f.elements.until.value),
      event: f.elements.event.value.trim() || undefined,
    };
    try {
      const { items } = await api(withQuery('/api/v1/audit', q));
      const rows = items.slice().reverse().map((a) => [
        fmtTime(a.time), a.actor || '', a.role || '', el('span', { class: 'mono', text: a.action }),
        a.category || '', el('span', { class: 'audit-target', text: a.target || '' }),
        el('span', { class: 'state', 'data-state': a.outcome, text: a.outcome || '' }),
        a.address || '', a.detail || '']);
      fill($('audit-table'), table(['Time', 'Actor', 'Role', 'Action', 'Category', 'Target', 'Outcome', 'Address', 'Detail'], rows));
      setStatus(status, `${items.length} entr${items.length === 1 ? 'y' : 'ies'}, newest first.`);
    } catch (e) {
      fill($('audit-table'));
      setStatus(status, `Cannot load the audit log: ${e.message}`, 'error');
    }
  }

  stop() {
    $('admin-tabs').removeEventListener('click', this.onTab);
    $('user-form').removeEventListener('submit', this.onUserSubmit);
    $('key-form').removeEventListener('submit', this.onKeySubmit);
    $('audit-form').removeEventListener('submit', this.onAuditSubmit);
    $('key-copy').removeEventListener('click', this.onCopy);
    $('key-once-value').textContent = '';
    $('key-once').hidden = true;
    for (const id of ['users-table', 'keys-table', 'audit-table']) fill($(id));
    this.config.stop();
    this.security.stop();
  }
}
