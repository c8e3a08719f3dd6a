// SPDX-License-Identifier: Apache-2.0
// Comparative view: one expression compared either before/after (the same range shifted back
// by an offset, queried separately and shifted forward, so it works with any expression the
// range API accepts) or between two values of a label (series split by that label and paired
// on their other labels). Both sides are overlaid on one chart; the table gives each pair's
// mean over the range, the % change and a regression flag against a threshold. State lives
// in the hash (#/compare?expr=..&mode=offset&offset=1d&range=1h) for sharing.

import { RangeChart, seriesColor, withAlpha } from './charts.js';
import { addExportButtons } from './export.js';
import { formatDateTime, formatDuration, formatNumber, parseDuration, seriesName } from './format.js';
import { matrixSeries, rangeQuery, stepFor } from './query.js';
import { onThemeChange } from './theme.js';

const $ = (id) => document.getElementById(id);
const FIELDS = { expr: 'cmp-expr', mode: 'cmp-mode', offset: 'cmp-offset', label: 'cmp-label', a: 'cmp-a', b: 'cmp-b', range: 'cmp-range', threshold: 'cmp-threshold', worse: 'cmp-worse' };
const MAX_PAIRS = 100;

/** Mean of the finite y values of points, NaN when there are none. */
export function mean(points) {
  let n = 0;
  let sum = 0;
  for (const p of points) {
    if (p.y !== null && Number.isFinite(p.y)) {
      n += 1;
      sum += p.y;
    }
  }
  return n ? sum / n : NaN;
}

/** % change from a to b (NaN when a is 0 or either is missing). */
export function pctChange(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && a !== 0 ? ((b - a) / Math.abs(a)) * 100 : NaN;
}

/** 'regression', 'improvement' or '' for a % change, a threshold and which way is worse. */
export function flagFor(pct, threshold, worse) {
  if (!Number.isFinite(pct)) return '';
  const bad = worse === 'lower' ? -pct : pct;
  if (bad > threshold) return 'regression';
  if (-bad > threshold) return 'improvement';
  return '';
}

function without(metric, label) {
  const m = { ...metric };
  delete m[label];
  return m;
}

export class CompareView {
  constructor(route) {
    this.abort = null;
    this.chart = new RangeChart($('cmp-chart'), { unit: '' });
    this.unTheme = onThemeChange(() => this.chart.retheme());
    this.exportBox = addExportButtons($('cmp-title').parentElement, () => this.chart.chart, 'comparison');
    this.listeners = [];
    const on = (el, ev, fn) => {
      el.addEventListener(ev, fn);
      this.listeners.push(() => el.removeEventListener(ev, fn));
    };
    on($('compare-form'), 'submit', (ev) => { ev.preventDefault(); this.run(); });
    on($('cmp-mode'), 'change', () => this.syncMode());
    for (const [k, v] of Object.entries(FIELDS)) if (route.params.get(k) !== null) $(v).value = route.params.get(k);
    this.syncMode();
    if ($('cmp-expr').value.trim()) this.run();
  }

  syncMode() {
    const labels = $('cmp-mode').value === 'labels';
    $('cmp-labels-box').hidden = !labels;
    $('cmp-offset-box').hidden = labels;
    $('cmp-col-a').textContent = labels ? 'A (mean)' : 'Before (mean)';
    $('cmp-col-b').textContent = labels ? 'B (mean)' : 'After (mean)';
  }

  showError(text) {
    $('cmp-error').textContent = text;
    $('cmp-error').hidden = !text;
    $('cmp-expr').setAttribute('aria-invalid', text ? 'true' : 'false');
  }

