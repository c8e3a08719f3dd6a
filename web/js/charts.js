// SPDX-License-Identifier: Apache-2.0
// Rolling-window line charts on Chart.js (global `Chart` from vendor/chart.umd.js).
// X is linear in epoch milliseconds with local HH:MM:SS labels (no date adapter); points older
// than the window, and series silent for a whole window, are dropped so memory stays bounded.
// Animation is off: team screens show this all day.

import { cssVar } from './theme.js';
import { formatClock, formatPercent } from './format.js';

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
   * @param {(key:string, index:number) => object} o.style  dataset style for a series key
   * @param {(a:string, b:string) => number} [o.order]      series sort order
   * @param {string} [o.emphasis]                          key always shown in the legend
   * @param {number} o.windowMs
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
        scales: {
          x: {
            type: 'linear',
            ticks: { callback: (v) => formatClock(v), maxRotation: 0, autoSkip: true },
            afterBuildTicks: (axis) => {
              axis.ticks = clockTicks(axis.min, axis.max, stepFor(this.windowMs));
            },
          },
          y: { min: 0, max: 100, ticks: { callback: (v) => `${v}` } },
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
              label: (item) => `${item.dataset.label}: ${formatPercent(item.parsed.y ?? NaN)}`,
            },
          },
        },
      },
    };
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
    sets.forEach((d, i) => Object.assign(d, this.o.style(d.key, i)));
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
      this.chart.update('none');
    });
  }

  destroy() {
    this.chart.destroy();
  }
}
