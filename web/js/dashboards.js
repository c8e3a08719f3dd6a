// SPDX-License-Identifier: Apache-2.0
// Custom dashboards view: the list (#/dashboards), one dashboard (#/dashboards/<id>, with
// ?var-<name>=<value> for template variables and ?window=15m), and the editor (create,
// add/remove/resize panels, template variable, save through PUT /api/v1/dashboards/<id>,
// delete), plus share-by-link and JSON import/export. Saving needs a role allowed to save
// shared dashboards; the controls are hidden for the others.

import { api, ApiError } from './api.js';
import { formatDateTime, parseDuration } from './format.js';
import { labelValues } from './query.js';
import { DashboardRenderer, PANEL_TYPES } from './panels.js';

const $ = (id) => document.getElementById(id);
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const VAR_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const SERVER_FIELDS = ['version', 'created_at', 'updated_at', 'updated_by'];

/** A dashboard id from a title: "Build farm #2" -> "build-farm-2". */
export function idFromTitle(title) {
  const s = String(title).toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48);
  return s || `dashboard-${Date.now().toString(36)}`;
}

/** Check an imported or edited layout; returns an error text or ''. */
export function layoutProblem(l) {
  if (!l || typeof l !== 'object' || Array.isArray(l)) return 'The file is not a dashboard: expected a JSON object.';
  if (typeof l.title !== 'string' || !l.title.trim()) return 'The dashboard needs a title.';
  if (!Array.isArray(l.panels)) return 'The dashboard has no "panels" array.';
  for (const [i, p] of l.panels.entries()) {
    if (!p || typeof p.query !== 'string' || !p.query.trim()) return `Panel ${i + 1} has no query.`;
    if (!PANEL_TYPES.includes(p.type)) return `Panel ${i + 1} has an unknown chart type "${String(p.type)}".`;
  }
  if (l.variables !== undefined && !Array.isArray(l.variables)) return '"variables" must be an array.';
  return '';
}

