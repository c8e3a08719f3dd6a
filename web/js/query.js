// SPDX-License-Identifier: Apache-2.0
// Prometheus HTTP API client (/api/v1/query, /query_range, /series, /labels,
// /label/<name>/values) and conversions from its result shapes to chart series.
// Step choice: at most one point per 2 CSS pixels of chart width and at most 11,000 points
// (Prometheus' limit), rounded up to a whole, friendly number of seconds.

import { api, withQuery } from './api.js';
import { parseValue, seriesName } from './format.js';

export const MAX_POINTS_PER_SERIES = 11000;
const FRIENDLY_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
  43200, 86400, 172800, 604800];

/** Step in seconds for [startMs, endMs] drawn widthPx wide. */
export function stepFor(startMs, endMs, widthPx) {
  const span = Math.max(1000, endMs - startMs) / 1000;
  const points = Math.min(MAX_POINTS_PER_SERIES, Math.max(10, Math.floor(Math.max(20, widthPx) / 2)));
  const raw = Math.max(1, span / points);
  return FRIENDLY_S.find((s) => s >= raw) ?? Math.ceil(raw / 86400) * 86400;
}

const secs = (ms) => (ms / 1000).toFixed(3);

/** Instant query at timeMs (default now). Resolves to the API's data object. */
export async function instantQuery(expr, timeMs, signal) {
  const body = await api(withQuery('/api/v1/query', { query: expr, time: timeMs ? secs(timeMs) : undefined }), { signal });
  return body.data;
}

/** Range query. Resolves to the API's data object ({resultType:'matrix', result:[...]}). */
export async function rangeQuery(expr, startMs, endMs, stepS, signal) {
  const body = await api(withQuery('/api/v1/query_range', {
    query: expr, start: secs(startMs), end: secs(endMs), step: String(stepS),
  }), { signal });
  return body.data;
}

/** Metric names (label values of __name__). */
export async function metricNames(signal) {
  return (await api('/api/v1/label/__name__/values', { signal })).data ?? [];
}

/** Label sets matching a selector. */
export async function seriesOf(match, signal) {
  return (await api(withQuery('/api/v1/series', { 'match[]': match }), { signal })).data ?? [];
}

/** Values of one label (optionally restricted to series matching match). */
export async function labelValues(name, match, signal) {
  const path = withQuery(`/api/v1/label/${encodeURIComponent(name)}/values`, { 'match[]': match || undefined });
  return (await api(path, { signal })).data ?? [];
}

/** Stable key of a label set. */
export function seriesKey(metric) {
  return seriesName(metric);
}

/** Matrix result -> [{key, label, metric, points:[{x ms, y}]}]; non-finite values become gaps. */
export function matrixSeries(data) {
  if (!data || data.resultType !== 'matrix' || !Array.isArray(data.result)) return [];
  return data.result.map((r) => ({
    key: seriesKey(r.metric),
    label: seriesName(r.metric),
    metric: r.metric || {},
    points: (r.values || []).map(([t, v]) => {
      const y = parseValue(v);
      return { x: Math.round(Number(t) * 1000), y: Number.isFinite(y) ? y : null };
    }),
  }));
}

/** Vector (or scalar) result -> [{key, label, metric, value, t}]. */
export function vectorSeries(data) {
  if (!data) return [];
  if (data.resultType === 'scalar' && Array.isArray(data.result)) {
    return [{ key: 'scalar', label: 'scalar', metric: {}, t: Number(data.result[0]) * 1000, value: parseValue(data.result[1]) }];
  }
  if (data.resultType !== 'vector' || !Array.isArray(data.result)) return [];
  return data.result.map((r) => ({
    key: seriesKey(r.metric),
    label: seriesName(r.metric),
    metric: r.metric || {},
    t: Number(r.value?.[0]) * 1000,
    value: parseValue(r.value?.[1]),
  }));
}

/** Live "samples" message series -> [{key, label, metric, value}]. */
export function liveSeries(msg) {
  const list = Array.isArray(msg.series) ? msg.series : [];
  return list.map((s) => ({
    key: seriesKey(s.metric),
    label: seriesName(s.metric),
    metric: s.metric || {},
    value: parseValue(s.value),
  }));
}
