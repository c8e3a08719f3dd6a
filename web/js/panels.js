// SPDX-License-Identifier: Apache-2.0
// Renders a dashboard layout ({title, panels:[{title, query, type, w, h, unit}], variables})
// into a 12-column grid and keeps it live: one LiveStream subscription per panel; line and
// area panels are rolling charts whose window is backfilled from /api/v1/query_range on
// every (re)connect when the server offers it; bar, stat and table panels show the latest
// values. Query errors are shown in the panel, in the server's words. Used by the dashboards
// view and by kiosk mode. Memory is bounded by the charts' window and point caps.

import { RollingChart, seriesColor } from './charts.js';
import { addExportButtons } from './export.js';
import { formatValue } from './format.js';
import { LiveStream } from './live.js';
import { liveSeries, matrixSeries, rangeQuery } from './query.js';
import { cssVar, onThemeChange } from './theme.js';

export const PANEL_TYPES = ['line', 'area', 'bar', 'stat', 'table'];
const INTERVAL_MS = 1000;
const BACKFILL_MIN_GAP_MS = 2000; // smaller gaps are within one or two live ticks
const TABLE_ROWS = 50;

/** Replace $name and ${name} with the variable's value, escaped for a PromQL string. */
export function substitute(query, vars) {
  return substituteText(query, vars, (v) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"'));
}

/** Replace $name and ${name} with the variable's value as is (titles; shown as text). */
export function substituteText(text, vars, escape = (v) => v) {
  return String(text).replace(/\$\{(\w+)\}|\$(\w+)/g, (m, a, b) => {
    const name = a || b;
    if (!Object.prototype.hasOwnProperty.call(vars, name)) return m;
    return escape(String(vars[name]));
  });
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

class Panel {
  constructor(def, index, o) {
    this.def = def;
    this.id = `p${index}`;
    this.o = o;
    this.type = PANEL_TYPES.includes(def.type) ? def.type : 'line';
    const w = [3, 4, 6, 12].includes(def.w) ? def.w : Math.min(12, Math.max(1, def.w | 0 || 6));
    const h = Math.min(8, Math.max(1, def.h | 0 || 3));
    this.root = el('article', `card panel dpanel w-${w} h-${h}`);
    this.root.dataset.panel = this.id;
    this.root.dataset.type = this.type;
    const head = el('div', 'dpanel-head');
    const title = el('h3', 'dpanel-title', substituteText(def.title || def.query, o.vars));
    title.id = `${o.prefix}-${this.id}-title`;
    this.root.setAttribute('aria-labelledby', title.id);
    head.append(title);
    this.head = head;
    this.error = el('p', 'panel-error');
    this.error.setAttribute('role', 'alert');
    this.error.hidden = true;
    this.body = el('div', 'dpanel-body');
    this.root.append(head, this.error, this.body);
    this.build();
  }

  build() {
    const label = `${this.def.title || this.def.query}: ${this.type} chart of ${this.def.query}`;
    if (this.type === 'line' || this.type === 'area' || this.type === 'bar') {
      const canvas = el('canvas');
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', label);
      this.body.append(canvas);
      if (this.type === 'bar') this.chart = barChart(canvas, this.def.unit);
      else this.rolling = new RollingChart(canvas, { type: this.type, unit: this.def.unit || 'number', windowMs: this.o.windowMs });
      const chart = () => (this.rolling ? this.rolling.chart : this.chart);
      addExportButtons(this.head, chart, this.def.title || 'panel');
    } else if (this.type === 'stat') {
      this.stat = el('p', 'stat-value', '–');
      this.statLabel = el('p', 'muted stat-label', '');
      this.body.append(this.stat, this.statLabel);
    } else {
      const table = el('table', 'data-table');
      table.setAttribute('aria-label', label);
      const head = el('tr');
      head.append(el('th', '', 'Series'), el('th', 'num', 'Value'));
      const thead = el('thead');
      thead.append(head);
      this.tbody = el('tbody');
      table.append(thead, this.tbody);
      this.body.append(table);
    }
  }

  showError(text) {
    this.error.textContent = text ? `Query error: ${text}` : '';
    this.error.hidden = !text;
  }

  samples(t, series) {
    this.showError('');
    if (this.rolling) {
      this.rolling.push(t, series.map((s) => ({ key: s.key, label: s.label, value: s.value })));
    } else if (this.chart) {
      this.chart.data.labels = shortLabels(series);
      this.chart.data.datasets[0].data = series.map((s) => (Number.isFinite(s.value) ? s.value : null));
      this.chart.data.datasets[0].backgroundColor = series.map((_, i) => seriesColor(i));
      this.chart.update('none');
    } else if (this.stat) {
      const s = series[0];
      this.stat.textContent = s ? formatValue(s.value, this.def.unit) : 'no data';
      this.statLabel.textContent = s ? `${s.label}${series.length > 1 ? ` (+${series.length - 1} more)` : ''}` : '';
    } else if (this.tbody) {
      const rows = series.slice(0, TABLE_ROWS).map((s) => {
        const tr = el('tr');
        tr.append(el('td', 'mono', s.label), el('td', 'num', formatValue(s.value, this.def.unit)));
        return tr;
      });
      this.tbody.replaceChildren(...rows);
    }
  }

  pointCount() {
    if (this.rolling) return this.rolling.points();
    if (this.chart) return this.chart.data.datasets[0].data.length;
    if (this.tbody) return this.tbody.children.length;
    return this.stat && this.stat.textContent !== '–' ? 1 : 0;
  }

  retheme() {
    if (this.rolling) this.rolling.retheme();
    if (this.chart) {
      const grid = cssVar('--chart-grid');
      const text = cssVar('--chart-text');
      for (const axis of Object.values(this.chart.options.scales)) {
        axis.grid = { color: grid };
        axis.ticks.color = text;
      }
      this.chart.update('none');
    }
  }

  destroy() {
    if (this.rolling) this.rolling.destroy();
    if (this.chart) this.chart.destroy();
    this.root.remove();
  }
}

/** Series names reduced to the labels that differ between them ("cpu=0", "cpu=1", ...). */
export function shortLabels(series) {
  if (series.length < 2) return series.map((s) => s.label);
  const keys = new Set(series.flatMap((s) => Object.keys(s.metric)));
  const varying = [...keys].filter((k) => new Set(series.map((s) => s.metric[k])).size > 1).sort();
  if (!varying.length) return series.map((s) => s.label);
  return series.map((s) => varying.map((k) => (k === '__name__' ? String(s.metric[k] ?? '') : `${k}=${s.metric[k] ?? ''}`)).join(' '));
}

function barChart(canvas, unit) {
  return new window.Chart(canvas, {
    type: 'bar',
    data: { labels: [], datasets: [{ label: 'latest', data: [], borderWidth: 0 }] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: {
        x: { ticks: { color: cssVar('--chart-text'), autoSkip: true, maxRotation: 0 }, grid: { color: cssVar('--chart-grid') } },
        y: { beginAtZero: true, ticks: { color: cssVar('--chart-text'), callback: (v) => formatValue(v, unit) }, grid: { color: cssVar('--chart-grid') } },
      },
    },
  });
}

export class DashboardRenderer {
  /**
   * @param {HTMLElement} container   grid element (emptied and filled)
   * @param {object} layout           validated dashboard layout
   * @param {object} o
   * @param {number} o.windowMs       rolling window of line/area panels
   * @param {Record<string,string>} o.vars  template variable values
   * @param {() => string|null} o.token
   * @param {(reason:string) => void} o.onAuthFailed
   * @param {(state:string, detail?:object) => void} [o.onState]   stream state
   * @param {(text:string) => void} [o.onNote]   dashboard-wide notes (backfill availability)
   * @param {(panel:object, el:HTMLElement) => void} [o.decorate]  add edit controls
   */
  constructor(container, layout, o) {
    this.o = o;
    this.container = container;
    this.stateNow = 'connecting';
    this.received = 0; // samples messages handled
    this.aborts = new Set();
    this.panels = (layout.panels || []).map((def, i) => new Panel(def, i, { windowMs: o.windowMs, prefix: 'dash', vars: o.vars || {} }));
    container.replaceChildren(...this.panels.map((p) => p.root));
    if (o.decorate) this.panels.forEach((p, i) => o.decorate(i, p.root, p.head));
    this.unTheme = onThemeChange(() => this.panels.forEach((p) => p.retheme()));
    this.byId = new Map(this.panels.map((p) => [p.id, p]));
    const subscriptions = this.panels.map((p) => ({ id: p.id, query: substitute(p.def.query, o.vars || {}), interval_ms: INTERVAL_MS }));
    this.queries = new Map(subscriptions.map((s) => [s.id, s.query]));
    this.stream = new LiveStream({
      token: o.token,
      subscriptions,
      onState: (state, detail) => this.state(state, detail),
      onMessage: (msg) => this.handle(msg),
      onAuthFailed: o.onAuthFailed,
    });
    if (this.panels.length) this.stream.start();
  }

  state(state, detail) {
    const was = this.stateNow;
    this.stateNow = state;
    if (this.o.onState) this.o.onState(state, detail);
    if (state === 'live' && was !== 'live') this.backfill();
  }

  handle(msg) {
    const p = this.byId.get(msg.id);
    if (msg.type === 'samples' && p) {
      this.received += 1;
      const t = Number(msg.t);
      if (Number.isFinite(t)) p.samples(t, liveSeries(msg));
    } else if (msg.type === 'error' && p) {
      p.showError(String(msg.error ?? 'unknown error'));
    }
  }

  /** Fill each rolling panel from its newest point (or the window start) to now. */
  async backfill() {
    const now = Date.now();
    const jobs = this.panels.filter((p) => p.rolling).map(async (p) => {
      const from = Math.max(p.rolling.lastTime() || 0, now - this.o.windowMs);
      if (now - from < BACKFILL_MIN_GAP_MS) return;
      const ac = new AbortController();
      this.aborts.add(ac);
      try {
        const step = Math.max(1, Math.ceil((now - from) / 1000 / 1000)); // <= ~1000 points
        const data = await rangeQuery(this.queries.get(p.id), from, now, step, ac.signal);
        p.rolling.merge(matrixSeries(data));
        this.backfilled = (this.backfilled || 0) + 1;
      } catch (e) {
        if (e && e.name === 'AbortError') return;
        if (e.absent) {
          if (this.o.onNote) this.o.onNote('Gaps are not backfilled: this server has no /api/v1/query_range yet.');
        } else if (e.status && e.status < 500) {
          p.showError(e.message);
        }
      } finally {
        this.aborts.delete(ac);
      }
    });
    await Promise.all(jobs);
  }

  points() {
    return this.panels.reduce((n, p) => n + p.pointCount(), 0);
  }

  destroy() {
    this.stream.stop();
    for (const ac of this.aborts) ac.abort();
    this.unTheme();
    for (const p of this.panels) p.destroy();
    this.container.replaceChildren();
  }
}
