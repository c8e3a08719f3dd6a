/* SPDX-License-Identifier: Apache-2.0 */
/* Table tests of omega_pii_mask(): what each detector masks, what it must leave alone
 * (PIDs, dates, times, versions, MAC addresses, long counters, words that merely contain
 * an "@"), kind selection, and hostile input (huge, binary, truncated); and of
 * omega_pii_label_cb(), ingest's hook for free-text labels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "omega/auth.h"

static const struct {
    const char *in;
    const char *out;
    unsigned found;
} cases[] = {
    /* e-mail */
    {"mail alice@example.org now", "mail [EMAIL] now", OMEGA_PII_EMAIL},
    {"--to=first.last+tag@sub.example-1.co.uk,", "--to=[EMAIL],", OMEGA_PII_EMAIL},
    {"<bob@example.com>", "<[EMAIL]>", OMEGA_PII_EMAIL},
    {"git@github", "git@github", 0},
    {"user@localhost", "user@localhost", 0},
    {"a@b.c", "a@b.c", 0},
    {"foo@1.2", "foo@1.2", 0},
    {"@example.org", "@example.org", 0},
    /* IPv4 */
    {"ssh 192.0.2.10 -p 22", "ssh [IPV4] -p 22", OMEGA_PII_IPV4},
    {"http://10.0.0.1:8080/x", "http://[IPV4]:8080/x", OMEGA_PII_IPV4},
    {"addr:172.16.5.4", "addr:[IPV4]", OMEGA_PII_IPV4},
    {"version 1.2.3.4.5", "version 1.2.3.4.5", 0},
    {"256.1.1.1", "256.1.1.1", 0},
    {"1.2.3", "1.2.3", 0},
    {"v1.2.3.4", "v1.2.3.4", 0},
    {"01.2.3.4", "01.2.3.4", 0},
    /* IPv6 */
    {"bind [2001:db8::1]:443", "bind [[IPV6]]:443", OMEGA_PII_IPV6},
    {"fe80::1ff:fe23:4567:890a%eth0", "[IPV6]%eth0", OMEGA_PII_IPV6},
    {"::1 up", "[IPV6] up", OMEGA_PII_IPV6},
    {"2001:0db8:85a3:0000:0000:8a2e:0370:7334", "[IPV6]", OMEGA_PII_IPV6},
    {"at 12:30:45", "at 12:30:45", 0},
    {"mac aa:bb:cc:dd:ee:ff", "mac aa:bb:cc:dd:ee:ff", 0},
    {"1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8:9", 0},
    {"std::vector", "std::vector", 0},
    /* phone */
    {"call +44 20 7946 0958 today", "call [PHONE] today", OMEGA_PII_PHONE},
    {"tel=+1-202-555-0143", "tel=[PHONE]", OMEGA_PII_PHONE},
    {"(555) 123-4567", "[PHONE]", OMEGA_PII_PHONE},
    {"555-123-4567", "[PHONE]", OMEGA_PII_PHONE},
    {"555.123.4567", "[PHONE]", OMEGA_PII_PHONE},
    {"2024-01-02", "2024-01-02", 0},
    {"pid 123456789", "pid 123456789", 0},
    {"+12", "+12", 0},
    {"555-123-45678", "555-123-45678", 0},
    {"555-123.4567", "555-123.4567", 0},
    /* cards */
    {"card 4111 1111 1111 1111 exp", "card [CARD] exp", OMEGA_PII_CARD},
    {"4111-1111-1111-1111", "[CARD]", OMEGA_PII_CARD},
    {"5500005555555559", "[CARD]", OMEGA_PII_CARD},
    {"378282246310005", "[CARD]", OMEGA_PII_CARD},
    {"4111111111111112", "4111111111111112", 0},       /* Luhn fails */
    {"1700000000000000000", "1700000000000000000", 0}, /* a nanosecond timestamp */
    {"41111111111", "41111111111", 0},                 /* too short */
    /* home paths */
    {"/home/alice/.ssh/id_rsa", "/home/[USER]/.ssh/id_rsa", OMEGA_PII_HOME},
    {"cd /Users/Bob.Smith", "cd /Users/[USER]", OMEGA_PII_HOME},
    {"C:\\Users\\carol\\x", "C:\\Users\\[USER]\\x", OMEGA_PII_HOME},
    {"/home/", "/home/", 0},
    {"/homework/x", "/homework/x", 0},
    /* mixed */
    {"rsync /home/dan/f dan@example.org:/srv 10.1.2.3", "rsync /home/[USER]/f [EMAIL]:/srv [IPV4]",
     OMEGA_PII_HOME | OMEGA_PII_EMAIL | OMEGA_PII_IPV4},
    {"", "", 0},
    {"nothing to see", "nothing to see", 0},
};

