// SPDX-License-Identifier: Apache-2.0
// The historical view: PromQL expression box (errors shown inline, in the API's words),
// series picker (metric names, label names and values from the series API), time range
// presets 15 min .. 5 years or an absolute range in the browser's time zone, drag-to-zoom,
// auto-refresh, and a step chosen from the chart's width. State lives in the URL hash
// (#/history?expr=..&range=1h or &from=..&to=.. in ms) so a view can be shared.

import { RangeChart } from './charts.js';
import { addExportButtons } from './export.js';
import { formatDateTime, formatDuration, parseDuration } from './format.js';
import { JobPanels } from './jobs_panels.js';
import { labelValues, matrixSeries, metricNames, rangeQuery, seriesOf, stepFor } from './query.js';
import { onThemeChange } from './theme.js';

const $ = (id) => document.getElementById(id);
const MAX_SERIES = 200; // beyond this a chart is unreadable; the rest is reported, not drawn

/** "2026-01-02T03:04:05" in local time for a datetime-local input. */
function toLocalInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
  return d.toISOString().slice(0, 19);
}

/** PromQL string literal for a label value. */
export function promString(v) {
  return `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export class HistoryView {
  /** @param {{params: URLSearchParams}} route */
  constructor(route) {
    this.abort = null;
    this.timer = 0;
    this.runs = 0;
    this.unzoom = null; // range to return to after a zoom
    this.chart = new RangeChart($('history-chart'), { zoom: true, unit: '', onRange: (a, b) => this.zoomTo(a, b) });
    this.jobs = new JobPanels(); // compilation success rate and failures (same range)
    this.unTheme = onThemeChange(() => { this.chart.retheme(); this.jobs.retheme(); });
    this.exportBox = addExportButtons($('history-title').parentElement, () => this.chart.chart,
      () => $('history-expr').value || 'history');
    this.listeners = [];
    this.on($('history-form'), 'submit', (ev) => { ev.preventDefault(); this.unzoom = null; this.run(); });
    this.on($('range-preset'), 'change', () => { this.unzoom = null; this.syncRangeInputs(); this.run(); });
    this.on($('range-from'), 'change', () => this.run());
    this.on($('range-to'), 'change', () => this.run());
    this.on($('refresh-select'), 'change', () => this.arm());
    this.on($('zoom-reset'), 'click', () => this.resetZoom());
    this.on($('series-picker'), 'toggle', () => { if ($('series-picker').open) this.loadMetrics(); });
    this.on($('picker-metric'), 'change', () => this.loadLabels());
    this.on($('picker-label'), 'change', () => this.loadValues());
    this.on($('picker-use'), 'click', () => this.useSelector());
    $('tz-name').textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
    this.apply(route.params);
    if (!$('history-expr').value.trim()) this.runJobs();
  }

  on(el, ev, fn) {
    el.addEventListener(ev, fn);
    this.listeners.push(() => el.removeEventListener(ev, fn));
  }

  /** Read state from the hash parameters and run when there is an expression. */
  apply(p) {
    $('history-expr').value = p.get('expr') || $('history-expr').value || '';
    const from = Number(p.get('from'));
    const to = Number(p.get('to'));
    if (Number.isFinite(from) && Number.isFinite(to) && p.get('from') && to > from) {
      $('range-preset').value = 'custom';
      $('range-from').value = toLocalInput(from);
      $('range-to').value = toLocalInput(to);
    } else if (p.get('range') && [...$('range-preset').options].some((o) => o.value === p.get('range'))) {
      $('range-preset').value = p.get('range');
    }
    if (p.get('refresh')) $('refresh-select').value = p.get('refresh');
    this.syncRangeInputs();
    this.arm();
    if ($('history-expr').value.trim()) this.run();
  }

  syncRangeInputs() {
    const custom = $('range-preset').value === 'custom';
    $('range-abs').hidden = !custom;
    if (custom && !$('range-from').value) {
      const now = Date.now();
      $('range-from').value = toLocalInput(now - 3600e3);
      $('range-to').value = toLocalInput(now);
    }
  }

  /** [startMs, endMs] of the current selection, or an error text. */
  range() {
    const preset = $('range-preset').value;
    if (preset !== 'custom') {
      const now = Date.now();
      return { start: now - parseDuration(preset), end: now };
    }
    const start = new Date($('range-from').value).getTime();
    const end = new Date($('range-to').value).getTime();
    if (!Number.isFinite(start) || !Number.isFinite(end)) return { error: 'Enter both ends of the absolute range.' };
    if (end <= start) return { error: 'The end of the range must be after its start.' };
    return { start, end };
  }

  /** Keep the URL in step with the form (no history entry, no hashchange). */
  saveState(r) {
    const p = new URLSearchParams();
    const expr = $('history-expr').value.trim();
    if (expr) p.set('expr', expr);
    if ($('range-preset').value === 'custom') {
      p.set('from', String(Math.round(r.start)));
      p.set('to', String(Math.round(r.end)));
    } else {
      p.set('range', $('range-preset').value);
    }
    if ($('refresh-select').value !== '0') p.set('refresh', $('refresh-select').value);
    history.replaceState(null, '', `#/history?${p.toString()}`);
  }

  showError(text) {
    $('history-error').textContent = text;
    $('history-error').hidden = !text;
    $('history-expr').setAttribute('aria-invalid', text ? 'true' : 'false');
  }

  /** The job panels follow the range whether or not an expression is entered. */
  runJobs() {
    const r = this.range();
    if (!r.error) this.jobs.run(r.start, r.end, stepFor(r.start, r.end, $('history-chart').clientWidth || 800));
  }

  async run() {
    const expr = $('history-expr').value.trim();
    const r = this.range();
    this.runJobs();
    if (!expr) {
      this.showError('Enter a PromQL expression.');
      return;
    }
    if (r.error) {
      this.showError(r.error);
      return;
    }
    this.saveState(r);
    if (this.abort) this.abort.abort();
    const abort = new AbortController();
    this.abort = abort;
    const width = $('history-chart').clientWidth || 800;
    const step = stepFor(r.start, r.end, width);
    $('range-info').textContent = `${formatDateTime(r.start)} → ${formatDateTime(r.end)} · step ${formatDuration(step * 1000)} · querying…`;
    const t0 = performance.now();
    try {
      const data = await rangeQuery(expr, r.start, r.end, step, abort.signal);
      if (abort.signal.aborted) return;
      let series = matrixSeries(data);
      const total = series.length;
      if (total > MAX_SERIES) series = series.slice(0, MAX_SERIES);
      this.chart.setData(series, r.start, r.end);
      this.showError('');
      const points = series.reduce((n, s) => n + s.points.length, 0);
      $('history-empty').textContent = total ? '' : 'The query returned no series for this range.';
      $('history-empty').hidden = total > 0;
      $('range-info').textContent = `${formatDateTime(r.start)} → ${formatDateTime(r.end)} · step `
        + `${formatDuration(step * 1000)} · ${total} series${total > MAX_SERIES ? ` (first ${MAX_SERIES} drawn)` : ''}`
        + ` · ${points} points · ${Math.round(performance.now() - t0)} ms`;
      this.runs += 1;
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      this.chart.setData([], r.start, r.end);
      $('history-empty').textContent = 'No data: the query failed (see the error above).';
      $('history-empty').hidden = false;
      $('range-info').textContent = `${formatDateTime(r.start)} → ${formatDateTime(r.end)}`;
      this.showError(e.message || String(e));
    } finally {
      if (this.abort === abort) this.abort = null;
    }
  }

  /** Drag-zoom or pan finished: switch to that absolute range and re-query. */
  zoomTo(min, max) {
    if (!(max > min)) return;
    if (!this.unzoom) {
      this.unzoom = { preset: $('range-preset').value, from: $('range-from').value, to: $('range-to').value };
    }
    $('range-preset').value = 'custom';
    $('range-from').value = toLocalInput(min);
    $('range-to').value = toLocalInput(max);
    this.syncRangeInputs();
    $('zoom-reset').hidden = false;
    this.run();
  }

  resetZoom() {
    if (this.unzoom) {
      $('range-preset').value = this.unzoom.preset;
      $('range-from').value = this.unzoom.from;
      $('range-to').value = this.unzoom.to;
      this.unzoom = null;
    }
    $('zoom-reset').hidden = true;
    this.syncRangeInputs();
    this.run();
  }

  arm() {
    clearInterval(this.timer);
    const s = Number($('refresh-select').value);
    if (s > 0) this.timer = setInterval(() => { if (!this.abort) this.run(); }, s * 1000);
  }

  pickerStatus(text) {
    $('picker-status').textContent = text;
  }

  async loadMetrics() {
    if (this.metricsLoaded) return;
    this.pickerStatus('Loading metric names…');
    try {
      const names = await metricNames();
      const list = $('picker-metrics');
      list.replaceChildren(...names.map((n) => Object.assign(document.createElement('option'), { value: n })));
      this.metricsLoaded = true;
      this.pickerStatus(`${names.length} metric${names.length === 1 ? '' : 's'}.`);
    } catch (e) {
      this.pickerStatus(`Metric names are not available: ${e.message}`);
    }
  }

  async loadLabels() {
    const metric = $('picker-metric').value.trim();
    this.labelSets = [];
    fillSelect($('picker-label'), []);
    fillSelect($('picker-value'), []);
    if (!metric) return;
    try {
      this.labelSets = await seriesOf(metric);
      const names = new Set();
      for (const s of this.labelSets) for (const k of Object.keys(s)) if (k !== '__name__') names.add(k);
      fillSelect($('picker-label'), [...names].sort());
      this.pickerStatus(`${this.labelSets.length} series of ${metric}.`);
    } catch (e) {
      this.pickerStatus(`Series are not available: ${e.message}`);
    }
  }

  async loadValues() {
    const metric = $('picker-metric').value.trim();
    const label = $('picker-label').value;
    if (!label) {
      fillSelect($('picker-value'), []);
      return;
    }
    let values = [...new Set(this.labelSets.map((s) => s[label]).filter((v) => v !== undefined))];
    if (!values.length) {
      try {
        values = await labelValues(label, metric);
      } catch (e) {
        this.pickerStatus(`Label values are not available: ${e.message}`);
      }
    }
    fillSelect($('picker-value'), values.sort());
  }

  useSelector() {
    const metric = $('picker-metric').value.trim();
    const label = $('picker-label').value;
    const value = $('picker-value').value;
    if (!metric) {
      this.pickerStatus('Choose a metric first.');
      return;
    }
    $('history-expr').value = label && value ? `${metric}{${label}=${promString(value)}}` : metric;
    this.run();
  }

  points() {
    return this.chart.points();
  }

  stop() {
    clearInterval(this.timer);
    if (this.abort) this.abort.abort();
    for (const off of this.listeners) off();
    this.unTheme();
    this.exportBox.remove();
    this.chart.destroy();
    this.jobs.stop();
  }
}

/** Replace a select's options with "(any)" + values (option text is text, never HTML). */
function fillSelect(select, values) {
  const opts = [new Option('(any)', '')];
  for (const v of values) opts.push(new Option(v, v));
  select.replaceChildren(...opts);
}
