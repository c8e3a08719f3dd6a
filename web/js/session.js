// SPDX-License-Identifier: Apache-2.0
// Session handling: POST /api/v1/auth/login, the token kept in sessionStorage (per tab, gone
// when the tab closes), expiry from expires_at (RFC 3339), renewal through
// POST /api/v1/auth/refresh before it expires (announced with the TOKEN_EVENT window event,
// so open live sockets re-authenticate), and best-effort server logout.

const KEY = 'omega.session';
/** Window event dispatched with {detail: session} after the token was renewed. */
export const TOKEN_EVENT = 'omega:token';
const REFRESH_SHARE = 0.2; // renew when a fifth of the lifetime is left...
const REFRESH_MIN_LEAD_MS = 5000; // ...and never later than 5 s before expiry

/** The stored session {token, expires_at, role, username} or null when absent or expired. */
export function currentSession() {
  let s = null;
  try {
    s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    s = null;
  }
  if (!s || typeof s.token !== 'string' || msUntilExpiry(s) <= 0) {
    sessionStorage.removeItem(KEY);
    return null;
  }
  return s;
}

/** Milliseconds until the session expires (Infinity when the server gave no usable time). */
export function msUntilExpiry(s) {
  const t = Date.parse(s.expires_at);
  return Number.isFinite(t) ? t - Date.now() : Infinity;
}

/** Error whose message is meant for the person at the keyboard. */
export class LoginError extends Error {}

/**
 * Log in; resolves to the stored session, rejects with LoginError carrying the server's
 * `error` text (401 bad credentials, 429 rate limited, ...) or a network message.
 */
export async function login(username, password) {
  let res;
  try {
    res = await fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
      credentials: 'same-origin',
    });
  } catch {
    throw new LoginError('Cannot reach the server. Check the connection and try again.');
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok) {
    const msg = body && typeof body.error === 'string' && body.error
      ? body.error
      : `Sign-in failed (HTTP ${res.status}).`;
    throw new LoginError(msg);
  }
  if (!body || typeof body.token !== 'string') {
    throw new LoginError('The server sent an unexpected answer to the sign-in request.');
  }
  const s = { token: body.token, expires_at: body.expires_at, role: body.role, username, issued_at: Date.now() };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

/**
 * Milliseconds until the session s should be renewed: when REFRESH_SHARE of its lifetime
 * (from issued_at, else from now) is left, at least REFRESH_MIN_LEAD_MS before expiry.
 * Infinity when the server gave no usable expiry.
 */
export function msUntilRefresh(s) {
  const left = msUntilExpiry(s);
  if (!Number.isFinite(left)) return Infinity;
  const issued = Number.isFinite(s.issued_at) ? s.issued_at : Date.now();
  const lifetime = Math.max(left, Date.parse(s.expires_at) - issued);
  return Math.max(0, left - Math.max(REFRESH_MIN_LEAD_MS, lifetime * REFRESH_SHARE));
}

/**
 * Renew the stored session's token (the server revokes the old one at once). Resolves to
 * the new session, to null when the server no longer accepts the session (401, or none
 * stored), and rejects on network or server trouble (worth a retry while time is left).
 * Dispatches TOKEN_EVENT on success.
 */
export async function refresh() {
  const s = currentSession();
  if (!s) return null;
  const res = await fetch('/api/v1/auth/refresh', {
    method: 'POST',
    headers: { Authorization: `Bearer ${s.token}` },
  });
  if (res.status === 401) return null;
  const body = await res.json().catch(() => null);
  if (!res.ok || !body || typeof body.token !== 'string') throw new Error(`refresh: HTTP ${res.status}`);
  const next = { ...s, token: body.token, expires_at: body.expires_at, role: body.role ?? s.role, issued_at: Date.now() };
  sessionStorage.setItem(KEY, JSON.stringify(next));
  window.dispatchEvent(new CustomEvent(TOKEN_EVENT, { detail: next }));
  return next;
}

/** Forget the token locally and ask the server to revoke it (failures are irrelevant here). */
export function logout() {
  const s = currentSession();
  sessionStorage.removeItem(KEY);
  if (!s) return;
  fetch('/api/v1/auth/logout', {
    method: 'POST',
    headers: { Authorization: `Bearer ${s.token}` },
    keepalive: true,
  }).catch(() => {});
}
