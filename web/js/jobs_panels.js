// SPDX-License-Identifier: Apache-2.0
// The historical view's job panels: compilation (operation) success rate and error frequency
// per kind, drawn from the operation counters (docs/metrics.md "Operations") over the view's
// time range and step. Each window is the larger of the step and 5 minutes, so sparse jobs
// still give a rate; a range with no jobs says so instead of drawing an empty chart.

import { RangeChart } from './charts.js';
import { matrixSeries, rangeQuery } from './query.js';

const $ = (id) => document.getElementById(id);

/** PromQL of both panels for a window of w seconds. */
export function jobQueries(w) {
  const win = `[${w}s]`;
  return {
    success: `100 * sum by (kind) (increase(omega_operations_total{status="ok"}${win}))`
      + ` / sum by (kind) (increase(omega_operations_total${win}))`,
    errors: `3600 * sum by (kind) (rate(omega_operations_total{status=~"failed|abandoned"}${win}))`,
  };
}

export class JobPanels {
  constructor() {
    this.success = new RangeChart($('jobs-success-chart'), { unit: 'percent' });
    this.errors = new RangeChart($('jobs-errors-chart'), { unit: '' });
    // Jobs are sparse: a lone point (the first minutes after a job) must still show.
    for (const c of [this.success, this.errors]) c.chart.options.elements.point.radius = 2;
    this.abort = null;
  }

  /** Query and draw both panels for [start, end] at step seconds. */
  async run(start, end, step) {
    if (this.abort) this.abort.abort();
    const abort = new AbortController();
    this.abort = abort;
    const q = jobQueries(Math.max(step, 300));
    await Promise.all([
      this.draw(this.success, q.success, 'jobs-success-empty', start, end, step, abort.signal),
      this.draw(this.errors, q.errors, 'jobs-errors-empty', start, end, step, abort.signal),
    ]);
    if (this.abort === abort) this.abort = null;
  }

  async draw(chart, expr, emptyId, start, end, step, signal) {
    try {
      const series = matrixSeries(await rangeQuery(expr, start, end, step, signal));
      if (signal.aborted) return;
      chart.setData(series, start, end);
      $(emptyId).textContent = series.length ? '' : 'No jobs finished in this range.';
      $(emptyId).hidden = series.length > 0;
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      chart.setData([], start, end);
      $(emptyId).textContent = `Not available: ${e.message || e}`;
      $(emptyId).hidden = false;
    }
  }

  retheme() {
    this.success.retheme();
    this.errors.retheme();
  }

  points() {
    return { success: this.success.points(), errors: this.errors.points() };
  }

  stop() {
    if (this.abort) this.abort.abort();
    this.success.destroy();
    this.errors.destroy();
  }
}
