/* SPDX-License-Identifier: Apache-2.0 */
/* Checks on the regular expressions of label matchers before anything compiles them for
 * real: length, no backreferences, RE2's repetition limits (so a hostile regex cannot make
 * glibc spend seconds and gigabytes), then a trial compile; and whether a matcher accepts
 * the empty string (Prometheus' "at least one non-empty matcher" rule). */
#include "query_int.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the bracket expression starting at re ('['), so it is skipped whole. */
static size_t bracket_len(const char *re)
{
    size_t i = 1;
    if (re[i] == '^')
        i++;
    if (re[i] == ']')
        i++;
    while (re[i] && re[i] != ']')
        i++;
    return re[i] ? i + 1 : i;
}

/* RE2's rule against exponential compiles: a counted repetition ({n}, {m,n}) may not exceed
 * 1000, nor may the product of nested counted repetitions ("((a{100}){100}){100}" would take
 * glibc seconds and gigabytes). Returns 0 when within limits. */
int query_regex_repetition_ok(const char *re)
{
    long inner[QUERY_MAX_DEPTH + 1] = {1}; /* largest product inside each open group */
    int depth = 0;
    long last = 1; /* product carried by the atom just read */
    for (size_t i = 0; re[i]; i++) {
        char c = re[i];
        if (c == '\\' && re[i + 1]) {
            i++;
            last = 1;
        } else if (c == '[') {
            i += bracket_len(re + i) - 1;
            last = 1;
        } else if (c == '(') {
            if (depth == QUERY_MAX_DEPTH)
                return -1;
            inner[++depth] = 1;
        } else if (c == ')' && depth > 0) {
            last = inner[depth--];
            if (last > inner[depth])
                inner[depth] = last;
        } else if (c == '{') {
            char *end;
            long m = strtol(re + i + 1, &end, 10), n = m;
            if (*end == ',')
                n = isdigit((unsigned char)end[1]) ? strtol(end + 1, &end, 10) : (end++, m);
            if (*end != '}')
                continue; /* a literal brace */
            long count = n > m ? n : m;
            if (count > 1000 || count * last > 1000)
                return -1;
            last *= count > 0 ? count : 1;
            if (last > inner[depth])
                inner[depth] = last;
            i = (size_t)(end - re);
        } else {
            last = 1;
        }
    }
    return 0;
}

static regex_t *compile_anchored(const char *re, regex_t *rx, int *rc)
{
    size_t l = strlen(re);
    char *anchored = omega_malloc(l + 5);
    snprintf(anchored, l + 5, "^(%s)$", re);
    *rc = regcomp(rx, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    return *rc == 0 ? rx : NULL;
}

int query_regex_check(const char *re, char *why, size_t len)
{
    if (strlen(re) > QUERY_MAX_REGEX) {
        snprintf(why, len, "regular expression longer than %d bytes", QUERY_MAX_REGEX);
        return OMEGA_EINVAL;
    }
    for (const char *s = re; *s; s++) {
        if (s[0] == '\\' && s[1] >= '1' && s[1] <= '9') {
            snprintf(why, len, "invalid regular expression: backreferences are not supported");
            return OMEGA_EINVAL;
        }
        if (s[0] == '\\' && s[1])
            s++;
    }
    if (query_regex_repetition_ok(re) != 0) {
        snprintf(why, len,
                 "invalid regular expression: repetition count over 1000 (nested "
                 "counts multiply)");
        return OMEGA_EINVAL;
    }
    regex_t rx;
    int rc;
    if (!compile_anchored(re, &rx, &rc)) {
        char msg[100];
        regerror(rc, &rx, msg, sizeof(msg));
        snprintf(why, len, "invalid regular expression \"%.40s\": %s", re, msg);
        return OMEGA_EINVAL;
    }
    regfree(&rx);
    return 0;
}

int query_matcher_matches_empty(const omega_matcher_t *m)
{
    if (m->op == OMEGA_MATCH_EQ)
        return m->value[0] == '\0';
    if (m->op == OMEGA_MATCH_NE)
        return m->value[0] != '\0';
    regex_t rx;
    int rc;
    int ok = compile_anchored(m->value, &rx, &rc) != NULL;
    int hit = ok && regexec(&rx, "", 0, NULL, 0) == 0;
    if (ok)
        regfree(&rx);
    return m->op == OMEGA_MATCH_RE ? hit : !hit;
}
