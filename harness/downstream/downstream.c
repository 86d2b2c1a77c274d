/*
 * The decoders' common part (downstream.h): the format table, the line and SSE framing that
 * cuts the body into frames whatever its pieces, and the helpers the handlers share.
 */
#include "downstream/downstream_int.h"

#include "base/error.h"

#include <stdio.h>
#include <string.h>

static const char *const names[] = {
#define X(name, s) s,
    FL_DOWNSTREAM_MAP(X)
#undef X
};

const char *fl_downstream_format_name(fl_downstream_format_t f)
{
    return (unsigned)f < FL_DOWNSTREAM_COUNT ? names[f] : "?";
}

int fl_downstream_format_parse(const char *s, fl_downstream_format_t *out)
{
    for (unsigned i = 0; i < FL_DOWNSTREAM_COUNT; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (fl_downstream_format_t)i;
            return 0;
        }
    return FL_EINVAL;
}

const char *fl_downstream_format_list(void)
{
    return "openai-chat, openai-responses, anthropic-messages, text, ndjson, ai-sdk-ui";
}

const char *fl_downstream_default_request(fl_downstream_format_t f)
{
    switch (f) {
    case FL_DOWNSTREAM_OPENAI_CHAT:
        return "{\"model\":{model},\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":"
               "{prompt}}]}";
    case FL_DOWNSTREAM_OPENAI_RESPONSES:
        return "{\"model\":{model},\"stream\":true,\"input\":{prompt}}";
    case FL_DOWNSTREAM_ANTHROPIC_MESSAGES:
        return "{\"model\":{model},\"max_tokens\":1024,\"stream\":true,\"messages\":[{\"role\":"
               "\"user\",\"content\":{prompt}}]}";
    case FL_DOWNSTREAM_AI_SDK_UI:
        return "{\"id\":\"faultline\",\"messages\":[{\"id\":\"m1\",\"role\":\"user\",\"parts\":[{"
               "\"type\":\"text\",\"text\":{prompt}}]}],\"trigger\":\"submit-message\"}";
    default:
        return "{\"prompt\":{prompt},\"model\":{model}}";
    }
}

void fl_downstream_init(fl_downstream_t *d, fl_downstream_format_t f)
{
    memset(d, 0, sizeof(*d));
    d->format = f;
    fl_buf_init(&d->text);
    fl_buf_init(&d->line);
    fl_buf_init(&d->data);
}

void fl_downstream_close(fl_downstream_t *d)
{
    fl_buf_close(&d->text);
    fl_buf_close(&d->line);
    fl_buf_close(&d->data);
}

/* ---- helpers for the handlers ------------------------------------------------------------ */

void fl_downstream__text(fl_downstream_t *d, const char *s, size_t n)
{
    if (d->done || d->error) {
        d->after_end = true;
        return;
    }
    fl_buf_append(&d->text, s, n); /* out of memory: the text is short, judged as such */
}

void fl_downstream__fail(fl_downstream_t *d, const char *msg)
{
    if (d->done && !d->error) {
        d->after_end = true;
        return;
    }
    if (d->error)
        return;
    d->error = true;
    size_t o = 0;
    for (; msg && msg[o] && o + 1 < sizeof(d->error_msg); o++)
        d->error_msg[o] = (msg[o] == '\n' || msg[o] == '\r') ? ' ' : msg[o];
    d->error_msg[o] = '\0';
    if (!d->error_msg[0])
        snprintf(d->error_msg, sizeof(d->error_msg), "(an error without a message)");
}

void fl_downstream__end(fl_downstream_t *d)
{
    if (d->error || d->done) {
        d->after_end = true;
        return;
    }
    d->done = true;
}

json_t *fl_downstream__json(fl_downstream_t *d, const char *s, size_t n)
{
    json_t *j = json_loadb(s, n, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        d->malformed = true;
        return NULL;
    }
    return j;
}

/* ---- framing ------------------------------------------------------------------------------ */

static fl_downstream__sse_fn sse_handler(fl_downstream_format_t f)
{
    switch (f) {
    case FL_DOWNSTREAM_OPENAI_CHAT:
        return fl_downstream__openai_chat;
    case FL_DOWNSTREAM_OPENAI_RESPONSES:
        return fl_downstream__openai_responses;
    case FL_DOWNSTREAM_ANTHROPIC_MESSAGES:
        return fl_downstream__anthropic;
    case FL_DOWNSTREAM_AI_SDK_UI:
        return fl_downstream__ai_sdk_ui;
    default:
        return NULL;
    }
}

/* One SSE line (without its end), per the standard's "process the field". */
static void sse_line(fl_downstream_t *d, const char *s, size_t n)
{
    if (n == 0) {
        if (d->has_data) {
            fl_buf_append(&d->data, "", 0);
            /* the standard drops the data's last LF; data holds "a\nb" already (joined) */
            d->frames++;
            sse_handler(d->format)(d, d->event, d->data.data ? d->data.data : "", d->data.len);
        }
        fl_buf_truncate(&d->data, 0);
        d->event[0] = '\0';
        d->has_data = false;
        return;
    }
    if (s[0] == ':')
        return; /* a comment: a heartbeat */
    const char *colon = memchr(s, ':', n);
    size_t flen = colon ? (size_t)(colon - s) : n;
    const char *v = colon ? colon + 1 : s + n;
    size_t vlen = colon ? n - flen - 1 : 0;
    if (vlen && *v == ' ') {
        v++;
        vlen--;
    }
    if (flen == 4 && memcmp(s, "data", 4) == 0) {
        if (d->has_data)
            fl_buf_append(&d->data, "\n", 1);
        fl_buf_append(&d->data, v, vlen);
        d->has_data = true;
    } else if (flen == 5 && memcmp(s, "event", 5) == 0) {
        size_t k = vlen < sizeof(d->event) - 1 ? vlen : sizeof(d->event) - 1;
        memcpy(d->event, v, k);
        d->event[k] = '\0';
    } /* id, retry and unknown fields change nothing a browser shows */
}

static void line_done(fl_downstream_t *d)
{
    const char *s = d->line.data ? d->line.data : "";
    if (d->format == FL_DOWNSTREAM_NDJSON) {
        if (d->line.len)
            fl_downstream__ndjson(d, s, d->line.len);
    } else {
        sse_line(d, s, d->line.len);
    }
    fl_buf_truncate(&d->line, 0);
}

int fl_downstream_feed(fl_downstream_t *d, const char *p, size_t n)
{
    if (d->format == FL_DOWNSTREAM_TEXT) {
        fl_downstream__text(d, p, n);
        return 0;
    }
    size_t i = 0;
    while (i < n) {
        if (d->cr && p[i] == '\n') { /* the LF of a CRLF whose CR ended the line */
            d->cr = false;
            i++;
            continue;
        }
        d->cr = false;
        size_t j = i;
        while (j < n && p[j] != '\n' && p[j] != '\r')
            j++;
        if (j > i && fl_buf_append(&d->line, p + i, j - i))
            return FL_ENOMEM;
        if (j == n)
            break;
        d->cr = p[j] == '\r';
        line_done(d);
        i = j + 1;
    }
    return 0;
}

void fl_downstream_finish(fl_downstream_t *d, bool clean)
{
    if (d->format == FL_DOWNSTREAM_TEXT) {
        if (clean)
            fl_downstream__end(d);
        return;
    }
    /* An SSE event not closed by its blank line is discarded (the standard); an ndjson line
     * without its newline is still a line. */
    if (d->format == FL_DOWNSTREAM_NDJSON && d->line.len)
        line_done(d);
    fl_buf_truncate(&d->line, 0);
}