  saveState() {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(FIELDS)) if ($(v).value !== '') p.set(k, $(v).value);
    history.replaceState(null, '', `#/compare?${p.toString()}`);
  }

  async run() {
    const expr = $('cmp-expr').value.trim();
    const labels = $('cmp-mode').value === 'labels';
    if (!expr) return this.showError('Enter a PromQL expression.');
    if (labels && (!$('cmp-label').value.trim() || !$('cmp-a').value || !$('cmp-b').value)) {
      return this.showError('Enter the label and its two values.');
    }
    this.saveState();
    if (this.abort) this.abort.abort();
    const abort = new AbortController();
    this.abort = abort;
    const end = Date.now();
    const start = end - parseDuration($('cmp-range').value);
    const step = stepFor(start, end, $('cmp-chart').clientWidth || 800);
    try {
      const pairs = labels ? await this.byLabel(expr, start, end, step, abort.signal)
        : await this.byOffset(expr, start, end, step, abort.signal);
      if (abort.signal.aborted) return;
      this.showError('');
      this.draw(pairs, start, end);
      $('cmp-info').textContent = `${formatDateTime(start)} → ${formatDateTime(end)} · step ${formatDuration(step * 1000)} · ${pairs.length} pair${pairs.length === 1 ? '' : 's'}`;
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      this.draw([], start, end);
      $('cmp-empty').textContent = 'No data: the query failed (see the error above).';
      this.showError(e.message || String(e));
    } finally {
      if (this.abort === abort) this.abort = null;
    }
  }

  /** [{name, a:{label,points}, b:{label,points}}] from the range and the shifted range. */
  async byOffset(expr, start, end, step, signal) {
    const off = parseDuration($('cmp-offset').value);
    const [now, then] = await Promise.all([
      rangeQuery(expr, start, end, step, signal),
      rangeQuery(expr, start - off, end - off, step, signal),
    ]);
    const before = new Map(matrixSeries(then).map((s) => [s.key, s]));
    const tag = $('cmp-offset').value;
    return matrixSeries(now).filter((s) => before.has(s.key)).map((s) => {
      const b = before.get(s.key);
      return {
        name: s.label,
        a: { label: `${s.label} (${tag} earlier)`, points: b.points.map((p) => ({ x: p.x + off, y: p.y })) },
        b: { label: s.label, points: s.points },
      };
    });
  }

  async byLabel(expr, start, end, step, signal) {
    const label = $('cmp-label').value.trim();
    const [va, vb] = [$('cmp-a').value, $('cmp-b').value];
    const series = matrixSeries(await rangeQuery(expr, start, end, step, signal));
    const side = (v) => new Map(series.filter((s) => s.metric[label] === v).map((s) => [seriesName(without(s.metric, label)), s]));
    const A = side(va);
    const B = side(vb);
    return [...A.keys()].filter((k) => B.has(k)).map((k) => ({ name: `${k} · ${label}: ${va} vs ${vb}`, a: A.get(k), b: B.get(k) }));
  }

  draw(pairs, start, end) {
    const shown = pairs.slice(0, MAX_PAIRS);
    const sets = [];
    shown.forEach((p, i) => {
      sets.push({ key: `a${i}`, label: p.a.label, points: p.a.points });
      sets.push({ key: `b${i}`, label: p.b.label, points: p.b.points });
    });
    this.chart.setData(sets, start, end);
    // Pair colours: the same hue, the earlier/A side dashed and paler.
    this.chart.chart.data.datasets.forEach((d, i) => {
      const c = seriesColor(Math.floor(i / 2));
      d.borderColor = i % 2 ? c : withAlpha(c, 0.6);
      d.backgroundColor = d.borderColor;
      d.borderDash = i % 2 ? [] : [6, 4];
    });
    this.chart.chart.update('none');
    $('cmp-empty').hidden = shown.length > 0;
    $('cmp-empty').textContent = 'No series appear on both sides of the comparison.';
    const threshold = Number($('cmp-threshold').value) || 0;
    const worse = $('cmp-worse').value;
    const td = (text, cls) => Object.assign(document.createElement('td'), { textContent: text, className: cls || '' });
    $('cmp-table').tBodies[0].replaceChildren(...shown.map((p) => {
      const a = mean(p.a.points);
      const b = mean(p.b.points);
      const pct = pctChange(a, b);
      const flag = flagFor(pct, threshold, worse);
      const tr = document.createElement('tr');
      const f = td(flag || '–', 'flag');
      f.dataset.flag = flag;
      tr.append(td(p.name, 'mono'), td(formatNumber(a), 'num'), td(formatNumber(b), 'num'),
        td(Number.isFinite(pct) ? `${pct >= 0 ? '+' : ''}${pct.toFixed(1)} %` : '–', 'num'), f);
      return tr;
    }));
  }

  points() {
    return this.chart.points();
  }

  stop() {
    if (this.abort) this.abort.abort();
    for (const off of this.listeners) off();
    this.unTheme();
    this.exportBox.remove();
    this.chart.destroy();
  }
}
