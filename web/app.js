// SPDX-License-Identifier: Apache-2.0
// Dashboard entry point: login/logout, the header (role, navigation, theme), and the hash
// router that starts and stops one view controller at a time (#/live, #/history, #/compare,
// #/dashboards[/<id>], #/alerts[/<tab>], #/kiosk, #/admin[/<tab>], #/reports); views other than the live
// page load their module on first use. Returns to login when the token expires or the
// server rejects it. Exposes read-only test hooks window.__omegaLive and window.__omega.

import { setUnauthorizedHandler } from './js/api.js';
import { Dashboard } from './js/dashboard.js';
import { canEditRole, canExportRole, isAdminRole, Router } from './js/router.js';
import { currentSession, login, logout, LoginError, msUntilExpiry, msUntilRefresh, refresh } from './js/session.js';
import { initTheme } from './js/theme.js';

const $ = (id) => document.getElementById(id);
const WINDOW_KEY = 'omega.window.min';
const WINDOWS_MIN = [1, 5, 15, 60];
const SECTIONS = {
  live: 'live-view', history: 'history-view', compare: 'compare-view', dashboards: 'dashboards-view', alerts: 'alerts-view', admin: 'admin-view',
  reports: 'reports-view',
};
const ROUTES = { live: {}, history: {}, compare: {}, dashboards: {}, alerts: {}, kiosk: {}, admin: { admin: true }, reports: { export: true } };

// The live page's code is imported above; every other view's module loads on first use (and
// is warmed in idle time after start), so the live page's first paint waits for none of it.
const VIEW_MODULES = {
  history: () => withZoom(() => import('./js/history.js')),
  compare: () => withZoom(() => import('./js/compare.js')),
  dashboards: () => withZoom(() => import('./js/dashboards.js')),
  kiosk: () => withZoom(() => import('./js/kiosk.js')),
  alerts: () => import('./js/alerts.js'),
  admin: () => import('./js/admin.js'),
  reports: () => import('./js/reports.js'),
};
const ZOOM_SCRIPTS = ['vendor/hammer.min.js', 'vendor/chartjs-plugin-zoom.min.js'];
let zoomReady = null;

/**
 * Load Chart.js's zoom plugin (after Hammer, its touch dependency; it registers itself with
 * Chart) once, then run load(). Only the views with range charts need it. Without it those
 * charts still draw, only drag-to-zoom is missing, so a failure is not fatal.
 */
function withZoom(load) {
  if (!zoomReady) {
    zoomReady = new Promise((resolve) => {
      for (const src of ZOOM_SCRIPTS) {
        const el = document.createElement('script');
        el.src = src;
        el.async = false; // fetched in parallel, run in order
        el.onerror = resolve;
        if (src === ZOOM_SCRIPTS[ZOOM_SCRIPTS.length - 1]) el.onload = resolve;
        document.head.append(el);
      }
    });
  }
  return zoomReady.then(load);
}
const WARM_AFTER_MS = 2000;

let view = null; // {name, ctl}
let routeSeq = 0; // bumped by every view change; a module load finishing late is dropped
let expiryTimer = 0;
let refreshTimer = 0;
const REFRESH_RETRY_MS = 5000;
const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout's limit
let router = null;

/**
 * Test/diagnostic hooks (read-only). __omegaLive.points(id): points held by the live chart
 * 'cpu', 'mem', 'disk' or 'net'. __omega.view(): current view name; __omega.points(): points
 * held by the current view's charts/panels; __omega.kiosk(): kiosk status or null.
 */
Object.defineProperty(window, '__omegaLive', {
  value: Object.freeze({ points: (id) => (view && view.name === 'live' ? view.ctl.points(id) : 0) }),
  writable: false,
  configurable: false,
});
Object.defineProperty(window, '__omega', {
  value: Object.freeze({
    view: () => (view ? view.name : ''),
    points: () => (view && view.ctl.points ? view.ctl.points() : 0),
    kiosk: () => (view && view.name === 'kiosk' ? view.ctl.status() : null),
  }),
  writable: false,
  configurable: false,
});

function windowMinutes() {
  const saved = Number(localStorage.getItem(WINDOW_KEY));
  return WINDOWS_MIN.includes(saved) ? saved : 5;
}

function stopView() {
  routeSeq += 1;
  if (view) {
    view.ctl.stop();
    view = null;
  }
  for (const id of [...Object.values(SECTIONS), 'denied-view']) $(id).hidden = true;
  $('conn').hidden = true;
}

