#include "encode/replay.h"

#include "base/error.h"
#include "encode/sse.h"

#include <stdbool.h>
#include <string.h>

/* Whether the event's bytes hold the line `prefix` followed by one of the words (any line end). */
static bool has_line(const char *p, size_t len, const char *prefix, const char *const *words)
{
    size_t pl = strlen(prefix);
    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && p[e] != '\r' && p[e] != '\n')
            e++;
        if (e - i > pl && memcmp(p + i, prefix, pl) == 0) {
            size_t v = i + pl;
            if (v < e && p[v] == ' ')
                v++;
            for (const char *const *w = words; *w; w++)
                if (strlen(*w) == e - v && memcmp(p + v, *w, e - v) == 0)
                    return true;
        }
        i = e + 1;
    }
    return false;
}

static fl_event_kind_t kind_of(const char *p, size_t len)
{
    static const char *const done[] = {"[DONE]", NULL};
    static const char *const stop[] = {"message_stop", "response.completed", NULL};
    static const char *const ping[] = {"ping", NULL};
    if (has_line(p, len, "data:", done) || has_line(p, len, "event:", stop))
        return FL_EVENT_SENTINEL;
    if (has_line(p, len, "event:", ping))
        return FL_EVENT_PING;
    /* only comment lines (and the blank line) */
    bool comment_only = len > 0 && p[0] == ':';
    for (size_t i = 0; i + 1 < len && comment_only; i++)
        if ((p[i] == '\n' || p[i] == '\r') && p[i + 1] != ':' && p[i + 1] != '\n' &&
            p[i + 1] != '\r')
            comment_only = false;
    return comment_only ? FL_EVENT_PING : FL_EVENT_RAW;
}

int fl_replay_encode(const fl_replay_t *rp, fl_script_t *out)
{
    int rc = 0;
    for (size_t i = 0; i < rp->n_writes && !rc; i++) {
        const fl_replay_write_t *w = &rp->writes[i];
        if (w->len == 0)
            continue; /* an empty write sends nothing (in chunked framing it would end the body) */
        rc = fl_script_add_write(out, out->bytes.len, fl_replay_time(rp, w->at_ms));
        if (!rc)
            rc = fl_buf_append(&out->bytes, w->bytes, w->len);
    }
    /* events over the joined bytes; each at the time of the write holding its first byte */
    const char *body = out->bytes.data;
    size_t len = out->bytes.len, k = 0;
    for (size_t off = 0; off < len && !rc;) {
        size_t n = fl_sse_event_len(body + off, len - off);
        while (k + 1 < out->n_writes && out->writes[k + 1].off <= off)
            k++;
        rc = fl_script_push_span(out, kind_of(body + off, n), out->writes[k].at_ms, off, n);
        off += n;
    }
    out->own_writes = rp->speed > 0;
    uint64_t last = out->n_writes ? out->writes[out->n_writes - 1].at_ms : 0;
    uint64_t end = fl_replay_time(rp, rp->end_ms);
    out->end_ms = end > last ? end : last;
    out->end = rp->ending == FL_REPLAY_FIN       ? FL_SCRIPT_END_FIN
               : rp->ending == FL_REPLAY_RST     ? FL_SCRIPT_END_RST
               : rp->ending == FL_REPLAY_TIMEOUT ? FL_SCRIPT_END_HANG
                                                 : FL_SCRIPT_END_COMPLETE;
    if (rc) {
        fl_script_close(out);
        fl_script_init(out);
    }
    return rc;
}