static void test_mask_table(void **state)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned found = 99;
        char *out = omega_pii_mask(cases[i].in, OMEGA_PII_ALL, &found);
        if (strcmp(out, cases[i].out) != 0 || found != cases[i].found)
            fail_msg("case %zu \"%s\": got \"%s\" (found %u), want \"%s\" (found %u)", i,
                     cases[i].in, out, found, cases[i].out, cases[i].found);
        free(out);
    }
}

static void test_kind_selection(void **state)
{
    const char *in = "alice@example.org 10.0.0.1 /home/alice";
    unsigned found = 0;
    char *out = omega_pii_mask(in, OMEGA_PII_IPV4, &found);
    assert_string_equal(out, "alice@example.org [IPV4] /home/alice");
    assert_int_equal(found, OMEGA_PII_IPV4);
    free(out);
    out = omega_pii_mask(in, 0, &found);
    assert_string_equal(out, in);
    assert_int_equal(found, 0);
    free(out);
    out = omega_pii_mask(NULL, OMEGA_PII_ALL, NULL);
    assert_string_equal(out, "");
    free(out);
}

static void test_hostile_input(void **state)
{
    /* Large input of near-misses: linear scan, no overrun (ASan), output no longer. */
    size_t n = 1 << 20;
    char *big = malloc(n + 1);
    const char pat[] = "1.2.3.4.5:aa:@x+1-(555) ";
    for (size_t i = 0; i < n; i++)
        big[i] = pat[i % (sizeof(pat) - 1)];
    big[n] = '\0';
    char *out = omega_pii_mask(big, OMEGA_PII_ALL, NULL);
    assert_true(strlen(out) <= n);
    free(out);
    free(big);
    /* Binary bytes and truncated items at the very end. */
    const char *ends[] = {"\xff\xfe\x80 a@",    "10.0.0.", "2001:db8::", "+44 20",   "(555) 123-",
                          "4111 1111 1111 111", "/home/",  "x@example.", "\\Users\\"};
    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        out = omega_pii_mask(ends[i], OMEGA_PII_ALL, NULL);
        assert_non_null(out);
        assert_true(strlen(out) <= strlen(ends[i]) + 8);
        free(out);
    }
}

/* The ingest hook: only the listed free-text labels are touched, and only when something
 * was found (NULL keeps the value as stored). */
static void test_label_hook_table(void **state)
{
    static const char *const names[] = {"note", "comment"};
    omega_pii_labels_t pl = {names, 2, OMEGA_PII_ALL};
    static const struct {
        const char *name, *value, *out; /* out NULL: value kept */
    } rows[] = {
        {"note", "ask carol@example.org", "ask [EMAIL]"},
        {"comment", "from 10.1.2.3 and 2001:db8::7", "from [IPV4] and [IPV6]"},
        {"note", "call +44 20 7946 0958", "call [PHONE]"},
        {"note", "paid with 4111 1111 1111 1111", "paid with [CARD]"},
        {"comment", "core in /home/dave/core.1", "core in /home/[USER]/core.1"},
        {"note", "nothing personal here", NULL},
        {"note", "", NULL},
        {"host", "carol@example.org", NULL},  /* not a free-text label */
        {"notes", "carol@example.org", NULL}, /* names compare exactly */
        {"Note", "carol@example.org", NULL},
        {"instance", "10.1.2.3:9100", NULL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char *got = omega_pii_label_cb(&pl, rows[i].name, rows[i].value);
        if (!rows[i].out ? got != NULL : !got || strcmp(got, rows[i].out) != 0)
            fail_msg("row %zu %s=\"%s\": got %s%s%s, want %s", i, rows[i].name, rows[i].value,
                     got ? "\"" : "", got ? got : "NULL", got ? "\"" : "",
                     rows[i].out ? rows[i].out : "NULL");
        free(got);
    }
    /* Kinds narrow what is masked; an empty list touches nothing. */
    pl.kinds = OMEGA_PII_EMAIL;
    char *got = omega_pii_label_cb(&pl, "note", "carol@example.org on 10.1.2.3");
    assert_string_equal(got, "[EMAIL] on 10.1.2.3");
    free(got);
    assert_null(omega_pii_label_cb(&pl, "note", "only 10.1.2.3"));
    pl.n = 0;
    assert_null(omega_pii_label_cb(&pl, "note", "carol@example.org"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_table),
        cmocka_unit_test(test_kind_selection),
        cmocka_unit_test(test_hostile_input),
        cmocka_unit_test(test_label_hook_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
