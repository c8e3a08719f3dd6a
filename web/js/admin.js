// SPDX-License-Identifier: Apache-2.0
// Admin view (admin and superuser only; the router refuses it to other roles): the effective
// configuration from GET /api/v1/config, secrets already masked by the server, shown as text.

import { api } from './api.js';

const $ = (id) => document.getElementById(id);

export class AdminView {
  constructor() {
    this.load();
  }

  async load() {
    $('admin-status').textContent = 'Loading…';
    $('admin-config').textContent = '';
    try {
      const cfg = await api('/api/v1/config');
      $('admin-config').textContent = JSON.stringify(cfg, null, 2);
      $('admin-status').textContent = 'Read-only view; secrets are masked by the server.';
    } catch (e) {
      $('admin-status').textContent = e.absent
        ? 'The configuration endpoint is not available on this server yet.'
        : `Cannot load the configuration: ${e.message}`;
    }
  }

  stop() {
    $('admin-config').textContent = '';
  }
}
