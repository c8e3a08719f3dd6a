// SPDX-License-Identifier: Apache-2.0
// Charts on Chart.js (global `Chart` from vendor/chart.umd.js, zoom from
// vendor/chartjs-plugin-zoom.min.js). RollingChart: live rolling window; points older than
// the window, and series silent for a whole window, are dropped so memory stays bounded.
// RangeChart: a fixed time range with drag-to-zoom. X is linear in epoch milliseconds with
// labels in the browser's time zone (no date adapter). Animation is off: team screens show
// these all day.

import { cssVar } from './theme.js';
import { formatClock, formatDateTime, formatTimeFor, formatValue } from './format.js';

const MAX_POINTS = 4000; // per series; 60 min at 1 s is 3600
const LEGEND_MAX = 9; // beyond this many series only the emphasised one is listed

/** Tick spacing per window so labels fall on round clock times. */
function stepFor(windowMs) {
  if (windowMs <= 60e3) return 10e3;
  if (windowMs <= 5 * 60e3) return 60e3;
  if (windowMs <= 15 * 60e3) return 180e3;
  return 600e3;
}

/** Ticks every `step` ms between min and max, on round local clock times. */
function clockTicks(min, max, step) {
  const ticks = [];
  if (!Number.isFinite(min) || !Number.isFinite(max) || max <= min) return ticks;
  const offset = new Date(min).getTimezoneOffset() * 60e3; // local = UTC - offset
  for (let t = Math.ceil((min - offset) / step) * step + offset; t <= max; t += step) {
    ticks.push({ value: t });
  }
  return ticks;
}

export class RollingChart {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {object} o
   * @param {(key:string, index:number) => object} [o.style]  dataset style for a series key
   * @param {(a:string, b:string) => number} [o.order]      series sort order
   * @param {string} [o.emphasis]                          key always shown in the legend
   * @param {number} o.windowMs
   * @param {string} [o.unit]      'percent' (default: axis 0..100), 'bytes/s', ... (see formatValue)
   * @param {string} [o.type]      'line' (default) or 'area' (filled, for generic styles)
   */
  constructor(canvas, o) {
    this.o = o;
    this.windowMs = o.windowMs;
    this.latest = 0;
    this.pending = false;
    this.chart = new window.Chart(canvas, this.config());
    this.restyle();
  }

