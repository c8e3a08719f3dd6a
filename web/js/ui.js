// SPDX-License-Identifier: Apache-2.0
// Small DOM helpers for the admin and alerts views: elements built with text content only
// (never innerHTML, so server strings stay inert), tables, and date formatting.

/**
 * Create an element. attrs: plain attributes, plus `text` (textContent), `on` ({event: fn}),
 * `props` (assigned as properties, e.g. checked, value). Children: nodes or strings (as text).
 */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = String(v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k === 'props') Object.assign(e, v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** A table: head is a list of column titles, rows a list of arrays of cells (node or text). */
export function table(head, rows, cls = 'data-table') {
  return el('table', { class: cls },
    el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col', text: h })))),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c))))));
}

/** RFC 3339 / ms -> local "YYYY-MM-DD HH:MM:SS" ('' for empty, the input for unparsable). */
export function fmtTime(t) {
  if (t === null || t === undefined || t === '') return '';
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) return String(t);
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** value of a datetime-local input -> RFC 3339 UTC, or undefined when empty/invalid. */
export function localInputToRfc3339(v) {
  if (!v) return undefined;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** ms -> value for a datetime-local input (local time, minutes). */
export function msToLocalInput(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Replace the children of node with the given ones. */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/** A status line setter: msg text, kind '' | 'error' | 'ok'. */
export function setStatus(node, msg, kind = '') {
  node.textContent = msg;
  node.dataset.kind = kind;
}
