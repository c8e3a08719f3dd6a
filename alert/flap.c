/* SPDX-License-Identifier: Apache-2.0 */
/* Flap detection: an alert whose state keeps changing between firing and resolved (a
 * condition hovering around a threshold that hysteresis and `for` did not settle) is marked
 * flapping, and its firing notifications are held back until it calms down (Nagios'
 * discipline, with fixed thresholds: docs/alerting.md "Noise control"). */
#include "alert_int.h"

/* Changes counted within the last FLAP_WINDOW_MS: flapping starts at FLAP_HIGH of them and
 * ends when no more than FLAP_LOW remain in the window. */
#define FLAP_WINDOW_MS (10 * 60 * 1000)
#define FLAP_HIGH      6
#define FLAP_LOW       2

_Static_assert(FLAP_KEEP >= FLAP_HIGH, "the ring must hold enough changes to start flapping");

void flap_record(alert_t *a, int64_t now_ms)
{
    a->flips[a->n_flips % FLAP_KEEP] = now_ms;
    a->n_flips++;
}

/* Changes within the window ending at now_ms. */
static unsigned flips_in_window(const alert_t *a, int64_t now_ms)
{
    unsigned n = 0, kept = a->n_flips < FLAP_KEEP ? a->n_flips : FLAP_KEEP;
    for (unsigned i = 0; i < kept; i++)
        n += now_ms - a->flips[i] < FLAP_WINDOW_MS;
    return n;
}

void flap_update(omega_alert_engine_t *e, const rule_t *r, alert_t *a, int64_t now_ms)
{
    if (!a->n_flips)
        return;
    unsigned n = flips_in_window(a, now_ms);
    int flapping = a->flapping ? n > FLAP_LOW : n >= FLAP_HIGH;
    if (flapping == a->flapping)
        return;
    a->flapping = flapping;
    a->dirty = 1;
    history_add(e, r, a, "flapping", flapping ? "started" : "ended", now_ms);
}
