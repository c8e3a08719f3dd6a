// SPDX-License-Identifier: Apache-2.0
// Dashboard entry point: shows the login view or the live view, wires the header (role,
// theme, logout) and the window selector, and returns to login when the token expires or
// the live stream rejects it. Exposes the read-only test hook window.__omegaLive.

import { currentSession, login, logout, LoginError, msUntilExpiry } from './js/session.js';
import { Dashboard } from './js/dashboard.js';
import { initTheme } from './js/theme.js';

const $ = (id) => document.getElementById(id);
const WINDOW_KEY = 'omega.window.min';
const WINDOWS_MIN = [1, 5, 15, 60];

let dashboard = null;
let expiryTimer = 0;

/**
 * Test/diagnostic hook (read-only): points(id) is the number of data points the live chart
 * 'cpu' or 'mem' currently holds, all series together; 0 when the live view is not shown.
 * tests/browser/live.test.mjs polls it to see the charts grow.
 */
Object.defineProperty(window, '__omegaLive', {
  value: Object.freeze({ points: (id) => (dashboard ? dashboard.points(id) : 0) }),
  writable: false,
  configurable: false,
});

function windowMinutes() {
  const saved = Number(localStorage.getItem(WINDOW_KEY));
  return WINDOWS_MIN.includes(saved) ? saved : 5;
}

function showLogin(notice = '') {
  clearTimeout(expiryTimer);
  if (dashboard) {
    dashboard.stop();
    dashboard = null;
  }
  $('live-view').hidden = true;
  $('logout').hidden = true;
  $('role').hidden = true;
  $('login-notice').textContent = notice;
  $('login-notice').hidden = !notice;
  $('login-error').hidden = true;
  $('password').value = '';
  $('login-view').hidden = false;
  ($('username').value ? $('password') : $('username')).focus();
}

function endSession(notice) {
  logout();
  showLogin(notice);
}

/** Return to login when the token's expires_at passes (re-armed if the timer fires early). */
function armExpiry(session) {
  clearTimeout(expiryTimer);
  // setTimeout holds at most 2^31-1 ms; longer sessions are simply re-checked when it fires.
  const wait = Math.min(Math.max(0, msUntilExpiry(session)), 2 ** 31 - 1);
  expiryTimer = setTimeout(() => {
    const s = currentSession();
    if (s) armExpiry(s);
    else endSession('Your session has expired. Please sign in again.');
  }, wait);
}

function showLive(session) {
  $('login-view').hidden = true;
  $('role').textContent = `${session.username ?? ''} · ${session.role ?? 'unknown role'}`;
  $('role').hidden = false;
  $('logout').hidden = false;
  $('live-view').hidden = false;
  armExpiry(session);
  dashboard = new Dashboard({
    token: () => currentSession()?.token ?? null,
    onAuthFailed: (reason) => endSession(reason),
    windowMs: windowMinutes() * 60e3,
  });
}

async function onSubmit(ev) {
  ev.preventDefault();
  const username = $('username').value.trim();
  const password = $('password').value;
  const error = $('login-error');
  if (!username || !password) {
    error.textContent = 'Enter a username and a password.';
    error.hidden = false;
    return;
  }
  const button = $('login-submit');
  button.disabled = true;
  error.hidden = true;
  try {
    const session = await login(username, password);
    $('login-notice').hidden = true;
    $('password').value = '';
    showLive(session);
  } catch (e) {
    error.textContent = e instanceof LoginError ? e.message : 'Sign-in failed unexpectedly.';
    error.hidden = false;
    $('password').select();
  } finally {
    button.disabled = false;
  }
}

function init() {
  initTheme($('theme-toggle'));
  $('login-form').addEventListener('submit', onSubmit);
  $('logout').addEventListener('click', () => endSession('You have signed out.'));
  const select = $('window-select');
  select.value = String(windowMinutes());
  select.addEventListener('change', () => {
    localStorage.setItem(WINDOW_KEY, select.value);
    if (dashboard) dashboard.setWindow(Number(select.value) * 60e3);
  });
  const session = currentSession();
  if (session) showLive(session);
  else showLogin();
}

init();
