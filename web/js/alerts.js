// SPDX-License-Identifier: Apache-2.0
// Alerts view (#/alerts[/<tab>]): active alerts with acknowledgement, the stored history by
// time, and the silences, rules and channels editors (alert_manage.js). The active list is
// refreshed when the live stream brings an {"type":"alert"} frame (the server sends them only
// to sockets holding a subscription, so the view keeps one cheap hourly subscription).

import { api, withQuery } from './api.js';
import { LiveStream } from './live.js';
import { ChannelsPanel, RulesPanel, SilencesPanel } from './alert_manage.js';
import { isAdminRole } from './router.js';
import { el, fill, fmtTime, localInputToRfc3339, msToLocalInput, setStatus, table } from './ui.js';

const $ = (id) => document.getElementById(id);
const TABS = ['active', 'history', 'silences', 'rules', 'channels'];
const ACK_ROLES = new Set(['developer', 'admin', 'superuser']);

/** `{a="1", b="2"}` text of a label object, __name__ left out. */
export function labelText(labels) {
  const parts = Object.entries(labels || {}).filter(([k]) => k !== '__name__').map(([k, v]) => `${k}="${v}"`);
  return parts.length ? `{${parts.join(', ')}}` : '';
}

/** Value for people: numbers short, NaN/Inf as words. */
const fmtValue = (v) => (typeof v === 'number' ? String(Number(v.toPrecision(6))) : String(v ?? ''));

export class AlertsView {
  /**
   * @param {object} o
   * @param {{arg:string}} o.route
   * @param {string|null} o.role
   * @param {string|null} o.username
   * @param {() => string|null} o.token
   * @param {(reason:string) => void} o.onAuthFailed
   */
  constructor(o) {
    this.o = o;
    this.canAck = ACK_ROLES.has(o.role);
    this.admin = isAdminRole(o.role);
    this.refreshTimer = 0;
    this.tab = '';
    this.rules = new RulesPanel({ admin: this.admin });
    this.silences = new SilencesPanel({ canEdit: this.canAck, username: o.username });
    this.channels = this.admin ? new ChannelsPanel() : null;
    $('alerts-tab-channels').hidden = !this.admin;
    this.onTab = (ev) => {
      const b = ev.target.closest('button[data-tab]');
      if (b) this.showTab(b.dataset.tab);
    };
    $('alerts-tabs').addEventListener('click', this.onTab);
    this.onHistory = (ev) => {
      ev.preventDefault();
      this.loadHistory();
    };
    $('ahistory-form').addEventListener('submit', this.onHistory);
    const hf = $('ahistory-form');
    if (!hf.elements.since.value) hf.elements.since.value = msToLocalInput(Date.now() - 24 * 3600e3);
    this.live = new LiveStream({
      token: o.token,
      subscriptions: [{ id: 'alerts-view', query: 'system_memory_total_bytes', interval_ms: 3600000 }],
      onState: () => {},
      onMessage: (m) => this.onMessage(m),
      onAuthFailed: o.onAuthFailed,
    });
    this.live.start();
    const tab = TABS.includes(o.route.arg) && (o.route.arg !== 'channels' || this.admin) ? o.route.arg : 'active';
    this.showTab(tab);
  }

