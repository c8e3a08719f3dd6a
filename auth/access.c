/* SPDX-License-Identifier: Apache-2.0 */
/* The permission model: API.md's RBAC table as data, adjusted by security.access_control
 * (enable_rbac, admin_roles, viewer_roles, carried in the handle's options), and API key
 * scopes.
 * Which route or WebSocket message needs which permission is declared by server/. */
#include "auth_int.h"

#include <string.h>

static const char *const perm_names[OMEGA_PERM_COUNT] = {
    [OMEGA_PERM_PUBLIC] = "public",
    [OMEGA_PERM_AUTHENTICATED] = "authenticated",
    [OMEGA_PERM_READ] = "read",
    [OMEGA_PERM_INGEST] = "ingest",
    [OMEGA_PERM_ACK] = "ack",
    [OMEGA_PERM_EXPORT] = "export",
    [OMEGA_PERM_DASHBOARD_SAVE] = "dashboard_save",
    [OMEGA_PERM_ADMIN] = "admin",
    [OMEGA_PERM_SUPERUSER] = "superuser",
};

#define P(x) (1u << (unsigned)(OMEGA_PERM_##x))

/* API.md's table: the permissions of each role's own column. */
static const unsigned table[] = {
    [OMEGA_ROLE_VIEWER] = P(READ),
    [OMEGA_ROLE_DEVELOPER] = P(READ) | P(INGEST) | P(ACK) | P(DASHBOARD_SAVE),
    [OMEGA_ROLE_ANALYST] = P(READ) | P(EXPORT) | P(DASHBOARD_SAVE),
    [OMEGA_ROLE_ADMIN] = P(READ) | P(INGEST) | P(ACK) | P(EXPORT) | P(DASHBOARD_SAVE) | P(ADMIN),
    [OMEGA_ROLE_SUPERUSER] =
        P(READ) | P(INGEST) | P(ACK) | P(EXPORT) | P(DASHBOARD_SAVE) | P(ADMIN) | P(SUPERUSER),
};

const char *omega_perm_name(omega_perm_t perm)
{
    if ((int)perm < 0 || (int)perm >= OMEGA_PERM_COUNT)
        return NULL;
    return perm_names[perm];
}

/* The permission bits role holds under the options' role lists. */
static unsigned role_perms(const omega_auth_options_t *o, omega_role_t role)
{
    unsigned bit = OMEGA_ROLE_BIT(role);
    /* Superuser always holds everything: a config edit must not lock out the one account
     * that can repair it. */
    if (role == OMEGA_ROLE_SUPERUSER)
        return table[OMEGA_ROLE_SUPERUSER];
    /* Roles not enforced: every signed-in user administers, but the security operations
     * (audit log, key rotation, erasure, superuser accounts) stay with superusers. */
    if (!o->rbac)
        return table[OMEGA_ROLE_ADMIN];
    if (o->admin_roles & bit)
        return table[OMEGA_ROLE_ADMIN];
    if (o->viewer_roles & bit)
        return table[role] & ~P(ADMIN);
    return P(READ);
}

int omega_auth_role_allows(const omega_auth_t *a, omega_role_t role, omega_perm_t perm)
{
    if ((int)perm < 0 || (int)perm >= OMEGA_PERM_COUNT || !omega_role_name(role))
        return 0;
    if (perm == OMEGA_PERM_PUBLIC || perm == OMEGA_PERM_AUTHENTICATED)
        return 1;
    return (role_perms(&a->opts, role) & (1u << (unsigned)perm)) != 0;
}

int omega_auth_allows(const omega_auth_t *a, const omega_principal_t *who, omega_perm_t perm)
{
    if (!who->is_api_key)
        return omega_auth_role_allows(a, who->role, perm);
    switch (perm) {
    case OMEGA_PERM_PUBLIC:
    case OMEGA_PERM_AUTHENTICATED:
        return 1;
    case OMEGA_PERM_READ:
        return (who->scopes & OMEGA_SCOPE_READ) != 0;
    case OMEGA_PERM_INGEST:
        return (who->scopes & OMEGA_SCOPE_INGEST) != 0;
    default:
        return 0;
    }
}

omega_role_t omega_auth_default_role(const omega_auth_t *a)
{
    return a->opts.default_role;
}