function download(text, filename) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export class DashboardsView {
  /**
   * @param {object} o
   * @param {boolean} o.canEdit
   * @param {() => string|null} o.token
   * @param {(reason:string) => void} o.onAuthFailed
   * @param {(state:string, detail?:object) => void} o.onState
   */
  constructor(o) {
    this.o = o;
    this.renderer = null;
    this.layout = null;
    this.editing = false;
    this.listeners = [];
    this.on($('dash-new'), 'click', () => { location.hash = '#/dashboards/new'; });
    this.on($('dash-import'), 'change', (ev) => this.importFile(ev.target));
    this.on($('dash-edit'), 'click', () => this.openEditor());
    this.on($('dash-share'), 'click', () => this.share());
    this.on($('dash-export'), 'click', () => this.exportJSON());
    this.on($('dash-window'), 'change', () => { this.saveURL(); this.render(); });
    this.on($('ed-add'), 'click', () => this.addPanel());
    this.on($('dash-editor'), 'submit', (ev) => { ev.preventDefault(); this.save(); });
    this.on($('ed-cancel'), 'click', () => this.cancelEdit());
    this.on($('ed-title'), 'input', () => {
      if (this.isNew && !this.idTouched) $('ed-id').value = idFromTitle($('ed-title').value);
    });
    this.on($('ed-id'), 'input', () => { this.idTouched = true; });
    this.on($('ed-delete'), 'click', () => this.remove());
    for (const e of document.querySelectorAll('#dashboards-view [data-edit]')) e.hidden = !o.canEdit;
  }

  on(el, ev, fn) {
    el.addEventListener(ev, fn);
    this.listeners.push(() => el.removeEventListener(ev, fn));
  }

  /** Show the route: '' -> list, 'new' -> editor on a blank layout, else that dashboard. */
  async show(route) {
    this.stopRenderer();
    this.editing = false;
    this.varValues = null;
    $('dash-editor').hidden = true;
    $('dash-share-out').textContent = '';
    $('dash-status').textContent = '';
    if (!route.arg) {
      $('dash-pane').hidden = true;
      $('dash-list-pane').hidden = false;
      await this.loadList();
      return;
    }
    $('dash-list-pane').hidden = true;
    $('dash-pane').hidden = false;
    this.params = route.params;
    if (route.arg === 'new') {
      if (this.pendingImport) {
        this.layout = this.pendingImport;
        this.pendingImport = null;
      } else {
        this.layout = { title: 'New dashboard', panels: [], variables: [] };
      }
      this.isNew = true;
      this.showLayout();
      this.openEditor();
      return;
    }
    this.isNew = false;
    try {
      this.layout = await api(`/api/v1/dashboards/${encodeURIComponent(route.arg)}`);
    } catch (e) {
      this.layout = null;
      $('dash-title').textContent = 'Dashboard not available';
      $('dash-panels').replaceChildren();
      $('dash-status').textContent = e.message;
      $('dash-empty').hidden = true;
      return;
    }
    const w = route.params.get('window');
    if (w && [...$('dash-window').options].some((x) => x.value === w)) $('dash-window').value = w;
    else if (this.layout.time && [...$('dash-window').options].some((x) => x.value === this.layout.time)) $('dash-window').value = this.layout.time;
    this.showLayout();
  }

  async loadList() {
    const status = $('dash-list-status');
    status.textContent = 'Loading…';
    let items = [];
    try {
      items = (await api('/api/v1/dashboards')).items || [];
    } catch (e) {
      status.textContent = `Cannot list dashboards: ${e.message}`;
      $('dash-list').replaceChildren();
      return;
    }
    items.sort((a, b) => String(a.title).localeCompare(String(b.title)));
    status.textContent = items.length ? `${items.length} dashboard${items.length === 1 ? '' : 's'}.`
      : `No dashboards saved yet.${this.o.canEdit ? ' Create one with "New dashboard".' : ''}`;
    $('dash-list').replaceChildren(...items.map((d) => {
      const li = document.createElement('li');
      li.className = 'card';
      const a = document.createElement('a');
      a.href = `#/dashboards/${encodeURIComponent(d.id)}`;
      a.textContent = d.title || d.id;
      const meta = document.createElement('span');
      meta.className = 'muted';
      const when = Date.parse(d.updated_at);
      meta.textContent = `${d.panels ?? 0} panel${d.panels === 1 ? '' : 's'}`
        + `${d.updated_by ? ` · saved by ${d.updated_by}` : ''}${Number.isFinite(when) ? ` · ${formatDateTime(when)}` : ''}`;
      li.append(a, meta);
      return li;
    }));
  }

  /** Title, variable pickers and panels of this.layout. */
  showLayout() {
    $('dash-title').textContent = this.layout.title;
    document.title = `${this.layout.title} · OMEGA monitor`;
    $('dash-share').hidden = this.isNew;
    $('dash-export').hidden = false;
    this.buildVariables();
    this.render();
  }

  vars() {
    const out = {};
    for (const v of this.layout.variables || []) {
      const fromURL = this.params && this.params.get(`var-${v.name}`);
      out[v.name] = fromURL ?? (this.varValues && this.varValues[v.name]) ?? v.value ?? '';
    }
    return out;
  }

  buildVariables() {
    const box = $('dash-vars');
    this.varValues = this.vars();
    box.replaceChildren();
    for (const v of this.layout.variables || []) {
      const id = `var-${v.name}`;
      const label = document.createElement('label');
      label.htmlFor = id;
      label.textContent = v.label || `$${v.name}`;
      const select = document.createElement('select');
      select.id = id;
      const current = this.varValues[v.name];
      select.append(new Option(current || '(none)', current));
      select.addEventListener('change', () => {
        this.varValues[v.name] = select.value;
        if (this.params) this.params.set(`var-${v.name}`, select.value);
        this.saveURL();
        this.render();
      });
      box.append(label, select);
      this.fillVariable(v, select, current);
    }
  }

  /** Values of the label named by v.values (or v.name), from the label values API. */
  async fillVariable(v, select, current) {
    const label = VAR_RE.test(v.values || '') ? v.values : v.name;
    try {
      const values = await labelValues(label);
      const opts = values.map((x) => new Option(x, x, false, x === current));
      if (current && !values.includes(current)) opts.unshift(new Option(current, current, false, true));
      if (opts.length) select.replaceChildren(...opts);
      if (!current && values.length) {
        this.varValues[v.name] = values[0];
        this.render();
      }
    } catch (e) {
      select.title = `Values of "${label}" are not available: ${e.message}`;
    }
  }

  saveURL() {
    if (this.isNew || !this.layout || !this.layout.id) return;
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(this.varValues || {})) if (v) p.set(`var-${k}`, v);
    if ($('dash-window').value !== (this.layout.time || '15m')) p.set('window', $('dash-window').value);
    const q = p.toString();
    history.replaceState(null, '', `#/dashboards/${encodeURIComponent(this.layout.id)}${q ? `?${q}` : ''}`);
  }

  render() {
    this.stopRenderer();
    const panels = this.layout.panels || [];
    $('dash-empty').hidden = panels.length > 0;
    $('dash-status').textContent = '';
    const vars = { ...(this.varValues || {}) };
    if (this.editing) {
      // The variable being edited takes its default value until the layout is saved.
      const name = $('ed-var-name').value.trim();
      if (VAR_RE.test(name) && !vars[name]) vars[name] = $('ed-var-value').value.trim();
    }
    this.renderer = new DashboardRenderer($('dash-panels'), this.layout, {
      windowMs: parseDuration($('dash-window').value) || 15 * 60e3,
      vars,
      token: this.o.token,
      onAuthFailed: this.o.onAuthFailed,
      onState: this.o.onState,
      onNote: (t) => { $('dash-status').textContent = t; },
      decorate: this.editing ? (i, root, head) => this.decorate(i, head) : undefined,
    });
  }

  /** Edit-mode controls on panel i: width, height, remove. */
  decorate(i, head) {
    const p = this.layout.panels[i];
    const box = document.createElement('span');
    box.className = 'panel-edit';
    const size = (name, values, current, labels) => {
      const s = document.createElement('select');
      s.setAttribute('aria-label', `${name} of panel ${i + 1}`);
      values.forEach((v, k) => s.append(new Option(labels[k], String(v), false, v === current)));
      s.addEventListener('change', () => {
        p[name === 'Width' ? 'w' : 'h'] = Number(s.value);
        this.render();
      });
      return s;
    };
    const rm = document.createElement('button');
    rm.type = 'button';
    rm.className = 'btn btn-small btn-danger';
    rm.textContent = 'Remove';
    rm.setAttribute('aria-label', `Remove panel ${i + 1} (${p.title || p.query})`);
    rm.addEventListener('click', () => {
      this.layout.panels.splice(i, 1);
      this.render();
    });
    box.append(size('Width', [3, 4, 6, 12], p.w ?? 6, ['¼', '⅓', '½', 'full']),
      size('Height', [2, 3, 5], p.h ?? 3, ['short', 'medium', 'tall']), rm);
    head.append(box);
  }

  openEditor() {
    if (!this.o.canEdit || !this.layout) return;
    this.editing = true;
    this.idTouched = Boolean(this.layout.id);
    this.before = JSON.stringify(this.layout);
    $('dash-editor').hidden = false;
    $('ed-title').value = this.layout.title;
    $('ed-id').value = this.layout.id || idFromTitle(this.layout.title);
    $('ed-id').readOnly = !this.isNew;
    const v = (this.layout.variables || [])[0];
    $('ed-var-name').value = v ? v.name : '';
    $('ed-var-values').value = v ? (v.values || '') : '';
    $('ed-var-value').value = v ? (v.value || '') : '';
    $('ed-delete').hidden = this.isNew;
    $('ed-error').hidden = true;
    $('dash-edit').hidden = true;
    this.render();
    $('ed-title').focus();
  }

  closeEditor() {
    this.editing = false;
    $('dash-editor').hidden = true;
    $('dash-edit').hidden = !this.o.canEdit;
  }

  cancelEdit() {
    if (this.isNew) {
      location.hash = '#/dashboards';
      return;
    }
    this.layout = JSON.parse(this.before);
    this.closeEditor();
    this.showLayout();
  }

  editorError(text) {
    $('ed-error').textContent = text;
    $('ed-error').hidden = !text;
  }

  addPanel() {
    const query = $('ed-p-query').value.trim();
    if (!query) {
      this.editorError('Enter the panel\'s query.');
      $('ed-p-query').focus();
      return;
    }
    this.editorError('');
    this.layout.panels.push({
      title: $('ed-p-title').value.trim() || query,
      query,
      type: $('ed-p-type').value,
      w: Number($('ed-p-w').value),
      h: Number($('ed-p-h').value),
    });
    $('ed-p-title').value = '';
    $('ed-p-query').value = '';
    this.render();
  }

  /** Copy the editor's fields into this.layout; returns an error text or ''. */
  collect() {
    const title = $('ed-title').value.trim();
    const id = $('ed-id').value.trim();
    if (!title) return 'The dashboard needs a title.';
    if (!ID_RE.test(id)) return 'The id may use 1 to 64 letters, digits, _ and -.';
    const name = $('ed-var-name').value.trim();
    const values = $('ed-var-values').value.trim();
    if (name && !VAR_RE.test(name)) return 'A variable name uses letters, digits and _ (not starting with a digit).';
    const others = (this.layout.variables || []).slice(1);
    const value = $('ed-var-value').value.trim();
    const first = name ? [{ ...((this.layout.variables || [])[0] || {}), name, values: values || name }] : [];
    if (first.length) {
      if (value) first[0].value = value;
      else delete first[0].value;
    }
    this.layout.title = title;
    this.layout.id = id;
    this.layout.variables = [...first, ...others];
    this.layout.time = $('dash-window').value;
    return '';
  }

  async save() {
    const problem = this.collect() || layoutProblem(this.layout);
    if (problem) {
      this.editorError(problem);
      return;
    }
    const body = { ...this.layout };
    for (const k of SERVER_FIELDS) if (k !== 'version') delete body[k];
    if (this.isNew) delete body.version;
    $('ed-save').disabled = true;
    try {
      const saved = await api(`/api/v1/dashboards/${encodeURIComponent(body.id)}`, { method: 'PUT', body });
      this.layout = saved;
      this.isNew = false;
      this.closeEditor();
      this.editorError('');
      const target = `#/dashboards/${encodeURIComponent(saved.id)}`;
      if (location.hash !== target) location.hash = target;
      else this.showLayout();
      $('dash-share-out').textContent = `Saved (version ${saved.version}).`;
    } catch (e) {
      this.editorError(e instanceof ApiError ? e.message : String(e));
    } finally {
      $('ed-save').disabled = false;
    }
  }

  async remove() {
    if (this.isNew || !this.layout || !this.layout.id) return;
    if (!window.confirm(`Delete the dashboard "${this.layout.title}"?`)) return;
    try {
      await api(`/api/v1/dashboards/${encodeURIComponent(this.layout.id)}`, { method: 'DELETE' });
      location.hash = '#/dashboards';
    } catch (e) {
      this.editorError(e.message);
    }
  }

  shareURL() {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(this.varValues || {})) if (v) p.set(`var-${k}`, v);
    const q = p.toString();
    return `${location.origin}${location.pathname}#/dashboards/${encodeURIComponent(this.layout.id)}${q ? `?${q}` : ''}`;
  }

  async share() {
    if (!this.layout || !this.layout.id) return;
    const url = this.shareURL();
    let copied = false;
    try {
      await navigator.clipboard.writeText(url);
      copied = true;
    } catch {
      copied = false;
    }
    $('dash-share-out').textContent = `${copied ? 'Link copied: ' : 'Link: '}${url}`;
  }

  exportJSON() {
    if (!this.layout) return;
    const out = { ...this.layout };
    for (const k of SERVER_FIELDS) delete out[k];
    download(`${JSON.stringify(out, null, 2)}\n`, `${this.layout.id || idFromTitle(this.layout.title)}.json`);
  }

  async importFile(input) {
    const file = input.files && input.files[0];
    input.value = '';
    if (!file) return;
    let layout;
    try {
      if (file.size > 256 * 1024) throw new Error('The file is larger than 256 KiB.');
      layout = JSON.parse(await file.text());
    } catch (e) {
      $('dash-list-status').textContent = `Cannot import ${file.name}: ${e.message}`;
      return;
    }
    const problem = layoutProblem(layout);
    if (problem) {
      $('dash-list-status').textContent = `Cannot import ${file.name}: ${problem}`;
      return;
    }
    for (const k of SERVER_FIELDS) delete layout[k];
    if (!ID_RE.test(layout.id || '')) layout.id = idFromTitle(layout.title);
    this.pendingImport = layout;
    if (location.hash === '#/dashboards/new') this.show({ arg: 'new', params: new URLSearchParams() });
    else location.hash = '#/dashboards/new';
  }

  stopRenderer() {
    if (this.renderer) {
      this.renderer.destroy();
      this.renderer = null;
    }
  }

  points() {
    return this.renderer ? this.renderer.points() : 0;
  }

  stop() {
    this.stopRenderer();
    for (const off of this.listeners) off();
    document.title = 'OMEGA monitor';
  }
}
