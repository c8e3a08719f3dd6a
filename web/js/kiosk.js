// SPDX-License-Identifier: Apache-2.0
// Team-screen (kiosk) mode, #/kiosk or ?kiosk=1: hides the page chrome, shows saved
// dashboards one after another (#/kiosk?cycle=<seconds>, default 60; ?ids=a,b to choose),
// or the built-in system dashboard when none is saved. The live stream reconnects with
// backoff; a banner says so while it is down, and the gap is backfilled from
// /api/v1/query_range on reconnect. Each cycle step builds a fresh renderer and the charts
// prune to their window, so memory stays flat over days. Escape leaves kiosk mode.

import { api } from './api.js';
import { parseDuration } from './format.js';
import { DashboardRenderer } from './panels.js';

const $ = (id) => document.getElementById(id);
const DEFAULT_CYCLE_S = 60;
const LIST_REFRESH_MS = 10 * 60e3; // pick up dashboards saved meanwhile

/** Shown when no dashboard is saved: the live view's essentials, as panels. */
export const SYSTEM_LAYOUT = Object.freeze({
  id: '',
  title: 'System',
  panels: [
    { title: 'CPU utilisation % (total)', query: 'system_cpu_usage_percent{cpu="total"}', type: 'area', unit: 'percent', w: 6, h: 3 },
    { title: 'Memory used %', query: 'system_memory_used_percent', type: 'area', unit: 'percent', w: 6, h: 3 },
    { title: 'Load (1 min)', query: 'system_load1', type: 'stat', w: 4, h: 2 },
    { title: 'Memory used', query: 'system_memory_used_bytes', type: 'stat', unit: 'bytes', w: 4, h: 2 },
    { title: 'CPU per core %', query: 'system_cpu_usage_percent', type: 'bar', unit: 'percent', w: 4, h: 2 },
  ],
});

export class KioskView {
  /**
   * @param {object} o
   * @param {{params: URLSearchParams}} o.route
   * @param {() => string|null} o.token
   * @param {(reason:string) => void} o.onAuthFailed
   * @param {() => void} o.onExit
   */
  constructor(o) {
    this.o = o;
    this.renderer = null;
    this.layouts = [];
    this.index = 0;
    this.state = 'connecting';
    const s = Number(o.route.params.get('cycle'));
    this.cycleMs = (Number.isFinite(s) && s >= 10 ? s : DEFAULT_CYCLE_S) * 1000;
    this.ids = (o.route.params.get('ids') || '').split(',').filter(Boolean);
    this.reconnects = 0;
    this.receivedBefore = 0; // samples messages of renderers already replaced
    document.body.classList.add('kiosk');
    this.onKey = (ev) => { if (ev.key === 'Escape') o.onExit(); };
    document.addEventListener('keydown', this.onKey);
    this.grid = document.createElement('div');
    this.grid.className = 'grid12 kiosk-grid';
    this.title = document.createElement('h2');
    this.title.className = 'kiosk-title';
    $('kiosk-banner').hidden = true;
    this.root = document.createElement('section');
    this.root.className = 'view kiosk-view';
    this.root.setAttribute('aria-label', 'Team screen');
    this.root.append(this.title, this.grid);
    $('main').append(this.root);
    this.load().then(() => this.next());
    this.listTimer = setInterval(() => this.load(), LIST_REFRESH_MS);
  }

  async load() {
    let layouts = [];
    try {
      const items = (await api('/api/v1/dashboards')).items || [];
      const wanted = this.ids.length ? this.ids : items.map((d) => d.id);
      for (const id of wanted) {
        try {
          layouts.push(await api(`/api/v1/dashboards/${encodeURIComponent(id)}`));
        } catch {
          // deleted meanwhile, or not readable: skip it
        }
      }
    } catch {
      layouts = this.layouts; // server unreachable: keep what we have
    }
    this.layouts = layouts.filter((l) => Array.isArray(l.panels) && l.panels.length);
  }

  next() {
    if (this.stopped) return;
    const list = this.layouts.length ? this.layouts : [SYSTEM_LAYOUT];
    const layout = list[this.index % list.length];
    this.index = (this.index + 1) % list.length;
    if (!this.renderer || list.length > 1 || this.renderer.layout !== layout) this.show(layout);
    clearTimeout(this.cycleTimer);
    this.cycleTimer = setTimeout(() => this.next(), this.cycleMs);
  }

  show(layout) {
    if (this.renderer) {
      this.receivedBefore += this.renderer.received;
      this.renderer.destroy();
    }
    this.title.textContent = layout.title;
    const vars = {};
    for (const v of layout.variables || []) vars[v.name] = v.value ?? '';
    this.renderer = new DashboardRenderer(this.grid, layout, {
      windowMs: Math.min(parseDuration(layout.time || '15m') || 15 * 60e3, 60 * 60e3),
      vars,
      token: this.o.token,
      onAuthFailed: this.o.onAuthFailed,
      onState: (state, detail) => this.stateChanged(state, detail),
    });
    this.renderer.layout = layout;
  }

  stateChanged(state, detail) {
    const banner = $('kiosk-banner');
    if (state === 'reconnecting') {
      const s = detail && detail.delay ? Math.ceil(detail.delay / 1000) : 1;
      banner.textContent = `Reconnecting to the server… next attempt in ${s} s`;
      banner.hidden = false;
      banner.dataset.state = 'reconnecting';
    } else if (state === 'live') {
      if (this.state === 'reconnecting') this.reconnects += 1;
      banner.hidden = true;
      banner.dataset.state = 'live';
    }
    // A cycle step during an outage starts a new stream ("connecting"): the same outage.
    this.state = state === 'connecting' && this.state === 'reconnecting' ? 'reconnecting' : state;
  }

  /** Test/diagnostic figures: state, reconnects, samples messages received, points held. */
  status() {
    return {
      state: this.state,
      reconnects: this.reconnects,
      received: this.receivedBefore + (this.renderer ? this.renderer.received : 0),
      points: this.renderer ? this.renderer.points() : 0,
      backfilled: this.renderer ? this.renderer.backfilled || 0 : 0,
      title: this.title.textContent,
    };
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.cycleTimer);
    clearInterval(this.listTimer);
    document.removeEventListener('keydown', this.onKey);
    if (this.renderer) this.renderer.destroy();
    this.root.remove();
    $('kiosk-banner').hidden = true;
    document.body.classList.remove('kiosk');
  }
}
