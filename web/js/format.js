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
