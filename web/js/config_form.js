// SPDX-License-Identifier: Apache-2.0
// Configuration editor of the admin view: a form generated from GET /api/v1/config/schema
// (fields with path, type, min, max, default, unit, help, enum), filled from GET
// /api/v1/config, grouped by top-level section. Numbers are range-checked in the browser;
// PUT /api/v1/config sends the whole document, and the server's problems (422
// invalid_config, each with a path) appear next to their fields; restart_required is listed
// after a save. A server without these endpoints gets an honest "not available" state.

import { api } from './api.js';
import { el, fill, setStatus } from './ui.js';

const MASK = '********';

/** Value at a dotted path of obj (undefined when absent). */
export function getPath(obj, path) {
  let cur = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !(k in cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

/** Set a dotted path of obj, creating objects on the way. */
export function setPath(obj, path, value) {
  const keys = path.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (cur[k] === null || typeof cur[k] !== 'object') cur[k] = {};
    cur = cur[k];
  }
  cur[keys[keys.length - 1]] = value;
}

/** Allowed values of an enum field (the schema's "values"; "enum" accepted too). */
export const valuesOf = (f) => (Array.isArray(f.values) ? f.values : Array.isArray(f.enum) ? f.enum : null);

/**
 * Normalised kind of a schema row: 'object' (a section, no input), 'bool', 'int', 'number',
 * 'measure' (duration or size: a number in the field's unit, or text the server parses),
 * 'enum', 'enumlist' (checkboxes), 'lines' (string list, one per line), 'json', 'text'.
 */
export function kindOf(f) {
  const t = String(f.type || '').toLowerCase();
  if (t === 'object') return 'object';
  if (t === 'enum list') return 'enumlist';
  if (t === 'string list') return 'lines';
  if (valuesOf(f) && valuesOf(f).length) return 'enum';
  if (['bool', 'boolean'].includes(t)) return 'bool';
  if (['int', 'integer'].includes(t)) return 'int';
  if (['double', 'number', 'float'].includes(t)) return 'number';
  if (['duration', 'size'].includes(t)) return 'measure';
  if (['array', 'list', 'map', 'template map', 'json'].includes(t)) return 'json';
  return 'text';
}

/** Range check of a number against the row's min/max (numbers only). */
function inRange(f, n) {
  const unit = f.unit ? ` ${f.unit}` : '';
  if (typeof f.min === 'number' && (f.exclusive_min ? n <= f.min : n < f.min)) {
    return { error: f.exclusive_min ? `More than ${f.min}${unit}.` : `At least ${f.min}${unit}.` };
  }
  if (typeof f.max === 'number' && n > f.max) return { error: `At most ${f.max}${unit}.` };
  return { value: n };
}

/**
 * Check one field's raw input (for 'enumlist' an array of the checked values). Returns
 * {value} or {error} (a sentence for people). Numbers must parse and lie within min..max;
 * a duration or size written as a plain number is range-checked and sent as a number, any
 * other text is sent as is for the server to judge; JSON fields must parse.
 */
export function parseField(f, raw) {
  const kind = kindOf(f);
  if (kind === 'bool') return { value: Boolean(raw) };
  if (kind === 'enumlist') return { value: Array.isArray(raw) ? raw : [] };
  if (kind === 'lines') return { value: String(raw).split('\n').map((x) => x.trim()).filter(Boolean) };
  if (kind === 'int' || kind === 'number') {
    const s = String(raw).trim();
    const n = Number(s);
    if (s === '' || !Number.isFinite(n)) return { error: 'Enter a number.' };
    if (kind === 'int' && !Number.isInteger(n)) return { error: 'Enter a whole number.' };
    return inRange(f, n);
  }
  if (kind === 'measure') {
    const s = String(raw).trim();
    if (s === '') return { error: `Enter a ${String(f.type).toLowerCase()}.` };
    return /^-?\d+(\.\d+)?$/.test(s) ? inRange(f, Number(s)) : { value: s };
  }
  if (kind === 'json') {
    try {
      return { value: JSON.parse(String(raw)) };
    } catch {
      return { error: 'Enter valid JSON.' };
    }
  }
  return { value: String(raw) };
}

const fieldsOf = (schema) => (Array.isArray(schema) ? schema : schema.fields || schema.items || []);
const safeId = (path) => `cfg-${path.replace(/[^A-Za-z0-9_-]/g, '_')}`;

export class ConfigEditor {
  /** @param {HTMLElement} root  the admin-config panel (holds #config-status, #config-form) */
  constructor(root) {
    this.root = root;
    this.fields = [];
    this.inputs = new Map(); // path -> {f, input, problem}
    this.doc = null;
    this.onSubmit = (ev) => {
      ev.preventDefault();
      this.save();
    };
    this.form = root.querySelector('#config-form');
    this.form.addEventListener('submit', this.onSubmit);
  }

  status(msg, kind) {
    setStatus(this.root.querySelector('#config-status'), msg, kind);
  }

  async load() {
    this.status('Loading…');
    fill(this.form);
    fill(this.root.querySelector('#config-result'));
    try {
      const [schema, doc] = await Promise.all([api('/api/v1/config/schema'), api('/api/v1/config')]);
      this.doc = doc && doc.config && typeof doc.config === 'object' && !Array.isArray(doc.config) && !('server' in doc) ? doc.config : doc;
      this.fields = fieldsOf(schema).filter((f) => f && typeof f.path === 'string' && kindOf(f) !== 'object');
      this.render();
      this.status(`${this.fields.length} settings. Secrets are masked by the server; a masked value is kept as it is.`);
    } catch (e) {
      this.root.dataset.state = e.status === 404 ? 'absent' : 'error';
      this.status(e.status === 404
        ? 'Configuration editing is not available on this server (it does not offer /api/v1/config and /api/v1/config/schema yet).'
        : `Cannot load the configuration: ${e.message}`, 'error');
      return;
    }
    this.root.dataset.state = 'ready';
  }

  render() {
    this.inputs.clear();
    const groups = new Map();
    for (const f of this.fields) {
      const section = f.path.split('.')[0];
      if (!groups.has(section)) groups.set(section, []);
      groups.get(section).push(f);
    }
    const sets = [...groups].map(([section, fs]) => el('fieldset', { class: 'cfg-section', 'data-section': section },
      el('legend', { text: section }), fs.map((f) => this.fieldRow(f))));
    fill(this.form, sets, el('div', { class: 'row-inline cfg-actions' },
      el('button', { type: 'submit', class: 'btn btn-primary', text: 'Save configuration' }),
      el('button', { type: 'button', class: 'btn', text: 'Reload', on: { click: () => this.load() } })));
  }

  fieldRow(f) {
    const id = safeId(f.path);
    const kind = kindOf(f);
    const cur = getPath(this.doc, f.path);
    const value = cur === undefined ? f.default : cur;
    let input;
    if (kind === 'bool') {
      input = el('input', { type: 'checkbox', id, props: { checked: Boolean(value) } });
    } else if (kind === 'enum') {
      input = el('select', { id }, valuesOf(f).map((v) => el('option', { value: String(v), text: String(v), selected: String(v) === String(value) })));
    } else if (kind === 'enumlist') {
      const on = new Set(Array.isArray(value) ? value.map(String) : []);
      input = el('span', { id, class: 'cfg-choices', role: 'group', 'aria-label': f.path },
        valuesOf(f).map((v) => el('label', {}, el('input', { type: 'checkbox', value: String(v), props: { checked: on.has(String(v)) } }), ` ${v}`)));
    } else if (kind === 'lines') {
      input = el('textarea', { id, rows: 2, class: 'mono', spellcheck: 'false', props: { value: Array.isArray(value) ? value.join('\n') : '' } });
    } else if (kind === 'json') {
      input = el('textarea', { id, rows: 2, class: 'mono', spellcheck: 'false', props: { value: JSON.stringify(value ?? null) } });
    } else {
      input = el('input', { id, type: f.secret ? 'password' : 'text', spellcheck: 'false', autocomplete: 'off',
        inputmode: kind === 'int' || kind === 'number' ? 'decimal' : undefined,
        props: { value: value === undefined || value === null ? '' : String(value) } });
    }
    const helpId = `${id}-help`;
    const problemId = `${id}-problem`;
    input.setAttribute('aria-describedby', `${helpId} ${problemId}`);
    input.dataset.path = f.path;
    const range = [f.min !== undefined ? `${f.exclusive_min ? 'above' : 'min'} ${f.min}` : '', f.max !== undefined ? `max ${f.max}` : '',
      f.unit ? `unit ${f.unit}` : '', f.default !== undefined ? `default ${JSON.stringify(f.default)}` : '']
      .filter(Boolean).join(' · ');
    const problem = el('p', { id: problemId, class: 'field-problem', role: 'alert', hidden: true });
    this.inputs.set(f.path, { f, input, problem });
    input.addEventListener('change', () => this.checkOne(f.path));
    return el('div', { class: 'cfg-field', 'data-path': f.path },
      el('label', { for: id, class: 'mono', text: f.path.split('.').slice(1).join('.') || f.path }),
      input,
      el('p', { id: helpId, class: 'hint' }, f.help || '', range ? el('span', { class: 'cfg-range', text: ` (${range})` }) : null),
      problem);
  }

  showProblem(path, msg) {
    const x = this.inputs.get(path);
    if (!x) return false;
    x.problem.textContent = msg;
    x.problem.hidden = !msg;
    x.input.setAttribute('aria-invalid', msg ? 'true' : 'false');
    return true;
  }

  checkOne(path) {
    const x = this.inputs.get(path);
    let raw = x.input.value;
    if (kindOf(x.f) === 'enumlist') raw = [...x.input.querySelectorAll('input:checked')].map((c) => c.value);
    else if (x.input.type === 'checkbox') raw = x.input.checked;
    const r = parseField(x.f, raw);
    this.showProblem(path, r.error || '');
    return r;
  }

  async save() {
    const out = structuredClone(this.doc || {});
    let bad = 0;
    for (const [path] of this.inputs) {
      const r = this.checkOne(path);
      if (r.error) bad += 1;
      else setPath(out, path, r.value);
    }
    const result = this.root.querySelector('#config-result');
    fill(result);
    if (bad) {
      this.status(`${bad} setting(s) need fixing before saving.`, 'error');
      this.form.querySelector('[aria-invalid="true"]')?.focus();
      return;
    }
    this.status('Saving…');
    try {
      const r = await api('/api/v1/config', { method: 'PUT', body: out });
      this.doc = r && r.config ? r.config : out;
      const restart = (r && r.restart_required) || [];
      this.status('Saved.', 'ok');
      if (restart.length) {
        fill(result, el('p', { text: 'These settings take effect after a restart of the server:' }),
          el('ul', { class: 'restart-list' }, restart.map((p) => el('li', { class: 'mono', text: typeof p === 'string' ? p : JSON.stringify(p) }))));
      } else {
        fill(result, el('p', { text: 'All changes are in effect now.' }));
      }
    } catch (e) {
      this.serverProblems(e);
    }
  }

  serverProblems(e) {
    const problems = e.body && Array.isArray(e.body.problems) ? e.body.problems : [];
    const loose = [];
    for (const p of problems) {
      const where = p.line ? ` (line ${p.line}${p.column ? `, column ${p.column}` : ''})` : '';
      if (!this.showProblem(p.path, `${p.message}${where}`)) loose.push(`${p.path || '(document)'}: ${p.message}${where}`);
    }
    this.status(problems.length ? `The server refused the configuration: ${problems.length} problem(s).` : e.message, 'error');
    if (loose.length) fill(this.root.querySelector('#config-result'), el('ul', { class: 'problem-list' }, loose.map((t) => el('li', { text: t }))));
    this.form.querySelector('[aria-invalid="true"]')?.focus();
  }

  stop() {
    this.form.removeEventListener('submit', this.onSubmit);
    fill(this.form);
    this.doc = null;
  }
}
