// SPDX-License-Identifier: Apache-2.0
// JSON API client: adds the session's Bearer token, decodes the contract's error shape
// {"status":"error","errorType","error"} into ApiError (whose message is the server's own
// text, shown to people as is), and reports 401s once to the app (session gone). A 401 for
// a token renewed while the request was under way is retried once with the new token.

import { currentSession } from './session.js';

/** An API failure; status 0 means the server could not be reached. */
export class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }

  /** True when the endpoint does not exist on this server (yet). */
  get absent() {
    return this.status === 404 && this.type === 'not_found' && /no such endpoint/.test(this.message);
  }
}

let onUnauthorized = () => {};

// Endpoints this server answered "no such endpoint" for: not asked again for a while (they
// appear only with a server upgrade, i.e. a restart), which keeps the console and the
// server's log free of repeated 404s from the periodic side panels.
const ABSENT_TTL_MS = 10 * 60e3;
const absent = new Map(); // "METHOD path-without-query" -> {until, err}

/** Register what to do when the server answers 401 (the token is no longer accepted). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** "/api/v1/x" + {a:1, b:[2,3]} -> "/api/v1/x?a=1&b=2&b=3" (undefined/null skipped). */
export function withQuery(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/**
 * Call the API. Resolves to the decoded JSON body (null for 204), rejects with ApiError.
 * @param {string} path   path with query string
 * @param {{method?:string, body?:any, form?:object, signal?:AbortSignal}} [o]
 *   body is sent as JSON; form as application/x-www-form-urlencoded (Prometheus POST style)
 */
export async function api(path, o = {}, retried = false) {
  const headers = {};
  const token = currentSession()?.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (o.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  } else if (o.form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(o.form).toString();
  }
  const absentKey = `${o.method || 'GET'} ${path.split('?')[0]}`;
  const known = absent.get(absentKey);
  if (known && known.until > Date.now()) throw known.err;
  let res;
  try {
    res = await fetch(path, { method: o.method || 'GET', headers, body, signal: o.signal });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'Cannot reach the server.');
  }
  if (res.status === 204) return null;
  let json = null;
  try {
    json = await res.json();
  } catch {
    json = null;
  }
  if (!res.ok || (json && json.status === 'error')) {
    const msg = json && typeof json.error === 'string' && json.error ? json.error : `HTTP ${res.status}`;
    const err = new ApiError(res.status, (json && json.errorType) || 'http', msg);
    err.body = json; // the whole error document (e.g. invalid_config's "problems")
    if (res.status === 401 && !retried && token && currentSession()?.token && currentSession().token !== token) {
      return api(path, o, true); // renewed (and the old token revoked) meanwhile
    }
    if (res.status === 401) onUnauthorized(err);
    if (err.absent) absent.set(absentKey, { until: Date.now() + ABSENT_TTL_MS, err });
    throw err;
  }
  return json;
}
