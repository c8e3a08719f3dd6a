// SPDX-License-Identifier: Apache-2.0
// Reports view (#/reports; analyst, admin, superuser): pick a report type, a period (custom
// reports, or any report for a chosen period), the sections and the format, and download the
// file POST /api/v1/reports renders (docs/reports.md). The request goes through fetch with the
// session's token; the answer becomes a browser download named by the server's
// Content-Disposition. Server errors are shown as text, never as markup.

import { currentSession } from './session.js';
import { localInputToRfc3339, msToLocalInput, setStatus } from './ui.js';

const $ = (id) => document.getElementById(id);
const DAY_MS = 24 * 3600e3;

/** filename="..." of a Content-Disposition header, or the fallback. */
export function dispositionName(header, fallback) {
  const m = /filename="([^"\\/]+)"/.exec(header || '');
  return m ? m[1] : fallback;
}

export class ReportsView {
  /** @param {{onAuthFailed:(reason:string)=>void}} o */
  constructor(o) {
    this.o = o;
    this.busy = false;
    this.onSubmit = (ev) => {
      ev.preventDefault();
      this.download();
    };
    this.onType = () => this.syncPeriod();
    $('report-form').addEventListener('submit', this.onSubmit);
    $('report-type').addEventListener('change', this.onType);
    $('report-choose').addEventListener('change', this.onType);
    if (!$('report-from').value) {
      const now = Date.now();
      $('report-from').value = msToLocalInput(now - DAY_MS);
      $('report-to').value = msToLocalInput(now);
    }
    this.syncPeriod();
    setStatus($('report-status'), '');
  }

  stop() {
    $('report-form').removeEventListener('submit', this.onSubmit);
    $('report-type').removeEventListener('change', this.onType);
    $('report-choose').removeEventListener('change', this.onType);
  }

  /** Daily/weekly/monthly default to the last complete period unless "choose" is ticked. */
  syncPeriod() {
    const custom = $('report-type').value === 'custom';
    $('report-choose').disabled = custom;
    if (custom) $('report-choose').checked = true;
    const on = $('report-choose').checked;
    $('report-from').disabled = !on;
    $('report-to').disabled = !on;
  }

  /** The request body from the form, or a message naming what is missing. */
  body() {
    const b = { type: $('report-type').value, format: $('report-format').value };
    const sections = [...document.querySelectorAll('#report-sections input[type=checkbox]')]
      .filter((c) => c.checked).map((c) => c.value);
    if (!sections.length) return { error: 'Choose at least one section.' };
    b.sections = sections;
    if ($('report-choose').checked) {
      b.from = localInputToRfc3339($('report-from').value);
      b.to = localInputToRfc3339($('report-to').value);
      if (!b.from || !b.to) return { error: 'Enter the start and the end of the period.' };
    }
    return { body: b };
  }

  async download() {
    if (this.busy) return;
    const status = $('report-status');
    const { body, error } = this.body();
    if (error) {
      setStatus(status, error, 'error');
      return;
    }
    this.busy = true;
    $('report-submit').disabled = true;
    setStatus(status, 'Building the report…');
    try {
      const token = currentSession()?.token;
      const res = await fetch('/api/v1/reports', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      if (res.status === 401) {
        this.o.onAuthFailed('The server did not accept your session. Please sign in again.');
        return;
      }
      if (!res.ok) {
        let msg = `HTTP ${res.status}`;
        try {
          const j = await res.json();
          if (j && typeof j.error === 'string') msg = j.error;
        } catch {
          /* not JSON: keep the status */
        }
        setStatus(status, `The report was refused: ${msg}`, 'error');
        return;
      }
      const blob = await res.blob();
      const name = dispositionName(res.headers.get('Content-Disposition'), `omega-report.${body.format}`);
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      a.rel = 'noopener';
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60e3);
      setStatus(status, `Downloaded ${name} (${blob.size} bytes).`, 'ok');
    } catch {
      setStatus(status, 'Cannot reach the server.', 'error');
    } finally {
      this.busy = false;
      $('report-submit').disabled = false;
    }
  }
}
