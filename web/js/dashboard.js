// SPDX-License-Identifier: Apache-2.0
// The live page: subscribes to CPU and memory over the live stream, feeds the two rolling
// charts and the large-number readouts, and shows connection state, query errors and lag.
// Navigation (login/logout) stays in app.js; this file reports auth failures upward.

import { RollingChart } from './charts.js';
import { LiveStream } from './live.js';
import { cssVar, onThemeChange } from './theme.js';
import { formatBytes, formatPercent, parseValue } from './format.js';

const INTERVAL_MS = 1000;
const SUBSCRIPTIONS = [
  { id: 'cpu', query: 'system_cpu_usage_percent', interval_ms: INTERVAL_MS },
  { id: 'mem', query: 'system_memory_used_percent', interval_ms: INTERVAL_MS },
  { id: 'memused', query: 'system_memory_used_bytes', interval_ms: INTERVAL_MS },
  { id: 'memtotal', query: 'system_memory_total_bytes', interval_ms: INTERVAL_MS },
];

const $ = (id) => document.getElementById(id);

/** "total" first, then cores in numeric order. */
function cpuOrder(a, b) {
  if (a === b) return 0;
  if (a === 'total') return -1;
  if (b === 'total') return 1;
  return Number(a) - Number(b) || a.localeCompare(b);
}

function cpuStyle(key, i) {
  if (key === 'total') {
    return { borderColor: cssVar('--chart-total'), backgroundColor: cssVar('--chart-total'), borderWidth: 3 };
  }
  const color = `hsla(${(i * 47 + 20) % 360}, 65%, 60%, 0.75)`;
  return { borderColor: color, backgroundColor: color, borderWidth: 1.25 };
}

function memStyle() {
  return {
    borderColor: cssVar('--chart-mem'),
    backgroundColor: cssVar('--chart-mem-fill'),
    borderWidth: 3,
    fill: 'origin',
  };
}

export class Dashboard {
  /**
   * @param {object} o
   * @param {() => string|null} o.token
   * @param {(reason:string) => void} o.onAuthFailed
   * @param {number} o.windowMs
   */
  constructor(o) {
    this.errors = new Map(); // subscription id -> last error text
    this.dropped = 0;
    this.memUsed = NaN;
    this.memTotal = NaN;
    this.cpu = new RollingChart($('cpu-chart'), { style: cpuStyle, order: cpuOrder, emphasis: 'total', windowMs: o.windowMs });
    this.mem = new RollingChart($('mem-chart'), { style: memStyle, windowMs: o.windowMs });
    this.unTheme = onThemeChange(() => {
      this.cpu.retheme();
      this.mem.retheme();
    });
    this.stream = new LiveStream({
      token: o.token,
      subscriptions: SUBSCRIPTIONS,
      onState: (state, detail) => this.showState(state, detail),
      onMessage: (msg) => this.handle(msg),
      onAuthFailed: o.onAuthFailed,
    });
    $('conn').hidden = false;
    this.stream.start();
  }

  /** Points held by chart 'cpu' or 'mem' (see window.__omegaLive in app.js). */
  points(id) {
    const chart = id === 'cpu' ? this.cpu : id === 'mem' ? this.mem : null;
    return chart ? chart.points() : 0;
  }

  setWindow(ms) {
    this.cpu.setWindow(ms);
    this.mem.setWindow(ms);
  }

  stop() {
    this.stream.stop();
    this.unTheme();
    this.cpu.destroy();
    this.mem.destroy();
    $('conn').hidden = true;
    $('stream-status').textContent = '';
    $('lag').hidden = true;
    for (const id of ['cpu-value', 'mem-value']) $(id).textContent = '–';
    for (const id of ['cpu-detail', 'mem-detail']) $(id).textContent = '';
  }

  showState(state, detail) {
    const badge = $('conn');
    badge.dataset.state = state;
    badge.textContent = state;
    this.connNote = state === 'reconnecting' && detail
      ? `Connection lost; retrying in ${Math.ceil(detail.delay / 1000)} s.`
      : '';
    this.showStatus();
  }

  showStatus() {
    const parts = [];
    if (this.connNote) parts.push(this.connNote);
    for (const [id, text] of this.errors) parts.push(`${id}: ${text}`);
    $('stream-status').textContent = parts.join(' · ');
  }

  handle(msg) {
    switch (msg.type) {
      case 'samples':
        if (this.errors.delete(msg.id)) this.showStatus();
        this.samples(msg);
        break;
      case 'error':
        this.errors.set(msg.id ?? 'stream', String(msg.error ?? 'unknown error'));
        this.showStatus();
        break;
      case 'lag':
        this.dropped += Number(msg.dropped) || 0;
        $('lag').textContent = `Slow connection: ${this.dropped} update(s) skipped by the server.`;
        $('lag').hidden = false;
        break;
      default:
        break; // alert/job messages belong to later views
    }
  }

  samples(msg) {
    const t = Number(msg.t);
    const series = Array.isArray(msg.series) ? msg.series : [];
    if (!Number.isFinite(t)) return;
    const first = () => (series.length ? parseValue(series[0].value) : NaN);
    if (msg.id === 'cpu') {
      const rows = series.map((s) => {
        const cpu = String(s.metric?.cpu ?? 'total');
        return { key: cpu, label: cpu === 'total' ? 'total' : `cpu ${cpu}`, value: parseValue(s.value) };
      });
      this.cpu.push(t, rows);
      const total = rows.find((r) => r.key === 'total');
      $('cpu-value').textContent = total ? formatPercent(total.value) : '–';
      const cores = rows.length - (total ? 1 : 0);
      $('cpu-detail').textContent = cores ? `${cores} core${cores === 1 ? '' : 's'}` : '';
    } else if (msg.id === 'mem') {
      const v = first();
      this.mem.push(t, series.length ? [{ key: 'mem', label: 'used %', value: v }] : []);
      $('mem-value').textContent = series.length ? formatPercent(v) : '–';
    } else if (msg.id === 'memused' || msg.id === 'memtotal') {
      if (msg.id === 'memused') this.memUsed = first();
      else this.memTotal = first();
      if (!Number.isNaN(this.memUsed) && !Number.isNaN(this.memTotal)) {
        $('mem-detail').textContent = `${formatBytes(this.memUsed)} of ${formatBytes(this.memTotal)}`;
      }
    }
  }
}
