// SPDX-License-Identifier: Apache-2.0
// Chart export: PNG (the canvas drawn over the theme's surface colour, via toDataURL) and CSV
// (one row per timestamp, one column per series, RFC 4180 quoting, ISO 8601 UTC times; one row
// per category for bar charts of latest values), each
// offered as a browser download. Works on any Chart.js chart whose datasets hold {x, y} points.

import { cssVar } from './theme.js';

/** Trigger a download of url as filename. */
function download(url, filename) {
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}

/** Safe file stem from a title: "CPU utilisation %" -> "cpu-utilisation". */
export function fileStem(title) {
  const s = String(title || 'chart').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return (s || 'chart').slice(0, 60);
}

/** PNG data URL of the chart with an opaque background (transparent PNGs look broken). */
export function chartPNG(chart) {
  const src = chart.canvas;
  const out = document.createElement('canvas');
  out.width = src.width;
  out.height = src.height;
  const ctx = out.getContext('2d');
  ctx.fillStyle = cssVar('--surface') || '#ffffff';
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(src, 0, 0);
  return out.toDataURL('image/png');
}

function csvCell(v) {
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text of the chart's datasets: "time,<label 1>,<label 2>..." then one row per x. */
export function chartCSV(chart) {
  const sets = chart.data.datasets;
  if (Array.isArray(chart.data.labels) && chart.data.labels.length) {
    // Category chart (latest value per series): one row per category.
    const lines = [['series', ...sets.map((d) => d.label ?? 'value')].map(csvCell).join(',')];
    chart.data.labels.forEach((label, i) => {
      lines.push([label, ...sets.map((d) => d.data[i] ?? '')].map(csvCell).join(','));
    });
    return `${lines.join('\r\n')}\r\n`;
  }
  const xs = new Set();
  for (const d of sets) for (const p of d.data) if (p && Number.isFinite(p.x)) xs.add(p.x);
  const sorted = [...xs].sort((a, b) => a - b);
  const cols = sets.map((d) => new Map(d.data.filter((p) => p && Number.isFinite(p.x)).map((p) => [p.x, p.y])));
  const lines = [['time', ...sets.map((d) => d.label ?? '')].map(csvCell).join(',')];
  for (const x of sorted) {
    const row = [new Date(x).toISOString()];
    for (const c of cols) {
      const y = c.get(x);
      row.push(y === null || y === undefined ? '' : String(y));
    }
    lines.push(row.map(csvCell).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

export function downloadPNG(chart, title) {
  download(chartPNG(chart), `${fileStem(title)}.png`);
}

export function downloadCSV(chart, title) {
  const url = URL.createObjectURL(new Blob([chartCSV(chart)], { type: 'text/csv' }));
  download(url, `${fileStem(title)}.csv`);
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Add "PNG" and "CSV" buttons to container for the chart getChart() returns (it may be null
 * while there is nothing to export: the buttons then do nothing).
 */
export function addExportButtons(container, getChart, title) {
  const box = document.createElement('span');
  box.className = 'export';
  for (const [kind, fn] of [['PNG', downloadPNG], ['CSV', downloadCSV]]) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn btn-small';
    b.textContent = kind;
    b.setAttribute('aria-label', `Export ${typeof title === 'function' ? 'chart' : title} as ${kind}`);
    b.addEventListener('click', () => {
      const chart = getChart();
      if (chart) fn(chart, typeof title === 'function' ? title() : title);
    });
    box.append(b);
  }
  container.append(box);
  return box;
}
