// SPDX-License-Identifier: Apache-2.0
// Session handling: POST /api/v1/auth/login, the token kept in sessionStorage (per tab, gone
// when the tab closes), expiry from expires_at (RFC 3339), and best-effort server logout.

const KEY = 'omega.session';

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
  const s = { token: body.token, expires_at: body.expires_at, role: body.role, username };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
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
