// SPDX-License-Identifier: Apache-2.0
// Hash router: "#/<view>[/<arg>][?k=v...]" -> {view, arg, params}. Routes flagged admin
// are refused (and their nav links hidden) unless the session's role is admin or superuser;
// routes flagged export likewise unless it is analyst, admin or superuser.
// The "?kiosk=1" flag of the page URL is honoured as "#/kiosk".

const ADMIN_ROLES = new Set(['admin', 'superuser']);
const EDIT_ROLES = new Set(['developer', 'analyst', 'admin', 'superuser']);
const EXPORT_ROLES = new Set(['analyst', 'admin', 'superuser']);

/** May this role open admin views? */
export const isAdminRole = (role) => ADMIN_ROLES.has(role);
/** May this role save shared dashboards? (API.md: developer, analyst, admin, superuser) */
export const canEditRole = (role) => EDIT_ROLES.has(role);
/** May this role export reports? (API.md: analyst, admin, superuser) */
export const canExportRole = (role) => EXPORT_ROLES.has(role);

/** Parse a location hash. Unknown or empty hashes give view ''. */
export function parseHash(hash) {
  const h = String(hash || '').replace(/^#\/?/, '');
  const [pathPart, queryPart = ''] = h.split('?');
  const segs = pathPart.split('/').filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { view: segs[0] || '', arg: segs[1] || '', params: new URLSearchParams(queryPart) };
}

export class Router {
  /**
   * @param {object} o
   * @param {Record<string,{admin?:boolean}>} o.routes   known views
   * @param {string} o.fallback                          view for '' and unknown hashes
   * @param {() => string|null} o.role                   current role (null: signed out)
   * @param {(route:{view:string,arg:string,params:URLSearchParams}) => void} o.show
   * @param {(view:string) => void} o.denied             an admin view asked by a non-admin
   */
  constructor(o) {
    this.o = o;
    this.onChange = () => this.dispatch();
  }

  start() {
    if (new URLSearchParams(location.search).get('kiosk') === '1' && !location.hash.startsWith('#/kiosk')) {
      history.replaceState(null, '', `${location.pathname}${location.search}#/kiosk`);
    }
    window.addEventListener('hashchange', this.onChange);
    this.dispatch();
  }

  stop() {
    window.removeEventListener('hashchange', this.onChange);
  }

  current() {
    return parseHash(location.hash);
  }

  dispatch() {
    const route = this.current();
    const def = this.o.routes[route.view];
    if (!def) {
      history.replaceState(null, '', `#/${this.o.fallback}`);
      this.o.show({ view: this.o.fallback, arg: '', params: new URLSearchParams() });
      return;
    }
    if ((def.admin && !isAdminRole(this.o.role())) || (def.export && !canExportRole(this.o.role()))) {
      this.o.denied(route.view);
      return;
    }
    this.o.show(route);
  }

  /** Navigate (adds a history entry; dispatch follows from hashchange). */
  go(hash) {
    if (location.hash === hash) this.dispatch();
    else location.hash = hash;
  }
}
