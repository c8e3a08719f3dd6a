// SPDX-License-Identifier: Apache-2.0
// The live page: subscribes to CPU, memory, disk and network counters over the live stream
// (disk/network rates are computed here from consecutive counter samples, so plain selectors
// suffice), feeds the rolling charts and readouts, and shows connection state, query errors
// and lag. The side panels (health badge, alert overview, active jobs) load from their REST
// endpoints, reload on the stream's alert/job events and every 30 s, and say plainly when the
// server does not offer them. Navigation stays in app.js; auth failures are reported upward.

import { api } from './api.js';
import { RollingChart } from './charts.js';
import { addExportButtons } from './export.js';
import { LiveStream } from './live.js';
import { matrixSeries, rangeQuery } from './query.js';
import { cssVar, onThemeChange } from './theme.js';
import { formatBytes, formatDateTime, formatPercent, parseValue } from './format.js';

const INTERVAL_MS = 1000;
const SUBSCRIPTIONS = [
  { id: 'cpu', query: 'system_cpu_usage_percent', interval_ms: INTERVAL_MS },
  { id: 'mem', query: 'system_memory_used_percent', interval_ms: INTERVAL_MS },
  { id: 'memused', query: 'system_memory_used_bytes', interval_ms: INTERVAL_MS },
  { id: 'memtotal', query: 'system_memory_total_bytes', interval_ms: INTERVAL_MS },
  { id: 'diskr', query: 'system_disk_read_bytes_total', interval_ms: INTERVAL_MS },
  { id: 'diskw', query: 'system_disk_written_bytes_total', interval_ms: INTERVAL_MS },
  { id: 'netrx', query: 'system_network_receive_bytes_total', interval_ms: INTERVAL_MS },
  { id: 'nettx', query: 'system_network_transmit_bytes_total', interval_ms: INTERVAL_MS },
];
// Counter subscription -> [chart, label of the series' identifying label, direction word].
const RATES = {
  diskr: ['disk', 'device', 'read'],
  diskw: ['disk', 'device', 'write'],
  netrx: ['net', 'interface', 'rx'],
  nettx: ['net', 'interface', 'tx'],
};
const SIDE_REFRESH_MS = 30_000;
const LIST_MAX = 8; // alerts/jobs listed; the counts cover the rest

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
    // The socket and the history query first: they overlap building the charts below
    // (their answers are handled only after this constructor returns).
    this.stream = new LiveStream({
      token: o.token,
      subscriptions: SUBSCRIPTIONS,
      onState: (state, detail) => this.showState(state, detail),
      onMessage: (msg) => this.handle(msg),
      onAuthFailed: o.onAuthFailed,
    });
    $('conn').hidden = false;
    this.stream.start();
    this.windowMs = o.windowMs;
    this.backfill(); // the window's history, in parallel with the socket and the charts' set-up
    this.cpu = new RollingChart($('cpu-chart'), { style: cpuStyle, order: cpuOrder, emphasis: 'total', windowMs: o.windowMs });
    this.mem = new RollingChart($('mem-chart'), { style: memStyle, windowMs: o.windowMs });
    this.disk = new RollingChart($('disk-chart'), { unit: 'bytes/s', windowMs: o.windowMs });
    this.net = new RollingChart($('net-chart'), { unit: 'bytes/s', windowMs: o.windowMs });
    this.charts = { cpu: this.cpu, mem: this.mem, disk: this.disk, net: this.net };
    this.prev = {}; // subscription id -> Map(series key -> {t, v}) of the last counter sample
    this.rates = { disk: {}, net: {} }; // chart -> {sub id: total bytes/s}
    this.seen = {}; // counter subscription id -> whether its last sample had series
    this.unTheme = onThemeChange(() => {
      for (const c of Object.values(this.charts)) c.retheme();
    });
    this.exportBoxes = Object.entries(this.charts).map(([id, c]) => {
      const head = document.querySelector(`[data-chart="${id}"] .panel-head`);
      return addExportButtons(head, () => c.chart, head.querySelector('h2').textContent);
    });
    for (const id of ['disk-empty', 'net-empty']) $(id).hidden = false;
    this.sideTimer = setInterval(() => this.loadSide(), SIDE_REFRESH_MS);
    this.sideDebounce = 0;
    this.loadSide();
  }

  /** Points held by chart 'cpu', 'mem', 'disk' or 'net' (see window.__omegaLive in app.js). */
  points(id) {
    const chart = this.charts[id];
    return chart ? chart.points() : 0;
  }

  setWindow(ms) {
    this.windowMs = ms;
    for (const c of Object.values(this.charts)) c.setWindow(ms);
  }

  stop() {
    this.stopped = true;
    this.stream.stop();
    this.unTheme();
    clearInterval(this.sideTimer);
    clearTimeout(this.sideDebounce);
    for (const c of Object.values(this.charts)) c.destroy();
    for (const b of this.exportBoxes) b.remove();
    $('conn').hidden = true;
    $('stream-status').textContent = '';
    $('lag').hidden = true;
    for (const id of ['cpu-value', 'mem-value', 'disk-value', 'net-value']) $(id).textContent = '–';
    for (const id of ['cpu-detail', 'mem-detail', 'disk-detail', 'net-detail']) $(id).textContent = '';
  }

  /**
   * Fill the CPU and memory charts from history: the whole window when the page opens (in
   * parallel with the socket's handshake), the gap after a reconnect. Quietly skipped when
   * the server has no /api/v1/query_range.
   */
  async backfill() {
    const now = Date.now();
    const jobs = [
      ['cpu', 'system_cpu_usage_percent', (m) => String(m.cpu ?? 'total')],
      ['mem', 'system_memory_used_percent', () => 'mem'],
    ].map(async ([id, expr, keyOf]) => {
      // Called before the charts exist when the page opens (the query then overlaps building them).
      const held = this.charts ? this.charts[id] : null;
      const from = Math.max(held ? held.lastTime() : 0, now - (held ? held.windowMs : this.windowMs));
      if (now - from < 2000) return;
      try {
        const step = Math.max(1, Math.ceil((now - from) / 1000 / 1000)); // <= ~1000 points
        const series = matrixSeries(await rangeQuery(expr, from, now, step)).map((s) => {
          const key = keyOf(s.metric);
          const label = id === 'mem' ? 'used %' : key === 'total' ? 'total' : `cpu ${key}`;
          return { key, label, points: s.points };
        });
        if (!this.stopped) this.charts[id].merge(series);
      } catch {
        // history is a bonus here: the live stream carries on either way
      }
    });
    await Promise.all(jobs);
  }

  /** Reload health, alerts and jobs (each independently; absent endpoints say so). */
  loadSide() {
    this.loadHealth();
    this.loadAlerts();
    this.loadJobs();
  }

  /** Coalesce bursts of alert/job events into one reload. */
  sideSoon() {
    clearTimeout(this.sideDebounce);
    this.sideDebounce = setTimeout(() => this.loadSide(), 300);
  }

  async loadHealth() {
    const badge = $('health');
    try {
      const h = await api('/api/v1/health');
      const status = ['healthy', 'degraded', 'critical'].includes(h?.status) ? h.status : 'unknown';
      const issues = Array.isArray(h?.issues) ? h.issues : [];
      badge.dataset.state = status;
      badge.textContent = `health: ${status}${issues.length ? ` (${issues.length} issue${issues.length === 1 ? '' : 's'})` : ''}`;
      badge.title = issues.map((i) => `${i.severity ?? ''} ${i.component ?? ''}: ${i.metric ?? ''} = ${i.value ?? ''} (threshold ${i.threshold ?? ''})`).join('\n');
    } catch (e) {
      badge.dataset.state = 'unknown';
      badge.textContent = e.absent ? 'health: not reported' : 'health: unavailable';
      badge.title = e.message || '';
    }
  }

  async loadAlerts() {
    let items;
    try {
      const body = await api('/api/v1/alerts');
      items = Array.isArray(body?.items) ? body.items : Array.isArray(body) ? body : [];
    } catch (e) {
      for (const e of document.querySelectorAll('#alerts-title ~ .readout .count-pill')) e.hidden = true;
      $('alerts-list').replaceChildren();
      $('alerts-empty').textContent = e.absent
        ? 'Alert status is not reported by this server yet.'
        : `Alert status unavailable: ${e.message}`;
      $('alerts-empty').hidden = false;
      return;
    }
    const state = (a) => String(a.state ?? a.status ?? 'firing');
    const when = (a) => Date.parse(a.started_at ?? a.active_at ?? a.activeAt ?? '') || 0;
    items.sort((a, b) => when(b) - when(a));
    for (const e of document.querySelectorAll('#alerts-title ~ .readout .count-pill')) e.hidden = false;
    $('alerts-firing').textContent = String(items.filter((a) => state(a) === 'firing').length);
    $('alerts-pending').textContent = String(items.filter((a) => state(a) === 'pending').length);
    $('alerts-list').replaceChildren(...items.slice(0, LIST_MAX).map((a) => {
      const name = a.alert ?? a.name ?? a.rule ?? a.labels?.alertname ?? 'alert';
      const t = when(a);
      // The labels that tell two alerts of one rule apart (process, mountpoint, ...).
      const labels = Object.entries(a.labels && typeof a.labels === 'object' ? a.labels : {})
        .filter(([k]) => !['alertname', 'severity', 'category', '__name__'].includes(k))
        .map(([k, v]) => `${k}=${v}`).join(', ');
      const which = labels.length > 80 ? `${labels.slice(0, 79)}…` : labels;
      return listItem(state(a), String(name),
        `${a.severity ?? ''}${which ? ` · ${which}` : ''}${t ? ` · since ${formatDateTime(t)}` : ''}`);
    }));
    $('alerts-empty').textContent = 'No active alerts.';
    $('alerts-empty').hidden = items.length > 0;
  }

  async loadJobs() {
    let items;
    try {
      const body = await api('/api/v1/operations?active=true');
      items = Array.isArray(body?.items) ? body.items : Array.isArray(body) ? body : [];
    } catch (e) {
      $('jobs-list').replaceChildren();
      $('jobs-count').textContent = '';
      $('jobs-empty').textContent = e.absent ? 'No jobs reported yet.' : `Jobs unavailable: ${e.message}`;
      $('jobs-empty').hidden = false;
      return;
    }
    const when = (j) => Date.parse(j.started_at ?? '') || 0;
    items.sort((a, b) => when(b) - when(a));
    $('jobs-count').textContent = `${items.length} running`;
    $('jobs-list').replaceChildren(...items.slice(0, LIST_MAX).map((j) => {
      const t = when(j);
      // The job label names a build best; kind and id tell runs of it apart.
      const name = j.labels?.job ?? j.kind ?? j.name ?? j.id ?? 'job';
      return listItem('running', String(name),
        `${j.kind ?? ''} · ${j.id ?? ''}${t ? ` · started ${formatDateTime(t)}` : ''}`);
    }));
    $('jobs-empty').textContent = 'No jobs reported yet.';
    $('jobs-empty').hidden = items.length > 0;
  }

  showState(state, detail) {
    if (state === 'live' && this.streamState === 'reconnecting') this.backfill(); // the gap
    this.streamState = state;
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
      case 'alert':
      case 'job':
        this.sideSoon();
        break;
      default:
        break;
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
    } else if (RATES[msg.id]) {
      this.counterRates(msg.id, t, series);
    } else if (msg.id === 'memused' || msg.id === 'memtotal') {
      if (msg.id === 'memused') this.memUsed = first();
      else this.memTotal = first();
      if (!Number.isNaN(this.memUsed) && !Number.isNaN(this.memTotal)) {
        $('mem-detail').textContent = `${formatBytes(this.memUsed)} of ${formatBytes(this.memTotal)}`;
      }
    }
  }

  /** Per-second rates from two consecutive counter samples; a counter reset gives a gap. */
  counterRates(id, t, series) {
    const [chartId, labelName, dir] = RATES[id];
    const prev = this.prev[id] || new Map();
    const next = new Map();
    const rows = [];
    let sum = 0;
    for (const s of series) {
      const who = String(s.metric?.[labelName] ?? '?');
      const v = parseValue(s.value);
      next.set(who, { t, v });
      const p = prev.get(who);
      if (!p || !(t > p.t)) continue;
      const rate = v >= p.v ? ((v - p.v) * 1000) / (t - p.t) : NaN;
      if (Number.isFinite(rate)) sum += rate;
      rows.push({ key: `${who} ${dir}`, label: `${who} ${dir}`, value: rate });
    }
    this.prev[id] = next;
    const chart = this.charts[chartId];
    if (rows.length) chart.push(t, rows);
    this.rates[chartId][id] = rows.length ? sum : NaN;
    const empty = $(`${chartId}-empty`);
    if (!empty.dataset.absentText) empty.dataset.absentText = empty.textContent.trim();
    this.seen[id] = series.length > 0;
    const seen = Object.entries(RATES).some(([sub, [c]]) => c === chartId && this.seen[sub]);
    // Reported but no rate yet: a rate needs two samples of a counter.
    empty.textContent = seen ? 'Measuring… (a rate needs two samples of each counter)' : empty.dataset.absentText;
    empty.hidden = chart.points() > 0;
    const parts = Object.values(this.rates[chartId]).filter(Number.isFinite);
    if (parts.length) {
      $(`${chartId}-value`).textContent = `${formatBytes(parts.reduce((a, b) => a + b, 0))}/s`;
      const n = new Set([...next.keys()]).size;
      $(`${chartId}-detail`).textContent = `${n} ${labelName}${n === 1 ? '' : 's'}, ${chartId === 'disk' ? 'read + write' : 'receive + transmit'}`;
    }
  }
}

/** <li> with a state dot, a name and a detail line (all text, never HTML). */
function listItem(state, name, detail) {
  const li = document.createElement('li');
  li.dataset.state = state;
  const b = document.createElement('strong');
  b.textContent = name;
  const d = document.createElement('span');
  d.className = 'muted';
  d.textContent = ` ${state}${detail ? ` · ${detail}` : ''}`;
  li.append(b, d);
  return li;
}
