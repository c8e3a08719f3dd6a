// SPDX-License-Identifier: Apache-2.0
// Formatting helpers for the dashboard: wire values ("NaN", "+Inf", "-Inf" strings or numbers),
// percentages, byte sizes (binary units) and local HH:MM:SS clock labels. No DOM access.

/** Wire value (number or "NaN"/"+Inf"/"-Inf") -> JS number (NaN/±Infinity kept as such). */
export function parseValue(v) {
  if (typeof v === 'number') return v;
  if (v === '+Inf' || v === 'Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  const n = Number(v);
  return typeof v === 'string' && v.trim() !== '' ? n : NaN;
}

/** Text for a non-finite number, or null when the number is finite. */
function special(n) {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return null;
}

/** 12.345 -> "12.3 %" */
export function formatPercent(n) {
  return special(n) ?? `${n.toFixed(1)} %`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 3221225472 -> "3.00 GiB" */
export function formatBytes(n) {
  const s = special(n);
  if (s) return s;
  let u = 0;
  let v = Math.abs(n);
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u += 1;
  }
  const digits = u === 0 ? 0 : v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${n < 0 ? '-' : ''}${v.toFixed(digits)} ${UNITS[u]}`;
}

const pad = (x) => String(x).padStart(2, '0');

/** Milliseconds since the epoch -> local "HH:MM:SS". */
export function formatClock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

const DURATION_UNITS = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3, y: 365 * 86400e3 };

/** "15m", "1h30m", "5y" (Prometheus duration syntax) -> milliseconds, NaN when malformed. */
export function parseDuration(s) {
  const text = String(s ?? '').trim();
  if (!/^(\d+(ms|s|m|h|d|w|y))+$/.test(text)) return NaN;
  let ms = 0;
  for (const [, n, u] of text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) ms += Number(n) * DURATION_UNITS[u];
  return ms;
}

/** 90000 -> "1m30s"; the inverse of parseDuration for whole seconds. */
export function formatDuration(ms) {
  let s = Math.max(0, Math.round(ms / 1000));
  if (s === 0) return '0s';
  const out = [];
  for (const [u, k] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]]) {
    if (s >= k) {
      out.push(`${Math.floor(s / k)}${u}`);
      s %= k;
    }
  }
  return out.join('');
}

/** Compact number: 1234567 -> "1.23M", 0.000123 -> "0.000123". */
export function formatNumber(n) {
  const s = special(n);
  if (s) return s;
  const a = Math.abs(n);
  if (a !== 0 && (a < 0.01 || a >= 1e15)) return n.toPrecision(3);
  for (const [k, u] of [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']]) {
    if (a >= k) return `${(n / k).toPrecision(3)}${u}`;
  }
  return Number.isInteger(n) ? String(n) : n.toPrecision(3).replace(/\.?0+$/, '');
}

/** Format by unit: 'percent', 'bytes', 'bytes/s', anything else -> compact number. */
export function formatValue(n, unit) {
  if (unit === 'percent') return formatPercent(n);
  if (unit === 'bytes') return formatBytes(n);
  if (unit === 'bytes/s') return `${formatBytes(n)}/s`;
  return formatNumber(n);
}

/** Local time label whose detail fits a span: clock for < 1 day, date+time, date only. */
export function formatTimeFor(ms, spanMs) {
  const d = new Date(ms);
  const date = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  if (spanMs <= 86400e3) return spanMs <= 3600e3 ? formatClock(ms) : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (spanMs <= 60 * 86400e3) return `${date.slice(5)} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return date;
}

/** Full local date and time "YYYY-MM-DD HH:MM:SS". */
export function formatDateTime(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${formatClock(ms)}`;
}

/** Prometheus-style series name: name{a="b", c="d"} (label values escaped, shown as text). */
export function seriesName(metric) {
  const m = metric && typeof metric === 'object' ? metric : {};
  const name = typeof m.__name__ === 'string' ? m.__name__ : '';
  const labels = Object.keys(m).filter((k) => k !== '__name__').sort()
    .map((k) => `${k}="${String(m[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  if (!labels.length) return name || '{}';
  return `${name}{${labels.join(', ')}}`;
}
