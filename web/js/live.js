// SPDX-License-Identifier: Apache-2.0
// Live stream client for GET /api/v1/live (subprotocol omega-live.v1): authenticates with
// ?token=, sends one subscribe per query on every (re)connect, hands parsed server messages
// to the caller, and reconnects with jittered exponential backoff (1 s .. 30 s).
// When the session's token is renewed (TOKEN_EVENT) an open socket re-authenticates with an
// auth message before the server would close it for expiry. Close code 4401 (auth failed)
// is reported instead of retried, unless the token changed meanwhile (then: reconnect).

import { TOKEN_EVENT } from './session.js';

export const SUBPROTOCOL = 'omega-live.v1';
export const CLOSE_AUTH_FAILED = 4401;
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30000;

/** Absolute ws:/wss: URL for a path on this origin. */
export function wsURL(path) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

/** Delay before reconnect attempt n (0-based): doubling from 1 s, capped at 30 s, +-20 % jitter. */
export function backoffDelay(n) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(n, 16));
  const jittered = base * (0.8 + 0.4 * Math.random());
  return Math.round(Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, jittered)));
}

export class LiveStream {
  /**
   * @param {object} o
   * @param {() => string|null} o.token        current token (null: session gone -> onAuthFailed)
   * @param {Array<{id:string,query:string,interval_ms:number}>} o.subscriptions
   * @param {(state:string, detail?:object) => void} o.onState  'connecting'|'live'|'reconnecting'
   * @param {(msg:object) => void} o.onMessage  every parsed server message
   * @param {(reason:string) => void} o.onAuthFailed  4401 close or no token
   */
  constructor(o) {
    this.o = o;
    this.ws = null;
    this.timer = 0;
    this.attempt = 0;
    this.stopped = true;
    this.usedToken = null; // the token the socket authenticated with
    this.onToken = (ev) => this.reauth(ev.detail && ev.detail.token);
  }

  start() {
    this.stopped = false;
    this.attempt = 0;
    window.addEventListener(TOKEN_EVENT, this.onToken);
    this.connect('connecting');
  }

  /** Present a renewed token on the open socket (a connecting one reconnects on 4401). */
  reauth(token) {
    if (this.stopped || !token || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify({ type: 'auth', token }));
    this.usedToken = token;
  }

  stop() {
    this.stopped = true;
    window.removeEventListener(TOKEN_EVENT, this.onToken);
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      if (ws.readyState <= WebSocket.OPEN) ws.close(1000, 'bye');
    }
  }

  connect(state) {
    const token = this.o.token();
    if (!token) {
      this.stop();
      this.o.onAuthFailed('Your session has expired. Please sign in again.');
      return;
    }
    this.o.onState(state);
    const ws = new WebSocket(wsURL(`/api/v1/live?token=${encodeURIComponent(token)}`), SUBPROTOCOL);
    this.ws = ws;
    this.usedToken = token;
    let heard = false;
    ws.onopen = () => {
      for (const s of this.o.subscriptions) ws.send(JSON.stringify({ type: 'subscribe', ...s }));
      this.o.onState('live');
    };
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return; // not ours to interpret; the protocol is JSON only
      }
      if (!heard) {
        heard = true; // the server answers: the connection is healthy, start backoff afresh
        this.attempt = 0;
      }
      if (msg && typeof msg === 'object') this.o.onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws || this.stopped) return;
      this.ws = null;
      const renewed = this.o.token();
      if (ev.code === CLOSE_AUTH_FAILED && renewed && renewed !== this.usedToken) {
        this.connect('reconnecting'); // the token was renewed under it: the new one is fine
        return;
      }
      if (ev.code === CLOSE_AUTH_FAILED) {
        this.stopped = true;
        const why = ev.reason ? ` (${ev.reason})` : '';
        this.o.onAuthFailed(`The server did not accept your session${why}. Please sign in again.`);
        return;
      }
      const delay = backoffDelay(this.attempt);
      this.attempt += 1;
      this.o.onState('reconnecting', { delay, code: ev.code });
      this.timer = setTimeout(() => this.connect('reconnecting'), delay);
    };
  }
}
