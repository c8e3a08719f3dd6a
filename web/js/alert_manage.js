// SPDX-License-Identifier: Apache-2.0
// Editors of the alerts view: rules (/api/v1/alerts/rules; the API's 422 message shown next
// to the field it names; any rule can be disabled; built-in rules keep their name, expression,
// comparison and category, show "modified" with the configuration's values when changed and
// can be restored to them), silences (/api/v1/alerts/silences,
// matchers written as name="value", name!="v", name=~"re", name!~"re") and notification
// channels (/api/v1/alerts/channels, with "Send test"). Server strings are set as text.

import { api } from './api.js';
import { el, fill, fmtTime, localInputToRfc3339, msToLocalInput, setStatus, table } from './ui.js';

const $ = (id) => document.getElementById(id);

/** Parse one matcher `name op "value"` (quotes optional). Returns {name, op, value} or null. */
export function parseMatcher(s) {
  const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|(\S.*?))\s*$/.exec(s);
  if (!m) return null;
  const value = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : m[4];
  return { name: m[1], op: m[2], value };
}

/** "a=1, b = two" -> {a:"1", b:"two"}; throws Error naming the bad part. */
export function parsePairs(s) {
  const out = {};
  for (const part of String(s || '').split(',').map((x) => x.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    if (i <= 0) throw new Error(`"${part}" is not name=value`);
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/** A duration as the API gives it (seconds as a number, or text) -> text for the form. */
const durText = (v) => (typeof v === 'number' ? `${v}s` : String(v ?? ''));

const pairsText = (o) => Object.entries(o || {}).map(([k, v]) => `${k}=${v}`).join(', ');

/** Which form field a 422 message names ("expr: ...", "field 'for' ..."), or ''. */
export function fieldInMessage(msg, names) {
  const m = String(msg);
  for (const n of names) {
    if (new RegExp(`(^|[^A-Za-z0-9_])${n}([^A-Za-z0-9_]|$)`).test(m)) return n;
  }
  return '';
}

const RULE_FIELDS = ['expr', 'warning', 'critical', 'emergency', 'clear', 'repeat_interval', 'for', 'channels',
  'labels', 'category', 'op', 'group_by', 'description', 'recommended_action', 'name', 'id'];

export class RulesPanel {
  /** @param {{admin: boolean}} o  only admins create, edit and delete */
  constructor(o) {
    this.o = o;
    this.editing = null;
    $('rule-editor').hidden = !o.admin;
    this.onSubmit = (ev) => {
      ev.preventDefault();
      this.save();
    };
    this.onCancel = () => this.edit(null);
    $('rule-form').addEventListener('submit', this.onSubmit);
    $('rule-cancel').addEventListener('click', this.onCancel);
  }

  async load() {
    const status = $('rules-status');
    try {
      const { items } = await api('/api/v1/alerts/rules');
      fill($('rules-table'), table(['Name', 'Expression', 'Thresholds', 'For', 'Category', 'State', ''],
        items.map((r) => this.row(r))));
      setStatus(status, `${items.length} rule(s).`);
    } catch (e) {
      fill($('rules-table'));
      setStatus(status, `Cannot load the rules: ${e.message}`, 'error');
    }
  }

  row(r) {
    const th = ['warning', 'critical', 'emergency'].filter((k) => typeof r[k] === 'number')
      .map((k) => `${k} ${r.op || '>'} ${r[k]}`).join(', ');
    const btn = (text, label, click, cls = 'btn btn-small') =>
      el('button', { type: 'button', class: cls, text, 'aria-label': `${label} ${r.name}`, on: { click } });
    const actions = this.o.admin
      ? el('span', { class: 'actions' },
        btn('Edit', 'Edit', () => this.edit(r)),
        r.enabled === false ? btn('Enable', 'Enable', () => this.setEnabled(r, true)) : btn('Disable', 'Disable', () => this.setEnabled(r, false)),
        r.builtin
          ? (r.modified ? btn('Restore default', 'Restore the default of', () => this.restore(r)) : null)
          : btn('Delete', 'Delete', () => this.remove(r), 'btn btn-small btn-danger'))
      : '';
    const changed = Object.keys(r.defaults || {});
    const tags = [r.builtin ? 'built-in' : '', r.modified ? 'modified' : '', r.enabled === false ? 'disabled' : ''].filter(Boolean);
    const state = r.enabled === false ? el('span', { class: 'muted', text: 'disabled: not evaluated' })
      : el('span', { class: r.last_error ? 'error' : 'muted', text: r.last_error || (r.last_evaluated_at ? `evaluated ${fmtTime(r.last_evaluated_at)}` : '') });
    return [el('span', {}, el('span', { class: 'rule-name', text: r.name || r.id }), ' ',
      tags.length ? el('span', { class: 'muted rule-tags', text: `(${tags.join(', ')})`,
        title: changed.length ? `Changed from the configuration: ${changed.join(', ')}` : undefined }) : null),
    el('span', { class: 'mono', text: r.expr || (r.event ? `event ${r.event}` : '') }),
    th, durText(r.for || '0s'), r.category || '', state, actions];
  }

  async setEnabled(r, enabled) {
    const status = $('rule-form-status');
    try {
      await api(`/api/v1/alerts/rules/${encodeURIComponent(r.id)}`, { method: 'PATCH', body: { enabled } });
      setStatus(status, `${enabled ? 'Enabled' : 'Disabled'} ${r.name}.`, 'ok');
    } catch (e) {
      setStatus(status, e.message, 'error');
    }
    this.load();
  }

  async restore(r) {
    if (!window.confirm(`Restore ${r.name} to the configuration's settings? Your changes to it are lost.`)) return;
    const status = $('rule-form-status');
    try {
      await api(`/api/v1/alerts/rules/${encodeURIComponent(r.id)}/override`, { method: 'DELETE' });
      if (this.editing && this.editing.id === r.id) this.edit(null);
      setStatus(status, `Restored the default of ${r.name}.`, 'ok');
    } catch (e) {
      setStatus(status, e.message, 'error');
    }
    this.load();
  }

  /** Fill the form from rule r (null: a new rule). */
  edit(r) {
    this.editing = r;
    const f = $('rule-form');
    f.reset();
    this.clearProblems();
    $('rule-form-title').textContent = r ? `Edit ${r.builtin ? 'built-in ' : ''}rule ${r.name}` : 'New rule';
    $('rule-cancel').hidden = !r;
    f.elements.id.disabled = Boolean(r);
    // A built-in rule is the configuration's: only its thresholds, timing, routing and texts change.
    for (const k of ['name', 'expr', 'op', 'category']) f.elements[k].disabled = Boolean(r?.builtin);
    const note = $('rule-form-note');
    const defaults = Object.entries(r?.defaults || {});
    note.textContent = !r?.builtin ? ''
      : defaults.length ? `Changed from the configuration (it stays so when the configuration changes): ${
        defaults.map(([k, v]) => `${k} (default ${v === null ? 'none' : typeof v === 'object' ? JSON.stringify(v) : v})`).join(', ')}.`
        : 'Built-in rule from the configuration: saving a change keeps it over later configuration changes until you restore the default.';
    note.hidden = !note.textContent;
    if (r) {
      for (const k of ['id', 'name', 'expr']) f.elements[k].value = r[k] ?? '';
      for (const k of ['for', 'repeat_interval']) f.elements[k].value = r[k] === undefined || r[k] === null ? '' : durText(r[k]);
      for (const k of ['warning', 'critical', 'emergency', 'clear']) f.elements[k].value = typeof r[k] === 'number' ? String(r[k]) : '';
      f.elements.op.value = r.op || '>';
      f.elements.category.value = r.category || 'performance';
      f.elements.channels.value = (r.channels || []).join(', ');
      f.elements.labels.value = pairsText(r.labels);
      f.elements.description.value = r.annotations?.description ?? r.description ?? '';
      f.elements.recommended_action.value = r.annotations?.recommended_action ?? r.recommended_action ?? '';
      f.elements.name.focus();
    }
  }

  clearProblems() {
    for (const p of $('rule-form').querySelectorAll('.field-problem')) {
      p.textContent = '';
      p.hidden = true;
    }
    for (const i of $('rule-form').querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
    setStatus($('rule-form-status'), '');
  }

  problem(field, msg) {
    const f = $('rule-form');
    const p = f.querySelector(`.field-problem[data-for="${field}"]`);
    if (!p) return false;
    p.textContent = msg;
    p.hidden = false;
    f.elements[field].setAttribute('aria-invalid', 'true');
    f.elements[field].focus();
    return true;
  }

  body() {
    const f = $('rule-form');
    const b = { name: f.elements.name.value.trim(), expr: f.elements.expr.value.trim(), op: f.elements.op.value,
      category: f.elements.category.value };
    if (!this.editing && f.elements.id.value.trim()) b.id = f.elements.id.value.trim();
    if (this.editing) b.enabled = this.editing.enabled !== false; // the Enable/Disable buttons change it
    for (const k of ['warning', 'critical', 'emergency', 'clear']) {
      const v = f.elements[k].value.trim();
      if (v === '') {
        b[k] = null; // none (a built-in rule's default would come back if left out)
        continue;
      }
      const n = Number(v);
      if (!Number.isFinite(n)) throw Object.assign(new Error('Enter a number.'), { field: k });
      b[k] = n;
    }
    if (!['warning', 'critical', 'emergency'].some((k) => typeof b[k] === 'number')) {
      throw Object.assign(new Error('Give at least one threshold (warning, critical or emergency).'), { field: 'warning' });
    }
    for (const k of ['for', 'repeat_interval']) b[k] = f.elements[k].value.trim() || null;
    b.channels = f.elements.channels.value.split(',').map((s) => s.trim()).filter(Boolean);
    try {
      b.labels = parsePairs(f.elements.labels.value);
    } catch (e) {
      throw Object.assign(e, { field: 'labels' });
    }
    const ann = {};
    for (const k of ['description', 'recommended_action']) ann[k] = f.elements[k].value.trim();
    b.annotations = ann;
    return b;
  }

  async save() {
    this.clearProblems();
    let b;
    try {
      b = this.body();
    } catch (e) {
      this.problem(e.field, e.message);
      return;
    }
    const status = $('rule-form-status');
    try {
      const r = this.editing
        ? await api(`/api/v1/alerts/rules/${encodeURIComponent(this.editing.id)}`, { method: 'PUT', body: b })
        : await api('/api/v1/alerts/rules', { method: 'POST', body: b });
      this.edit(null);
      setStatus(status, `Saved rule ${r.name}.`, 'ok');
      this.load();
    } catch (e) {
      const field = fieldInMessage(e.message, RULE_FIELDS);
      if (!(field && this.problem(field, e.message))) setStatus(status, e.message, 'error');
      else setStatus(status, 'The server refused the rule; see the marked field.', 'error');
    }
  }

  async remove(r) {
    if (!window.confirm(`Delete the rule ${r.name}? Its alerts disappear without notification.`)) return;
    try {
      await api(`/api/v1/alerts/rules/${encodeURIComponent(r.id)}`, { method: 'DELETE' });
      setStatus($('rule-form-status'), `Deleted ${r.name}.`, 'ok');
    } catch (e) {
      setStatus($('rule-form-status'), e.message, 'error');
    }
    this.load();
  }

  stop() {
    $('rule-form').removeEventListener('submit', this.onSubmit);
    $('rule-cancel').removeEventListener('click', this.onCancel);
    this.edit(null);
    fill($('rules-table'));
  }
}

export class SilencesPanel {
  /** @param {{canEdit: boolean, username: string|null}} o */
  constructor(o) {
    this.o = o;
    $('silence-editor').hidden = !o.canEdit;
    this.onSubmit = (ev) => {
      ev.preventDefault();
      this.create();
    };
    $('silence-form').addEventListener('submit', this.onSubmit);
  }

  async load() {
    const f = $('silence-form');
    if (!f.elements.starts_at.value) f.elements.starts_at.value = msToLocalInput(Date.now());
    if (!f.elements.ends_at.value) f.elements.ends_at.value = msToLocalInput(Date.now() + 2 * 3600e3);
    const status = $('silences-status');
    try {
      const { items } = await api('/api/v1/alerts/silences');
      fill($('silences-table'), items.length ? table(['Matchers', 'Starts', 'Ends', 'Author', 'Comment', 'State', ''],
        items.map((s) => [
          el('span', { class: 'mono', text: (s.matchers || []).map((m) => `${m.name}${m.op || '='}"${m.value}"`).join(', ') }),
          fmtTime(s.starts_at), fmtTime(s.ends_at), s.author || '', el('span', { class: 'silence-comment', text: s.comment || '' }),
          s.active ? 'active' : 'pending',
          this.o.canEdit ? el('button', { type: 'button', class: 'btn btn-small btn-danger', text: 'Delete',
            on: { click: () => this.remove(s) } }) : '',
        ])) : null);
      setStatus(status, items.length ? `${items.length} silence(s).` : 'No silences.');
    } catch (e) {
      fill($('silences-table'));
      setStatus(status, `Cannot load the silences: ${e.message}`, 'error');
    }
  }

  async create() {
    const f = $('silence-form');
    const status = $('silence-form-status');
    const lines = f.elements.matchers.value.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
    const matchers = [];
    for (const line of lines) {
      const m = parseMatcher(line);
      if (!m) {
        setStatus(status, `Matcher "${line}" is not name="value" (or !=, =~, !~).`, 'error');
        return;
      }
      matchers.push(m);
    }
    if (!matchers.length) {
      setStatus(status, 'Give at least one matcher, e.g. alertname="High CPU".', 'error');
      return;
    }
    const body = { matchers, starts_at: localInputToRfc3339(f.elements.starts_at.value),
      ends_at: localInputToRfc3339(f.elements.ends_at.value), author: this.o.username || '', comment: f.elements.comment.value };
    try {
      await api('/api/v1/alerts/silences', { method: 'POST', body });
      f.elements.matchers.value = '';
      f.elements.comment.value = '';
      setStatus(status, 'Silence created.', 'ok');
      this.load();
    } catch (e) {
      setStatus(status, e.message, 'error');
    }
  }

  async remove(s) {
    try {
      await api(`/api/v1/alerts/silences/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
      setStatus($('silence-form-status'), 'Silence deleted.', 'ok');
    } catch (e) {
      setStatus($('silence-form-status'), e.message, 'error');
    }
    this.load();
  }

  stop() {
    $('silence-form').removeEventListener('submit', this.onSubmit);
    fill($('silences-table'));
  }
}

export class ChannelsPanel {
  constructor() {
    this.onSubmit = (ev) => {
      ev.preventDefault();
      this.create();
    };
    $('channel-form').addEventListener('submit', this.onSubmit);
  }

  async load() {
    const status = $('channels-status');
    try {
      const { items } = await api('/api/v1/alerts/channels');
      fill($('channels-table'), table(['Id', 'Name', 'Type', 'Settings', ''], items.map((c) => [
        el('span', { class: 'mono', text: c.id }), el('span', { class: 'channel-name', text: c.name || '' }), c.type || '',
        el('span', { class: 'mono', text: JSON.stringify(c.config || {}) }),
        el('span', { class: 'actions' },
          el('button', { type: 'button', class: 'btn btn-small', text: 'Send test', 'aria-label': `Send a test to ${c.name || c.id}`,
            on: { click: (ev) => this.test(c, ev.target) } }),
          c.builtin || String(c.id).startsWith('builtin-') ? null
            : el('button', { type: 'button', class: 'btn btn-small btn-danger', text: 'Delete', on: { click: () => this.remove(c) } })),
      ])));
      setStatus(status, `${items.length} channel(s).`);
    } catch (e) {
      fill($('channels-table'));
      setStatus(status, `Cannot load the channels: ${e.message}`, 'error');
    }
  }

  async create() {
    const f = $('channel-form');
    const status = $('channel-form-status');
    let config;
    try {
      config = f.elements.config.value.trim() ? JSON.parse(f.elements.config.value) : {};
    } catch {
      setStatus(status, 'Settings must be a JSON object, e.g. {"url": "https://example.org/hook"}.', 'error');
      return;
    }
    const body = { name: f.elements.name.value.trim(), type: f.elements.type.value, config };
    if (f.elements.id.value.trim()) body.id = f.elements.id.value.trim();
    if (f.elements.template.value.trim()) body.template = f.elements.template.value.trim();
    try {
      await api('/api/v1/alerts/channels', { method: 'POST', body });
      f.reset();
      setStatus(status, `Channel ${body.name} created.`, 'ok');
      this.load();
    } catch (e) {
      setStatus(status, e.message, 'error');
    }
  }

  async test(c, button) {
    button.disabled = true;
    const status = $('channel-form-status');
    setStatus(status, `Sending a test notification to ${c.name || c.id}…`);
    try {
      await api(`/api/v1/alerts/channels/${encodeURIComponent(c.id)}/test`, { method: 'POST' });
      setStatus(status, `Test notification sent to ${c.name || c.id}.`, 'ok');
    } catch (e) {
      setStatus(status, `Test to ${c.name || c.id} failed: ${e.message}`, 'error');
    }
    button.disabled = false;
  }

  async remove(c) {
    if (!window.confirm(`Delete the channel ${c.name || c.id}? Rules naming it skip it.`)) return;
    try {
      await api(`/api/v1/alerts/channels/${encodeURIComponent(c.id)}`, { method: 'DELETE' });
      setStatus($('channel-form-status'), 'Channel deleted.', 'ok');
    } catch (e) {
      setStatus($('channel-form-status'), e.message, 'error');
    }
    this.load();
  }

  stop() {
    $('channel-form').removeEventListener('submit', this.onSubmit);
    fill($('channels-table'));
  }
}