function showLogin(notice = '') {
  clearTimeout(expiryTimer);
  clearTimeout(refreshTimer);
  stopView();
  $('nav').hidden = true;
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

/**
 * Return to login when the token's expires_at passes (re-armed if the timer fires early),
 * and renew the token before that (armRefresh), so the app never asks for a re-login.
 */
function armExpiry(session) {
  clearTimeout(expiryTimer);
  // setTimeout holds at most 2^31-1 ms; longer sessions are simply re-checked when it fires.
  const wait = Math.min(Math.max(0, msUntilExpiry(session)), MAX_TIMER_MS);
  expiryTimer = setTimeout(() => {
    const s = currentSession();
    if (s) armExpiry(s);
    else endSession('Your session has expired. Please sign in again.');
  }, wait);
  armRefresh(session);
}

/** Renew the token when msUntilRefresh() says; retried every 5 s while it is still valid. */
function armRefresh(session) {
  clearTimeout(refreshTimer);
  const wait = msUntilRefresh(session);
  if (!Number.isFinite(wait)) return;
  if (wait > MAX_TIMER_MS) {
    refreshTimer = setTimeout(() => armRefresh(currentSession() ?? session), MAX_TIMER_MS);
    return;
  }
  refreshTimer = setTimeout(renewNow, wait);
}

async function renewNow() {
  let next;
  try {
    next = await refresh();
  } catch {
    // Server or network trouble: try again while the token lasts (armExpiry ends it).
    if (currentSession()) refreshTimer = setTimeout(renewNow, REFRESH_RETRY_MS);
    return;
  }
  if (!next) {
    endSession('The server did not accept your session. Please sign in again.');
    return;
  }
  showRole(next); // the role is the user's current one
  armExpiry(next);
}

function showRole(session) {
  $('role').textContent = `${session.username ?? ''} · ${session.role ?? 'unknown role'}`;
  $('role').hidden = false;
  for (const a of $('nav').querySelectorAll('[data-admin]')) a.hidden = !isAdminRole(session.role);
  for (const a of $('nav').querySelectorAll('[data-export]')) a.hidden = !canExportRole(session.role);
}

const token = () => currentSession()?.token ?? null;
const role = () => currentSession()?.role ?? null;

function connState(state, detail) {
  const badge = $('conn');
  badge.hidden = false;
  badge.dataset.state = state;
  badge.textContent = state;
  if (detail && detail.delay) badge.title = `retrying in ${Math.ceil(detail.delay / 1000)} s`;
}

function markNav(name) {
  for (const a of $('nav').querySelectorAll('a')) {
    if (a.dataset.route === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

/** Start the controller of a route (the previous one is stopped first). */
function showRoute(route) {
  if (!currentSession()) {
    showLogin();
    return;
  }
  // Same dashboards view, other dashboard: let the controller switch without a rebuild.
  if (view && view.name === 'dashboards' && route.view === 'dashboards') {
    view.ctl.show(route);
    return;
  }
  stopView();
  markNav(route.view);
  const load = VIEW_MODULES[route.view];
  if (!load) {
    startView(route, null);
    return;
  }
  const seq = routeSeq;
  load().then(
    (mod) => {
      if (seq === routeSeq && currentSession()) startView(route, mod);
    },
    () => {
      if (seq === routeSeq) showUnavailable(route.view);
    },
  );
}

/** Build the controller of route with its view module mod (null for the live page). */
function startView(route, mod) {
  const onAuthFailed = (reason) => endSession(reason);
  // Shown before the controller builds its charts: Chart.js then sizes them once, instead of
  // laying out a hidden canvas and redrawing everything when the section appears.
  if (SECTIONS[route.view]) $(SECTIONS[route.view]).hidden = false;
  let ctl;
  switch (route.view) {
    case 'live':
      ctl = new Dashboard({ token, onAuthFailed, windowMs: windowMinutes() * 60e3 });
      $('conn').hidden = false;
      break;
    case 'history':
      ctl = new mod.HistoryView(route);
      break;
    case 'compare':
      ctl = new mod.CompareView(route);
      break;
    case 'dashboards':
      ctl = new mod.DashboardsView({ canEdit: canEditRole(role()), token, onAuthFailed, onState: connState });
      ctl.show(route);
      break;
    case 'kiosk':
      ctl = new mod.KioskView({ route, token, onAuthFailed, onExit: () => router.go('#/live') });
      break;
    case 'alerts':
      ctl = new mod.AlertsView({ route, role: role(), username: currentSession()?.username ?? null, token, onAuthFailed });
      break;
    case 'admin':
      ctl = new mod.AdminView({ role: role(), tab: route.arg });
      break;
    case 'reports':
      ctl = new mod.ReportsView({ onAuthFailed });
      break;
    default:
      return;
  }
  view = { name: route.view, ctl };
  if (route.view !== 'kiosk') $('main').focus({ preventScroll: true });
}

/** A view's module could not be fetched (server restarting, network down). */
function showUnavailable(name) {
  $('denied-text').textContent = `The ${name} page could not be loaded from the server. Reload the page to try again.`;
  $('denied-view').hidden = false;
}

/** Fetch and compile the other views' modules once the page is idle (a failure here is ignored). */
function warmViews() {
  const idle = window.requestIdleCallback || ((fn) => setTimeout(fn, 0));
  setTimeout(() => idle(() => {
    for (const load of Object.values(VIEW_MODULES)) load().catch(() => {});
  }), WARM_AFTER_MS);
}

function showDenied(name) {
  stopView();
  markNav('');
  const needs = name === 'reports' ? 'the analyst, admin or superuser role' : 'the admin role';
  $('denied-text').textContent = `The ${name} page needs ${needs}; you are signed in as ${role() ?? 'an unknown role'}.`;
  $('denied-view').hidden = false;
}

function showApp(session) {
  $('login-view').hidden = true;
  $('logout').hidden = false;
  $('nav').hidden = false;
  showRole(session);
  armExpiry(session);
  if (!router) {
    router = new Router({ routes: ROUTES, fallback: 'live', role, show: showRoute, denied: showDenied });
    router.start();
  } else {
    router.dispatch();
  }
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
    showApp(session);
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
  setUnauthorizedHandler(() => endSession('The server did not accept your session. Please sign in again.'));
  $('login-form').addEventListener('submit', onSubmit);
  $('logout').addEventListener('click', () => endSession('You have signed out.'));
  const select = $('window-select');
  select.value = String(windowMinutes());
  select.addEventListener('change', () => {
    localStorage.setItem(WINDOW_KEY, select.value);
    if (view && view.name === 'live') view.ctl.setWindow(Number(select.value) * 60e3);
  });
  const session = currentSession();
  if (session) showApp(session);
  else showLogin();
  warmViews();
}

init();