  config() {
    return {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        elements: { point: { radius: 0, hitRadius: 6 }, line: { tension: 0 } },
        datasets: { line: { clip: 4 } }, // a line at exactly 100 % stays visible on the top edge
        scales: {
          x: {
            type: 'linear',
            ticks: { callback: (v) => formatClock(v), maxRotation: 0, autoSkip: true },
            afterBuildTicks: (axis) => {
              axis.ticks = clockTicks(axis.min, axis.max, stepFor(this.windowMs));
            },
          },
          y: this.unit() === 'percent'
            ? { min: 0, max: 100, ticks: { callback: (v) => `${v}` } }
            : { beginAtZero: true, ticks: { callback: (v) => formatValue(v, this.unit()) } },
        },
        plugins: {
          legend: {
            position: 'bottom',
            labels: {
              boxWidth: 14,
              filter: (item, data) =>
                data.datasets.length <= LEGEND_MAX || data.datasets[item.datasetIndex].key === this.o.emphasis,
            },
          },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? formatClock(items[0].parsed.x) : ''),
              label: (item) => `${item.dataset.label}: ${formatValue(item.parsed.y ?? NaN, this.unit())}`,
            },
          },
        },
      },
    };
  }

  unit() {
    return this.o.unit || 'percent';
  }

  /** Time (ms) of the newest point held, 0 when empty. */
  lastTime() {
    return this.latest;
  }

  /**
   * Merge older points (a backfill after a reconnect) into the series, kept sorted by time;
   * a timestamp already held is not duplicated.
   * @param {Array<{key:string,label:string,points:Array<{x:number,y:number|null}>}>} series
   */
  merge(series) {
    const sets = this.chart.data.datasets;
    let added = false;
    for (const s of series) {
      let d = sets.find((x) => x.key === s.key);
      if (!d) {
        d = { key: s.key, label: s.label, data: [] };
        sets.push(d);
        added = true;
      }
      const have = new Set(d.data.map((p) => p.x));
      for (const p of s.points) if (!have.has(p.x)) d.data.push(p);
      d.data.sort((a, b) => a.x - b.x);
      if (d.data.length > MAX_POINTS) d.data.splice(0, d.data.length - MAX_POINTS);
      for (const p of s.points) this.latest = Math.max(this.latest, p.x);
    }
    if (added) this.restyle();
    this.prune();
    this.schedule();
  }

  /** Number of data points currently held (all series). */
  points() {
    return this.chart.data.datasets.reduce((n, d) => n + d.data.length, 0);
  }

  /** Change the window length (ms); drops what falls outside at once. */
  setWindow(ms) {
    this.windowMs = ms;
    this.prune();
    this.schedule();
  }

  /**
   * Add one sample per series at time t (ms).
   * @param {number} t
   * @param {Array<{key:string,label:string,value:number}>} series  non-finite values become gaps
   */
  push(t, series) {
    const sets = this.chart.data.datasets;
    let added = false;
    for (const s of series) {
      let d = sets.find((x) => x.key === s.key);
      if (!d) {
        d = { key: s.key, label: s.label, data: [] };
        sets.push(d);
        added = true;
      }
      d.data.push({ x: t, y: Number.isFinite(s.value) ? s.value : null });
      if (d.data.length > MAX_POINTS) d.data.splice(0, d.data.length - MAX_POINTS);
    }
    if (added) this.restyle();
    this.latest = Math.max(this.latest, t);
    this.prune();
    this.schedule();
  }

  prune() {
    const now = this.latest || Date.now();
    const min = now - this.windowMs;
    const sets = this.chart.data.datasets;
    for (const d of sets) {
      let i = 0;
      while (i < d.data.length && d.data[i].x < min) i += 1;
      if (i) d.data.splice(0, i);
    }
    const kept = sets.filter((d) => d.data.length > 0);
    if (kept.length !== sets.length) this.chart.data.datasets = kept;
    this.chart.options.scales.x.min = min;
    this.chart.options.scales.x.max = now;
  }

  /** Sort series and (re)apply their styles and the theme colours. */
  restyle() {
    const sets = this.chart.data.datasets;
    if (this.o.order) sets.sort((a, b) => this.o.order(a.key, b.key));
    const style = this.o.style || ((key, i) => {
      const color = seriesColor(i);
      const area = this.o.type === 'area';
      return { borderColor: color, backgroundColor: area ? withAlpha(color, 0.18) : color, borderWidth: 1.5, fill: area ? 'origin' : false };
    });
    sets.forEach((d, i) => Object.assign(d, style(d.key, i)));
    const grid = cssVar('--chart-grid');
    const text = cssVar('--chart-text');
    const { scales, plugins } = this.chart.options;
    for (const axis of [scales.x, scales.y]) {
      axis.grid = { color: grid };
      axis.ticks.color = text;
    }
    plugins.legend.labels.color = text;
  }

  /** Re-read theme colours (after a theme switch). */
  retheme() {
    this.restyle();
    this.schedule();
  }

  /** Coalesce redraws to one per animation frame. */
  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      if (!this.dead) this.chart.update('none');
    });
  }

  destroy() {
    this.dead = true; // a redraw may still be queued for the next frame
    this.chart.destroy();
  }
}

const NICE_STEPS = [1e3, 5e3, 10e3, 30e3, 60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 3 * 3600e3, 6 * 3600e3,
  12 * 3600e3, 86400e3, 2 * 86400e3, 7 * 86400e3, 30 * 86400e3, 91 * 86400e3, 365 * 86400e3];

/** Tick step giving about 6-10 labels across span ms. */
export function niceStep(span) {
  return NICE_STEPS.find((s) => span / s <= 10) ?? NICE_STEPS[NICE_STEPS.length - 1];
}

/**
 * A time-range chart (line, area) over a linear epoch-ms axis with labels in the browser's
 * time zone, drag-to-zoom and shift-drag pan (chartjs-plugin-zoom). Holds exactly the data
 * it is given; the caller re-queries on zoom.
 */
