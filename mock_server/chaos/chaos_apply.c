/*
 * Which faults can apply to a response (chaos.h fl_chaos_applies, where the rule is stated).
 * The compiler asks before its phases run, so that a fault which cannot reach this response is
 * skipped, and the wire plan says why, instead of failing the whole plan: the validator checked
 * every fault against the scenario's own streamed response, but the same attempt may be asked
 * for by an HTTP/1.0 client (a close-delimited body) or as a non-streaming request (one JSON
 * object with a content-length). The rule uses the fault catalog's phase and position columns
 * (model/fault.h), so a new body fault is kept out of JSON bodies without a line here.
 */
#include "chaos/chaos_impl.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

/* Writes the reason and returns false, the answer of every rule that fails. */
static bool skip(char *reason, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool skip(char *reason, size_t size, const char *fmt, ...)
{
    if (size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, size, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* corrupt's kinds as the reason names them ("corrupt json"), by fl_corrupt_kind_t. */
static const char *const corrupt_kinds[] = {"json", "utf8", "chunk_size", "garbage", "sse"};

/* corrupt json/utf8, duplicate, drop and replace act on one whole event (fault_load.c's
 * acts_on_whole_event: the same set). */
static bool whole_event(const fl_fault_t *f)
{
    return f->kind == FL_FAULT_DUPLICATE || f->kind == FL_FAULT_DROP ||
           f->kind == FL_FAULT_REPLACE ||
           (f->kind == FL_FAULT_CORRUPT && f->corrupt != FL_CORRUPT_GARBAGE &&
            f->corrupt != FL_CORRUPT_CHUNK_SIZE);
}

/* 5. On a stream, a whole-event fault with no event to act on. The validator checked every
 * position against the scenario's stream; a resumed stream (the events after the one a client
 * named) is shorter, and its event N is another event. Other positions past its end act at the
 * end, as on any stream. */
static bool fits_stream(const fl_chaos_input_t *in, const fl_fault_t *f, const char *name,
                        const char *sub, char *reason, size_t reason_size)
{
    const fl_script_t *s = in->script;
    size_t n = s->n_events;
    if (!whole_event(f))
        return true;
    uint64_t ev = n / 2 + 1; /* 1-based event the position names (the default: the middle) */
    if (f->at.kind == FL_AT_EVENT)
        ev = f->at.n;
    else if (f->at.kind == FL_AT_CONTENT)
        ev = fl_script_pieces(s) ? fl_script_content_event(s, f->at.n) + 1 : n + 1;
    else if (f->at.kind != FL_AT_DEFAULT)
        ev = 0; /* bytes, times and the end are checked by the compiler */
    if (n == 0 || ev > n)
        return skip(reason, reason_size,
                    "%s%s%s needs an event; this stream has %zu, and its position is past them",
                    name, *sub ? " " : "", sub, n);
    if (f->kind == FL_FAULT_CORRUPT &&
        (f->corrupt == FL_CORRUPT_JSON || f->corrupt == FL_CORRUPT_UTF8) && ev &&
        !fl_chaos_can_corrupt(s->bytes.data + s->events[ev - 1].off, s->events[ev - 1].len,
                              f->corrupt))
        return skip(reason, reason_size,
                    "event %" PRIu64 " of this stream has no JSON for corrupt %s to act on", ev,
                    sub);
    return true;
}

bool fl_chaos_applies(const fl_chaos_input_t *in, const fl_fault_t *f, char *reason,
                      size_t reason_size)
{
    bool json = in->kind == FL_BODY_JSON;
    const char *name = fl_fault_name(f->kind);
    const char *sub = "";
    if (f->kind == FL_FAULT_CORRUPT &&
        (unsigned)f->corrupt < sizeof(corrupt_kinds) / sizeof(*corrupt_kinds))
        sub = corrupt_kinds[f->corrupt];

    /* 1. the chunk-size line exists only in chunked framing */
    if (f->kind == FL_FAULT_CORRUPT && f->corrupt == FL_CORRUPT_CHUNK_SIZE &&
        in->framing != FL_BODY_CHUNKED) {
        if (in->framing == FL_BODY_CLOSE)
            return skip(reason, reason_size,
                        "chunk_size needs chunked framing; this response is close-delimited%s%s%s",
                        in->framing_why ? " (" : "", in->framing_why ? in->framing_why : "",
                        in->framing_why ? ")" : "");
        return skip(reason, reason_size,
                    "chunk_size needs chunked framing; this response has a content-length%s",
                    json ? " (non-streaming)" : "");
    }
    if (!json)
        return !in->resumed || fits_stream(in, f, name, sub, reason, reason_size);

    /* 2. body faults rewrite the event stream; a JSON body's length is fixed by its head */
    if (fl_fault_phase(f->kind) == FL_PHASE_BODY)
        return skip(reason, reason_size,
                    "%s%s%s rewrites the event stream; a non-streaming body is one JSON object "
                    "with a fixed content-length",
                    name, *sub ? " " : "", sub);

    /* 3. a non-streaming body has no events past its start */
    if (fl_fault_takes_position(f->kind) && f->at.kind == FL_AT_EVENT && f->at.n > 1)
        return skip(reason, reason_size,
                    "event %" PRIu64 " does not exist in a non-streaming body (one JSON object: "
                    "event 1 is its start)",
                    f->at.n);

    /* 4. keep-alive pings are SSE comments (none is sent before the status line) */
    if (f->kind == FL_FAULT_STALL && f->keepalive_ms && f->at.kind != FL_AT_HEADERS)
        return skip(reason, reason_size,
                    "stall's keep-alive pings are SSE comments, which a non-streaming body "
                    "cannot carry");
    return true;
}
