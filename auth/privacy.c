/* SPDX-License-Identifier: Apache-2.0 */
/* The consent record of security.privacy_settings.user_consent_required: whether an
 * administrator recorded consent to collect and show per-user process data (owners and
 * command lines), who did and when. Kept in OMEGA_KV_META under "privacy/consent"; acting
 * on it (withholding the data) is the caller's job. */
#include "auth_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONSENT_KV "privacy/consent"

int omega_auth_consent_get(omega_auth_t *a, omega_consent_t *out, omega_error_t *err)
{
    memset(out, 0, sizeof(*out));
    char *val = NULL;
    size_t vlen = 0;
    int rc = omega_kv_get(a->db, OMEGA_KV_META, CONSENT_KV, strlen(CONSENT_KV), &val, &vlen, err);
    if (rc == OMEGA_ENOENT)
        return 0; /* never recorded: not granted */
    if (rc != 0)
        return rc;
    json_t *o = json_loadb(val, vlen, 0, NULL);
    free(val);
    json_t *g = json_object_get(o, "granted");
    const char *by = json_string_value(json_object_get(o, "by"));
    json_t *at = json_object_get(o, "at");
    if (!json_is_boolean(g) || !by || !json_is_integer(at)) {
        json_decref(o);
        return omega_error_set(err, OMEGA_ECORRUPT, "stored consent record is corrupt");
    }
    out->granted = json_is_true(g);
    snprintf(out->by, sizeof(out->by), "%s", by);
    out->at_ms = json_integer_value(at);
    json_decref(o);
    return 0;
}

int omega_auth_consent_set(omega_auth_t *a, int granted, const char *by, omega_error_t *err)
{
    if (!by || !omega_auth_username_valid(by))
        return omega_error_set(err, OMEGA_EINVAL, "consent must be recorded by a known user");
    json_t *o = json_pack("{s:b, s:s, s:I}", "granted", granted != 0, "by", by, "at",
                          (json_int_t)omega_now_ms());
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    int rc =
        omega_kv_put(a->db, OMEGA_KV_META, CONSENT_KV, strlen(CONSENT_KV), text, strlen(text), err);
    free(text);
    return rc;
}
