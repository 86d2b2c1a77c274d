#include "chaos/httphead.h"

#include "base/error.h"

#include <inttypes.h>

fl_http_head_t fl_http_head_default(int status)
{
    fl_http_head_t h = {0};
    h.status = status;
    h.body = FL_HTTP_BODY_LENGTH;
    h.retry_after_s = -1;
    h.retry_after_ms = -1;
    return h;
}

const char *fl_http_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 520:
        return "Web Server Returned an Unknown Error";
    case 522:
        return "Connection Timed Out";
    case 524:
        return "A Timeout Occurred";
    case 529:
        return "Site is overloaded";
    default:
        return "Unknown";
    }
}

int fl_http_head_format(fl_buf_t *out, const fl_http_head_t *h)
{
    if (h->status < 100 || h->status > 999)
        return FL_EINVAL;
    size_t mark = out->len;
    int rc = fl_buf_printf(out, "HTTP/1.1 %d %s\r\n", h->status,
                           h->reason ? h->reason : fl_http_reason(h->status));
    if (!rc && h->content_type)
        rc = fl_buf_printf(out, "content-type: %s\r\n", h->content_type);
    if (!rc) {
        switch (h->body) {
        case FL_HTTP_BODY_LENGTH:
            rc = fl_buf_printf(out, "content-length: %zu\r\n", h->content_length);
            break;
        case FL_HTTP_BODY_CHUNKED:
            rc = fl_buf_append_str(out, "transfer-encoding: chunked\r\n");
            break;
        case FL_HTTP_BODY_CLOSE:
            rc = fl_buf_append_str(out, "connection: close\r\n");
            break;
        }
    }
    if (!rc && h->request_id)
        rc = fl_buf_printf(out, "x-request-id: %s\r\n", h->request_id);
    if (!rc && h->retry_after_s >= 0)
        rc = fl_buf_printf(out, "retry-after: %" PRId64 "\r\n", h->retry_after_s);
    if (!rc && h->retry_after_ms >= 0)
        rc = fl_buf_printf(out, "retry-after-ms: %" PRId64 "\r\n", h->retry_after_ms);
    if (!rc && h->connection && h->body != FL_HTTP_BODY_CLOSE)
        rc = fl_buf_printf(out, "connection: %s\r\n", h->connection);
    if (!rc && h->extra)
        rc = fl_buf_append_str(out, h->extra);
    if (!rc)
        rc = fl_buf_append(out, "\r\n", 2);
    if (rc) {
        /* leave out as it was: a half-written head must never reach a socket */
        out->len = mark;
        if (out->data)
            out->data[mark] = '\0';
    }
    return rc;
}
