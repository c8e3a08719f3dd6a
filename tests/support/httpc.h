/* SPDX-License-Identifier: Apache-2.0 */
/* A deliberately small HTTP/1.1 and WebSocket client over raw loopback sockets, so tests
 * can send exactly the bytes they mean (truncated, oversized, malformed) to the real server,
 * plus helpers to start and stop the real omega-monitor binary. */
#ifndef OMEGA_HTTPC_H
#define OMEGA_HTTPC_H

#include <stddef.h>
#include <sys/types.h>

typedef struct httpc_resp {
    int status;      /* HTTP status, 0 when no response could be read */
    char *headers;   /* raw header block, lower-cased names */
    char *body;      /* NUL-terminated body */
    size_t body_len; /* bytes in body */
} httpc_resp_t;

/* Send one request (extra_headers: "Name: value\r\n" lines or NULL) and read the response
 * (Content-Length framed). Returns 0 or -1 on a socket error / timeout (10 s). */
int httpc_request(int port, const char *method, const char *path, const char *extra_headers,
                  const char *body, size_t body_len, httpc_resp_t *out);
/* Send raw bytes and read one response. */
int httpc_raw(int port, const char *raw, size_t len, httpc_resp_t *out);
/* Send raw bytes on a new connection and read until the server closes it (5 s without
 * data ends the read too). *out: everything read, NUL-terminated, malloc'd. Returns 0, or
 * -1 when the connection cannot be made. */
int httpc_raw_until_close(int port, const char *raw, size_t len, char **out);
void httpc_resp_free(httpc_resp_t *r);
/* Value of header `name` (lower-case) copied into buf, or NULL. */
const char *httpc_header(const httpc_resp_t *r, const char *name, char *buf, size_t len);
/* Percent-encode s for a URL query into out (len bytes, always NUL-terminated): ASCII
 * letters, digits and "_-." stay, every other byte becomes %XX; stops early rather than
 * overflow. Returns out. */
char *httpc_urlencode(const char *s, char *out, size_t len);

typedef struct wsc {
    int fd;        /* socket, -1 when closed */
    char *pending; /* bytes read past the handshake */
    size_t npending;
    int pings;   /* pings received by wsc_recv */
    int no_pong; /* set by the caller after connecting: pings are not answered */
    int eof;     /* 1 once the server closed the connection (or it failed) */
} wsc_t;

/* Open a WebSocket to path (with query) offering subprotocol. Returns the HTTP status of the
 * handshake (101 on success) or -1. */
int wsc_connect(wsc_t *c, int port, const char *path, const char *subprotocol);
int wsc_send_text(wsc_t *c, const char *text);
/* Receive one frame within timeout_ms. Returns the opcode (1 text, 8 close, ...) with a
 * malloc'd NUL-terminated payload in *payload, or -1 on timeout/EOF (c->eof tells them
 * apart). For a close frame *close_code gets the status code. Pings are counted in c->pings
 * and answered automatically unless c->no_pong is set. */
int wsc_recv(wsc_t *c, int timeout_ms, char **payload, size_t *len, int *close_code);
void wsc_close(wsc_t *c);

/* Start build/omega-monitor serve with extra environment entries ("K=V", NULL-terminated),
 * stdout/stderr to log_path; waits (<= 30 s) until /healthz answers. Returns the pid or -1. */
pid_t server_start(int port, const char *data_dir, const char *log_path, char *const extra_env[]);
/* SIGTERM, wait (<= 30 s, then SIGKILL); returns the exit status (0..255), 128+sig if
 * killed by a signal, or -1. */
int server_stop(pid_t pid);

#endif