  onMessage(m) {
    if (m.type !== 'alert') return;
    $('alerts-live').textContent = `Last change: ${m.alert ?? ''} ${m.status ?? ''} at ${fmtTime(Date.now())}`;
    // Several frames arrive together for one evaluation: one reload for all of them.
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      if (this.tab === 'active') this.loadActive();
    }, 250);
  }

  showTab(tab) {
    this.tab = tab;
    for (const t of TABS) {
      $(`alerts-tab-${t}`).setAttribute('aria-selected', String(t === tab));
      $(`alerts-${t}`).hidden = t !== tab;
    }
    if (history.replaceState) history.replaceState(null, '', `#/alerts/${tab}`);
    if (tab === 'active') this.loadActive();
    else if (tab === 'history') this.loadHistory();
    else if (tab === 'silences') this.silences.load();
    else if (tab === 'rules') this.rules.load();
    else if (tab === 'channels' && this.channels) this.channels.load();
  }

  async loadActive() {
    const status = $('active-status');
    try {
      const { items } = await api('/api/v1/alerts');
      items.sort((a, b) => String(b.started_at || b.active_at).localeCompare(String(a.started_at || a.active_at)));
      fill($('active-table'), items.length ? table(
        ['State', 'Severity', 'Alert', 'Labels', 'Value', 'Threshold', 'Since', 'Notes', ''],
        items.map((a) => this.activeRow(a))) : null);
      const firing = items.filter((a) => a.state === 'firing').length;
      setStatus(status, items.length ? `${firing} firing, ${items.length - firing} pending.` : 'No active alerts.');
    } catch (e) {
      fill($('active-table'));
      setStatus(status, e.absent ? 'Alerting is not available on this server.' : `Cannot load the alerts: ${e.message}`, 'error');
    }
  }

  activeRow(a) {
    const notes = [a.acknowledged ? `acknowledged by ${a.acknowledged_by || '?'}` : '', a.silenced ? 'silenced' : '',
      a.inhibited ? 'inhibited' : '', a.flapping ? 'flapping (notifications held)' : ''].filter(Boolean).join(', ');
    const ack = this.canAck && !a.acknowledged
      ? el('button', { type: 'button', class: 'btn btn-small', text: 'Acknowledge', 'aria-label': `Acknowledge ${a.alert}`,
        on: { click: (ev) => this.ack(a, ev.target) } })
      : '';
    return [
      el('span', { class: 'state', 'data-state': a.state, text: a.state }),
      el('span', { class: 'sev', 'data-sev': a.severity, text: a.severity || '' }),
      el('span', { class: 'alert-name', title: a.description || '', text: a.alert || a.rule_id }),
      el('span', { class: 'mono', text: labelText(a.labels) }),
      fmtValue(a.value), fmtValue(a.threshold), fmtTime(a.started_at || a.active_at),
      el('span', { class: 'alert-notes', text: notes }), ack];
  }

  async ack(a, button) {
    button.disabled = true;
    try {
      await api(`/api/v1/alerts/${encodeURIComponent(a.id)}/ack`, { method: 'POST' });
      setStatus($('active-status'), `Acknowledged ${a.alert}.`, 'ok');
    } catch (e) {
      setStatus($('active-status'), `Cannot acknowledge ${a.alert}: ${e.message}`, 'error');
    }
    this.loadActive();
  }

  async loadHistory() {
    const f = $('ahistory-form');
    const status = $('ahistory-status');
    setStatus(status, 'Loading…');
    try {
      const { items } = await api(withQuery('/api/v1/alerts/history', {
        since: localInputToRfc3339(f.elements.since.value), until: localInputToRfc3339(f.elements.until.value),
      }));
      const rows = items.slice().reverse().slice(0, 2000).map((h) => [
        fmtTime(h.at), el('span', { class: 'state', 'data-state': h.status, text: h.status }),
        el('span', { class: 'sev', 'data-sev': h.severity, text: h.severity || '' }), h.alert || h.rule_id || '',
        el('span', { class: 'mono', text: labelText(h.labels) }), fmtValue(h.value), h.note || '']);
      fill($('ahistory-table'), rows.length ? table(['Time', 'Event', 'Severity', 'Alert', 'Labels', 'Value', 'Note'], rows) : null);
      setStatus(status, items.length ? `${items.length} transition(s), newest first${items.length > 2000 ? ' (2,000 shown)' : ''}.` : 'No transitions in this range.');
    } catch (e) {
      fill($('ahistory-table'));
      setStatus(status, `Cannot load the history: ${e.message}`, 'error');
    }
  }

  stop() {
    this.live.stop();
    clearTimeout(this.refreshTimer);
    $('alerts-tabs').removeEventListener('click', this.onTab);
    $('ahistory-form').removeEventListener('submit', this.onHistory);
    this.rules.stop();
    this.silences.stop();
    if (this.channels) this.channels.stop();
    for (const id of ['active-table', 'ahistory-table']) fill($(id));
  }
}