export class RangeChart {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {object} o
   * @param {string} [o.type]        'line' (default) or 'area'
   * @param {string} [o.unit]        value unit for ticks/tooltips (see formatValue)
   * @param {boolean} [o.zoom]       enable drag-zoom and pan
   * @param {(min:number, max:number) => void} [o.onRange]  after a zoom or pan
   */
  constructor(canvas, o = {}) {
    this.o = o;
    this.span = 3600e3;
    this.chart = new window.Chart(canvas, this.config());
    this.retheme();
  }

  config() {
    const o = this.o;
    const done = ({ chart }) => o.onRange && o.onRange(Math.round(chart.scales.x.min), Math.round(chart.scales.x.max));
    return {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        spanGaps: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        elements: { point: { radius: 0, hitRadius: 6 }, line: { tension: 0, borderWidth: 1.5 } },
        scales: {
          x: {
            type: 'linear',
            ticks: { callback: (v) => formatTimeFor(v, this.span), maxRotation: 0, autoSkip: true },
            afterBuildTicks: (axis) => {
              const step = niceStep(axis.max - axis.min);
              axis.ticks = step < 86400e3 ? clockTicks(axis.min, axis.max, step)
                : clockTicks(axis.min, axis.max, step).slice(0, 12);
            },
          },
          y: { beginAtZero: false, ticks: { callback: (v) => formatValue(v, o.unit) } },
        },
        plugins: {
          legend: { position: 'bottom', labels: { boxWidth: 14 } },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? formatDateTime(items[0].parsed.x) : ''),
              label: (item) => `${item.dataset.label}: ${formatValue(item.parsed.y ?? NaN, o.unit)}`,
            },
          },
          zoom: o.zoom ? {
            zoom: { drag: { enabled: true, threshold: 8 }, mode: 'x', onZoomComplete: done },
            pan: { enabled: true, mode: 'x', modifierKey: 'shift', onPanComplete: done },
          } : { zoom: { drag: { enabled: false } }, pan: { enabled: false } },
        },
      },
    };
  }

  /**
   * Replace the data.
   * @param {Array<{key:string,label:string,points:Array<{x:number,y:number|null}>}>} series
   * @param {number} min  range start (ms)
   * @param {number} max  range end (ms)
   */
  setData(series, min, max) {
    this.span = Math.max(1, max - min);
    const area = this.o.type === 'area';
    this.chart.data.datasets = series.map((s, i) => {
      const color = seriesColor(i);
      return {
        key: s.key, label: s.label, data: s.points,
        borderColor: color, backgroundColor: area ? withAlpha(color, 0.18) : color, fill: area ? 'origin' : false,
      };
    });
    this.chart.options.scales.x.min = min;
    this.chart.options.scales.x.max = max;
    if (this.chart.isZoomedOrPanned && this.chart.isZoomedOrPanned()) this.chart.resetZoom('none');
    this.chart.update('none');
  }

  points() {
    return this.chart.data.datasets.reduce((n, d) => n + d.data.length, 0);
  }

  retheme() {
    const grid = cssVar('--chart-grid');
    const text = cssVar('--chart-text');
    const { scales, plugins } = this.chart.options;
    for (const axis of [scales.x, scales.y]) {
      axis.grid = { color: grid };
      axis.ticks.color = text;
    }
    plugins.legend.labels.color = text;
    if (plugins.zoom && plugins.zoom.zoom) {
      plugins.zoom.zoom.drag.backgroundColor = withAlpha(cssVar('--accent') || '#4cc2ff', 0.2);
      plugins.zoom.zoom.drag.borderColor = cssVar('--accent') || '#4cc2ff';
      plugins.zoom.zoom.drag.borderWidth = 1;
    }
    this.chart.update('none');
  }

  destroy() {
    this.chart.destroy();
  }
}

/** Distinct series colours that read on both themes. */
export function seriesColor(i) {
  return `hsl(${(i * 67 + 200) % 360}, 70%, 55%)`;
}

/** "hsl(a, b%, c%)" or "#rrggbb" -> the same colour with alpha. */
export function withAlpha(color, alpha) {
  if (color.startsWith('hsl(')) return color.replace('hsl(', 'hsla(').replace(')', `, ${alpha})`);
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  if (!m) return color;
  return `rgba(${parseInt(m[1], 16)}, ${parseInt(m[2], 16)}, ${parseInt(m[3], 16)}, ${alpha})`;
}
