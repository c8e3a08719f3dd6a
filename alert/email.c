/* SPDX-License-Identifier: Apache-2.0 */
/* E-mail notifications: a multipart/alternative message (text and HTML) sent over SMTP with
 * libcurl: smtps:// is TLS from the start, smtp:// upgrades with STARTTLS when the server
 * offers it, AUTH when a username is configured. */
#include "alert_int.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "omega/buf.h"

typedef struct reader {
    const char *data; /* message bytes */
    size_t len, off;  /* length and read position */
} reader_t;

static size_t read_msg(char *p, size_t size, size_t n, void *ctx)
{
    reader_t *r = ctx;
    size_t want = size * n, left = r->len - r->off;
    if (want > left)
        want = left;
    memcpy(p, r->data + r->off, want);
    r->off += want;
    return want;
}

/* A header value: as is when printable ASCII, else RFC 2047 base64 UTF-8. */
static void put_header_text(omega_buf_t *b, const char *s)
{
    int plain = 1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p > 0x7e)
            plain = 0;
    if (plain) {
        omega_buf_puts(b, s);
        return;
    }
    size_t n = strlen(s);
    if (n > 2000)
        n = 2000;
    unsigned char *enc = omega_malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock(enc, (const unsigned char *)s, (int)n);
    omega_buf_printf(b, "=?UTF-8?B?%s?=", enc);
    free(enc);
}

/* Text with CRLF line ends (SMTP's), HTML-escaped when html is set. */
static void put_body(omega_buf_t *b, const char *s, int html)
{
    for (; *s; s++) {
        if (*s == '\n')
            omega_buf_puts(b, html ? "<br>\r\n" : "\r\n");
        else if (*s == '\r')
            continue;
        else if (html && *s == '<')
            omega_buf_puts(b, "&lt;");
        else if (html && *s == '>')
            omega_buf_puts(b, "&gt;");
        else if (html && *s == '&')
            omega_buf_puts(b, "&amp;");
        else
            omega_buf_append(b, s, 1);
    }
    omega_buf_puts(b, "\r\n");
}

static char *build_message(json_t *cfg, const char *subject, const char *text)
{
    omega_buf_t b;
    omega_buf_init(&b, 0);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    const char *from = json_string_value(json_object_get(cfg, "from"));
    omega_buf_printf(&b, "Date: %s\r\nFrom: %s\r\nTo: ", date, from);
    size_t i;
    json_t *to;
    json_array_foreach(json_object_get(cfg, "to"), i, to)
        omega_buf_printf(&b, "%s%s", i ? ", " : "", json_string_value(to));
    omega_buf_puts(&b, "\r\nSubject: ");
    put_header_text(&b, subject);
    char boundary[64];
    snprintf(boundary, sizeof(boundary), "omega-%llx", (unsigned long long)omega_mono_ns());
    omega_buf_printf(&b,
                     "\r\nMessage-ID: <%s@omega-monitor>\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n",
                     boundary, boundary);
    omega_buf_printf(&b,
                     "--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n\r\n",
                     boundary);
    put_body(&b, text, 0);
    omega_buf_printf(&b,
                     "--%s\r\nContent-Type: text/html; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n\r\n<html><body><h3>",
                     boundary);
    put_body(&b, subject, 1);
    omega_buf_puts(&b, "</h3><p style=\"font-family:monospace\">\r\n");
    put_body(&b, text, 1);
    omega_buf_printf(&b, "</p></body></html>\r\n--%s--\r\n", boundary);
    return omega_buf_take(&b, NULL);
}

int email_send(const channel_t *c, const char *subject, const char *text, int64_t timeout_ms,
               omega_error_t *err)
{
    CURL *h = curl_easy_init();
    if (!h)
        return omega_error_set(err, OMEGA_EIO, "cannot create an SMTP client");
    json_t *cfg = c->config;
    char *msg = build_message(cfg, subject, text);
    reader_t r = {msg, strlen(msg), 0};
    struct curl_slist *rcpt = NULL;
    size_t i;
    json_t *to;
    json_array_foreach(json_object_get(cfg, "to"), i, to) rcpt =
        curl_slist_append(rcpt, json_string_value(to));
    const char *url = json_string_value(json_object_get(cfg, "smtp_url"));
    const char *user = json_string_value(json_object_get(cfg, "username"));
    const char *pass = json_string_value(json_object_get(cfg, "password"));
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    deliver_watch_cancel(h, c);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, json_string_value(json_object_get(cfg, "from")));
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
    if (user && *user) {
        curl_easy_setopt(h, CURLOPT_USERNAME, user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, pass ? pass : "");
    }
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_msg);
    curl_easy_setopt(h, CURLOPT_READDATA, &r);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    CURLcode cc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(h);
    free(msg);
    if (cc == CURLE_OK)
        return 0;
    if (cc == CURLE_ABORTED_BY_CALLBACK)
        return omega_error_set(err, OMEGA_EAGAIN, "%s: interrupted by shutdown", url);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        return omega_error_set(err, OMEGA_ETIMEDOUT, "%s: no answer within %lld ms", url,
                               (long long)timeout_ms);
    return omega_error_set(err, OMEGA_EIO, "%s: %s (SMTP %ld)", url, curl_easy_strerror(cc), code);
}
