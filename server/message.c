/* SPDX-License-Identifier: Apache-2.0 */
/* HTTP request/response records: construction, the API error shape, freeing. */
#include "server_int.h"

#include "omega/buf.h"

#include <jansson.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void http_request_free(http_request_t *req)
{
    if (!req)
        return;
    free(req->path);
    for (size_t i = 0; i < req->n_args; i++)
        free(req->args[i]);
    free(req->args);
    free(req->authorization);
    free(req->api_key);
    free(req->content_type);
    free(req->content_encoding);
    free(req->accept);
    free(req->body);
    for (size_t i = 0; i < req->n_params; i++)
        free(req->params[i]);
    free(req);
}

void http_response_free(http_response_t *resp)
{
    if (!resp)
        return;
    free(resp->headers);
    free(resp->body);
    free(resp);
}

const char *http_request_arg(const http_request_t *req, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < req->n_args; i++) {
        if (strncmp(req->args[i], name, nl) == 0 && req->args[i][nl] == '=')
            return req->args[i] + nl + 1;
    }
    return NULL;
}

http_response_t *http_response_take(int status, const char *content_type, char *body, size_t len)
{
    http_response_t *r = omega_calloc(1, sizeof(*r));
    r->status = status;
    r->content_type = content_type;
    r->body = body;
    r->body_len = len;
    return r;
}

http_response_t *http_response_json(int status, const char *json)
{
    size_t n = strlen(json);
    return http_response_take(status, "application/json", omega_strndup(json, n), n);
}

http_response_t *http_response_error(int status, const char *error_type, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    omega_buf_t b;
    omega_buf_init(&b, 0);
    omega_buf_puts(&b, "{\"status\":\"error\",\"errorType\":");
    omega_buf_json_str(&b, error_type, strlen(error_type));
    omega_buf_puts(&b, ",\"error\":");
    omega_buf_json_str(&b, msg, strlen(msg));
    omega_buf_puts(&b, "}");
    size_t len;
    char *body = omega_buf_take(&b, &len);
    return http_response_take(status, "application/json", body, len);
}

void http_response_add_header(http_response_t *resp, const char *name, const char *value)
{
    size_t old = resp->headers ? strlen(resp->headers) : 0;
    size_t add = strlen(name) + strlen(value) + 4;
    resp->headers = omega_realloc(resp->headers, old + add);
    snprintf(resp->headers + old, add, "%s: %s\n", name, value);
}

void encode_labels(omega_buf_t *b, const omega_label_t *labels, size_t n)
{
    omega_buf_puts(b, "{");
    for (size_t k = 0; k < n; k++) {
        if (k)
            omega_buf_puts(b, ",");
        omega_buf_json_str(b, labels[k].name, strlen(labels[k].name));
        omega_buf_puts(b, ":");
        omega_buf_json_str(b, labels[k].value, strlen(labels[k].value));
    }
    omega_buf_puts(b, "}");
}

http_response_t *http_response_bad_json(const json_error_t *je)
{
    return http_response_error(400, "bad_data",
                               "request body is not valid JSON: %s at line %d, column %d", je->text,
                               je->line, je->column);
}
