/*
 * Phase 1 of the chaos compiler: body faults rewrite the pieces (see chaos.c for the model).
 * The head is never touched. An event's pieces are its clean bytes, possibly split at byte
 * positions; a rewrite of the whole event redistributes the new bytes over the same pieces (each
 * keeps at most its old length, the last takes the rest) so positions inside it stay valid.
 *
 * "The event at the position" is the first clean event at or after it (the last event at the
 * end). Per fault:
 *  - line_endings: every line end of the body from the position on, an LF or a CRLF pair (Gemini
 *    frames with CRLF), becomes CRLF or CR; a lone CR is left as it is.
 *  - drop_sentinel: FL_EVENT_SENTINEL events (and FL_EVENT_FINISH with drop_finish) are
 *    removed; the FIRE stands where the first one was. The body still ends cleanly.
 *  - duplicate: the whole event again right after it, due with its last piece.
 *  - inject / corrupt garbage: the bytes before the position's piece, due with it; garbage is
 *    `bytes` bytes, each the top byte of one fl_rand draw seeded with `seed`.
 *  - corrupt json: the event up to half of its first data value, then a blank line; utf8: C3 28
 *    FF after the opening quote of the last JSON string value of the first data line; sse:
 *    "bogus" and "x-faultline: 1" lines before the event and "data: " as "data:"; the lines
 *    added end as the event's own do (CRLF in a CRLF event, else LF); chunk_size:
 *    the chunk carrying the position gets the size line "zz" (chunked framing only).
 *  - error_event: the dialect's in-stream error replaces the rest of the body and the body
 *    ends right after it. Responses numbers it from the sequence_number of the event at the
 *    position (the last event's + 1 at the end), read from that event's JSON; with no such
 *    field, from the count of events before the position.
 *  - end: the rest of the body is removed and the body ends when the position was due.
 *  - drop: the event at the position is removed; the FIRE stands where it was, and every other
 *    event keeps its bytes and its time.
 *  - replace: the event at the position keeps its other lines (event:, id:, comments) and gets
 *    `data` as its data lines instead of its own (one `data:` line per line of data, where its
 *    first data line stood, or before the blank line when it had none), its line ends as its
 *    own (CRLF for Gemini).
 */
#include "chaos/chaos_impl.h"
#include "base/error.h"
#include "base/rand.h"

#include <stdlib.h>
#include <string.h>

static bool is_body(const fl_chaos_piece_t *p)
{
    return !(p->flags & (PC_HEAD | PC_TERM | PC_FIRE));
}

/* The first clean event at or after piece i (the last one before the end when i is the end). */
static int event_at(const fl_chaos_t *c, size_t i, uint32_t *event)
{
    for (size_t j = i; j < c->np; j++)
        if (c->p[j].flags & PC_CLEAN) {
            *event = c->p[j].event;
            return 0;
        }
    for (size_t j = i < c->np ? i : c->np; j-- > 0;)
        if (c->p[j].flags & PC_CLEAN) {
            *event = c->p[j].event;
            return 0;
        }
    return FL_EINVAL;
}

/* The run of clean pieces [*first, *last] of event e. */
static int event_range(const fl_chaos_t *c, uint32_t e, size_t *first, size_t *last)
{
    for (size_t j = 0; j < c->np; j++) {
        if (!(c->p[j].flags & PC_CLEAN) || c->p[j].event != e)
            continue;
        size_t k = j;
        while (k + 1 < c->np && (c->p[k + 1].flags & PC_CLEAN) && c->p[k + 1].event == e)
            k++;
        *first = j;
        *last = k;
        return 0;
    }
    return FL_EINVAL;
}

/* The run of clean pieces [*first, *last] of the event at piece idx (event_at). */
static int event_pieces(const fl_chaos_t *c, size_t idx, size_t *first, size_t *last)
{
    uint32_t e;
    int rc = event_at(c, idx, &e);
    return rc ? rc : event_range(c, e, first, last);
}

/* Inserts before piece at a FIRE of fault fi with where's evidence (event, time, offset): where
 * a fault removed bytes, the evidence says where it acted on the wire. */
static int fire_where(fl_chaos_t *c, size_t at, fl_chaos_piece_t where, uint32_t fi)
{
    where.off = where.len = 0;
    where.fault = fi;
    where.flags = PC_FIRE;
    where.silent = 0;
    return fl_chaos__piece_insert(c, at, &where);
}

static int event_bytes(const fl_chaos_t *c, size_t first, size_t last, fl_buf_t *out)
{
    for (size_t j = first; j <= last; j++)
        if (fl_buf_append(out, c->arena.data + c->p[j].off, c->p[j].len))
            return FL_ENOMEM;
    return 0;
}

static int rewrite_event(fl_chaos_t *c, size_t first, size_t last, const fl_buf_t *nb, uint32_t fi)
{
    size_t base;
    int rc = fl_chaos__bytes(c, nb->data, nb->len, &base);
    if (rc)
        return rc;
    size_t used = 0;
    for (size_t j = first; j <= last; j++) {
        size_t n = nb->len - used;
        if (j < last && n > c->p[j].len)
            n = c->p[j].len;
        c->p[j].off = base + used;
        c->p[j].len = n;
        used += n;
    }
    c->p[first].fault = fi;
    return 0;
}

/* The event's line end: "\r\n" when its first line ends in CRLF (Gemini), else "\n". */
static const char *line_end(const fl_buf_t *b)
{
    const char *lf = b->len ? memchr(b->data, '\n', b->len) : NULL;
    return lf && lf > b->data && lf[-1] == '\r' ? "\r\n" : "\n";
}

/* The value of the event's first `data:` field: [*start, *end) in b. */
static int find_data(const char *p, size_t n, size_t *start, size_t *end)
{
    for (size_t i = 0; i + 5 <= n; i++) {
        bool line_start = i == 0 || p[i - 1] == '\n' || p[i - 1] == '\r';
        if (!line_start || memcmp(p + i, "data:", 5) != 0)
            continue;
        size_t s = i + 5;
        if (s < n && p[s] == ' ')
            s++;
        size_t e = s;
        while (e < n && p[e] != '\n' && p[e] != '\r')
            e++;
        *start = s;
        *end = e;
        return 0;
    }
    return FL_EINVAL;
}

/*
 * Offset of the opening quote of the last string *value* (not key) in JSON text p[0, n): a
 * string is a value inside an array, or after ':' inside an object. Escapes (\") are skipped.
 */
static int last_string_value(const char *p, size_t n, size_t *quote)
{
    char stack[64];
    int depth = 0;
    bool after_colon = false, found = false;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '"') {
            bool value = depth > 0 && (stack[depth - 1] == '[' || after_colon);
            if (value) {
                *quote = i;
                found = true;
            }
            for (i++; i < n && p[i] != '"'; i++)
                if (p[i] == '\\')
                    i++;
            after_colon = false;
        } else if (ch == '{' || ch == '[') {
            if (depth == (int)sizeof(stack))
                return FL_EINVAL;
            stack[depth++] = ch;
            after_colon = false;
        } else if (ch == '}' || ch == ']') {
            if (depth > 0)
                depth--;
            after_colon = false;
        } else if (ch == ':') {
            after_colon = true;
        } else if (ch == ',') {
            after_colon = false;
        }
    }
    return found ? 0 : FL_EINVAL;
}

/* Where corrupt json / utf8 acts in one event's bytes p[0, n): its first data value [*s, *e)
 * and, for utf8, the opening quote of the last string value in it (*q, from *s). */
static int corrupt_target(const char *p, size_t n, fl_corrupt_kind_t kind, size_t *s, size_t *e,
                          size_t *q)
{
    if (find_data(p, n, s, e))
        return FL_EINVAL;
    if (kind == FL_CORRUPT_JSON)
        return *e - *s < 2 ? FL_EINVAL : 0;
    return last_string_value(p + *s, *e - *s, q);
}

bool fl_chaos_can_corrupt(const char *event, size_t len, fl_corrupt_kind_t kind)
{
    size_t s, e, q;
    return corrupt_target(event, len, kind, &s, &e, &q) == 0;
}

/* Builds an event's new bytes nb from its bytes b for fault f. Returns 0 or an error code. */
typedef int (*event_edit_fn)(const fl_fault_t *f, const fl_buf_t *b, fl_buf_t *nb);

/* Rewrites the event at piece idx with edit (see rewrite_event), and fires fi at it. */
static int edit_event(fl_chaos_t *c, uint32_t fi, size_t idx, event_edit_fn edit)
{
    size_t first, last;
    int rc;
    if ((rc = event_pieces(c, idx, &first, &last)))
        return rc;
    fl_buf_t b, nb;
    fl_buf_init(&b);
    fl_buf_init(&nb);
    if (!(rc = event_bytes(c, first, last, &b)))
        rc = edit(&c->faults[fi], &b, &nb);
    if (!rc)
        rc = rewrite_event(c, first, last, &nb, fi);
    if (!rc)
        rc = fl_chaos__fire_piece(c, first, fi, c->p[first].at_ms);
    fl_buf_close(&b);
    fl_buf_close(&nb);
    return rc;
}

/* corrupt json, utf8 and sse: event_edit_fn. */
static int corrupt_bytes(const fl_fault_t *f, const fl_buf_t *b, fl_buf_t *nb)
{
    size_t s, end, q;
    int rc;
    switch (f->corrupt) {
    case FL_CORRUPT_JSON:
        if ((rc = corrupt_target(b->data, b->len, f->corrupt, &s, &end, &q)))
            return rc;
        rc = fl_buf_append(nb, b->data, s + (end - s) / 2);
        for (int i = 0; i < 2 && !rc; i++)
            rc = fl_buf_append_str(nb, line_end(b));
        return rc;
    case FL_CORRUPT_UTF8: {
        if ((rc = corrupt_target(b->data, b->len, f->corrupt, &s, &end, &q)))
            return rc;
        static const char bad[] = {(char)0xC3, (char)0x28, (char)0xFF};
        rc = fl_buf_append(nb, b->data, s + q + 1);
        if (!rc)
            rc = fl_buf_append(nb, bad, sizeof(bad));
        if (!rc)
            rc = fl_buf_append(nb, b->data + s + q + 1, b->len - (s + q + 1));
        return rc;
    }
    case FL_CORRUPT_SSE:
        rc = fl_buf_printf(nb, "bogus%sx-faultline: 1%s", line_end(b), line_end(b));
        for (size_t i = 0; !rc && i < b->len; i++) {
            bool line_start =
                i == 0 || b->data[i - 1] == '\n' || (b->data[i - 1] == '\r' && b->data[i] != '\n');
            if (line_start && b->len - i >= 6 && memcmp(b->data + i, "data: ", 6) == 0) {
                rc = fl_buf_append(nb, "data:", 5);
                i += 5;
                continue;
            }
            rc = fl_buf_append(nb, b->data + i, 1);
        }
        return rc;
    default:
        return FL_EINVAL;
    }
}

/* Inserts bytes before piece idx, due with it; the FIRE goes first. */
static int insert_bytes(fl_chaos_t *c, uint32_t fi, size_t idx, const void *bytes, size_t len)
{
    fl_chaos_piece_t p = c->p[idx];
    int rc = fl_chaos__bytes(c, bytes, len, &p.off);
    if (rc)
        return rc;
    p.len = len;
    p.fault = fi;
    p.flags = 0;
    if ((rc = fl_chaos__piece_insert(c, idx, &p)))
        return rc;
    return fl_chaos__fire_piece(c, idx, fi, p.at_ms);
}

static int corrupt(fl_chaos_t *c, uint32_t fi, size_t idx)
{
    const fl_fault_t *f = &c->faults[fi];
    if (f->corrupt == FL_CORRUPT_GARBAGE) {
        if (f->bytes == 0 || f->bytes > (1u << 24))
            return FL_EINVAL;
        unsigned char *g = malloc(f->bytes);
        if (!g)
            return FL_ENOMEM;
        fl_rand_t r;
        fl_rand_seed(&r, f->seed);
        for (size_t i = 0; i < f->bytes; i++)
            g[i] = (unsigned char)(fl_rand_next(&r) >> 56);
        int rc = insert_bytes(c, fi, idx, g, f->bytes);
        free(g);
        return rc;
    }
    if (f->corrupt == FL_CORRUPT_CHUNK_SIZE) {
        if (c->in->framing != FL_BODY_CHUNKED)
            return FL_EINVAL;
        size_t t = idx;
        while (t > 0 && !is_body(&c->p[t]))
            t--;
        if (!is_body(&c->p[t]))
            return FL_EINVAL;
        c->p[t].flags |= PC_BADCHUNK;
        c->p[t].fault = fi;
        return fl_chaos__fire_piece(c, t, fi, c->p[t].at_ms);
    }
    return edit_event(c, fi, idx, corrupt_bytes);
}

/* The body byte after byte i of piece j (it may start a later body piece); -1 at the end. */
static int next_body_byte(const fl_chaos_t *c, size_t j, size_t i)
{
    if (i + 1 < c->p[j].len)
        return (unsigned char)c->arena.data[c->p[j].off + i + 1];
    for (size_t k = j + 1; k < c->np; k++)
        if (is_body(&c->p[k]) && c->p[k].len)
            return (unsigned char)c->arena.data[c->p[k].off];
    return -1;
}

static int line_endings(fl_chaos_t *c, uint32_t fi, size_t idx)
{
    const fl_fault_t *f = &c->faults[fi];
    fl_buf_t nb;
    fl_buf_init(&nb);
    int rc = 0;
    bool first = true;
    for (size_t j = idx; j < c->np && !rc; j++) {
        if (!is_body(&c->p[j]))
            continue;
        nb.len = 0;
        for (size_t i = 0; i < c->p[j].len && !rc; i++) {
            char ch = c->arena.data[c->p[j].off + i];
            if (ch == '\r' && next_body_byte(c, j, i) == '\n')
                continue; /* a CRLF pair is one line end: its LF writes it */
            if (ch == '\n')
                rc = fl_buf_append_str(&nb, f->crlf ? "\r\n" : "\r");
            else
                rc = fl_buf_append(&nb, &ch, 1);
        }
        if (!rc)
            rc = fl_chaos__bytes(c, nb.data, nb.len, &c->p[j].off);
        c->p[j].len = nb.len;
        if (first)
            c->p[j].fault = fi;
        first = false;
    }
    fl_buf_close(&nb);
    if (!rc)
        rc = fl_chaos__fire_piece(c, idx, fi, c->p[idx].at_ms);
    return rc;
}

static int drop_sentinel(fl_chaos_t *c, uint32_t fi, size_t idx)
{
    const fl_fault_t *f = &c->faults[fi];
    const fl_script_t *s = c->in->script;
    size_t fire_at = SIZE_MAX;
    fl_chaos_piece_t dropped = {0};
    for (size_t j = idx; j < c->np;) {
        const fl_chaos_piece_t *p = &c->p[j];
        if (p->flags & (PC_CLEAN | PC_COPY)) {
            fl_event_kind_t k = s->events[p->event].kind;
            if (k == FL_EVENT_SENTINEL || (f->drop_finish && k == FL_EVENT_FINISH)) {
                if (fire_at == SIZE_MAX) {
                    fire_at = j;
                    dropped = *p;
                }
                fl_chaos__piece_remove(c, j, 1);
                continue;
            }
        }
        j++;
    }
    if (fire_at == SIZE_MAX) {
        fire_at = fl_chaos__term_index(c);
        return fl_chaos__fire_piece(c, fire_at, fi, fire_at < c->np ? c->p[fire_at].at_ms : 0);
    }
    /* the FIRE stands where the dropped event was */
    return fire_where(c, fire_at, dropped, fi);
}

static int duplicate(fl_chaos_t *c, uint32_t fi, size_t idx)
{
    size_t first, last;
    int rc;
    if ((rc = event_pieces(c, idx, &first, &last)))
        return rc;
    uint64_t at = c->p[last].at_ms;
    size_t n = last - first + 1;
    for (size_t k = 0; k < n; k++) {
        fl_chaos_piece_t p = c->p[first + k];
        p.at_ms = at;
        p.fault = fi;
        p.flags = PC_COPY;
        if ((rc = fl_chaos__piece_insert(c, last + 1 + k, &p)))
            return rc;
    }
    return fl_chaos__fire_piece(c, last + 1, fi, at);
}

/* Removes every body piece (and FIRE of a body fault) from idx to the end piece. */
static void remove_rest(fl_chaos_t *c, size_t idx)
{
    size_t t = fl_chaos__term_index(c);
    if (t > idx)
        fl_chaos__piece_remove(c, idx, t - idx);
}

/* The sequence_number the event at piece idx carries (Responses), else a count of events. */
static uint64_t next_sequence(const fl_chaos_t *c, size_t idx)
{
    const fl_script_t *s = c->in->script;
    uint32_t e;
    bool at_end = idx >= c->np || (c->p[idx].flags & PC_TERM);
    if (event_at(c, idx, &e))
        return 0;
    const fl_script_event_t *ev = &s->events[e];
    static const char key[] = "\"sequence_number\":";
    const char *b = s->bytes.data + ev->off;
    for (size_t i = 0; i + sizeof(key) - 1 <= ev->len; i++) {
        if (memcmp(b + i, key, sizeof(key) - 1) != 0)
            continue;
        uint64_t v = 0;
        size_t j = i + sizeof(key) - 1;
        while (j < ev->len && b[j] == ' ')
            j++;
        while (j < ev->len && b[j] >= '0' && b[j] <= '9')
            v = v * 10 + (uint64_t)(b[j++] - '0');
        return at_end ? v + 1 : v;
    }
    return at_end ? s->n_events : e;
}

static int error_event(fl_chaos_t *c, uint32_t fi, size_t idx)
{
    const fl_fault_t *f = &c->faults[fi];
    fl_encode_ctx_t ctx = c->in->ctx;
    ctx.sequence_number = next_sequence(c, idx);
    fl_buf_t b;
    fl_buf_init(&b);
    int rc = fl_dialect_encode_error_event(c->in->dialect, f->error_class, f->message, &ctx, &b);
    if (rc)
        goto done;
    fl_chaos_piece_t p = c->p[idx];
    remove_rest(c, idx);
    size_t t = fl_chaos__term_index(c);
    if (t < c->np)
        c->p[t].at_ms = p.at_ms;
    if ((rc = fl_chaos__bytes(c, b.data, b.len, &p.off)))
        goto done;
    p.len = b.len;
    p.fault = fi;
    p.flags = 0;
    if (!(rc = fl_chaos__piece_insert(c, idx, &p)))
        rc = fl_chaos__fire_piece(c, idx, fi, p.at_ms);
done:
    fl_buf_close(&b);
    return rc;
}

static int end_body(fl_chaos_t *c, uint32_t fi, size_t idx)
{
    fl_chaos_piece_t where = c->p[idx];
    remove_rest(c, idx);
    size_t t = fl_chaos__term_index(c);
    if (t < c->np) {
        c->p[t].at_ms = where.at_ms;
        c->p[t].fault = fi;
    }
    /* The FIRE names where the body was cut short (the first event dropped), not the end piece
     * that now follows it: the evidence says where the fault acted on the wire. */
    where.off = where.len = 0;
    where.fault = fi;
    where.flags = PC_FIRE;
    where.silent = 0;
    return fl_chaos__piece_insert(c, idx, &where);
}

static int drop_event(fl_chaos_t *c, uint32_t fi, size_t idx)
{
    size_t first, last;
    int rc;
    if ((rc = event_pieces(c, idx, &first, &last)))
        return rc;
    fl_chaos_piece_t where = c->p[first];
    fl_chaos__piece_remove(c, first, last - first + 1);
    return fire_where(c, first, where, fi);
}

/* Appends `data` as data lines, each ending in le. */
static int data_lines(fl_buf_t *nb, const char *data, size_t len, const char *le)
{
    int rc = 0;
    const char *p = data, *end = data + len;
    do {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        rc = fl_buf_printf(nb, "data: %.*s%s", (int)(stop - p), p, le);
        p = nl ? nl + 1 : end;
    } while (!rc && p < end);
    return rc;
}

/* replace: event_edit_fn. */
static int replace_bytes(const fl_fault_t *f, const fl_buf_t *b, fl_buf_t *nb)
{
    const char *data = f->inject ? f->inject : "";
    const char *le = line_end(b);
    bool put = false;
    int rc = 0;
    for (size_t i = 0; i < b->len && !rc;) {
        const char *nl = memchr(b->data + i, '\n', b->len - i);
        size_t stop = nl ? (size_t)(nl - b->data) : b->len;
        size_t next = nl ? stop + 1 : b->len;
        size_t n = stop - i;
        if (n && b->data[i + n - 1] == '\r')
            n--;
        bool is_data =
            n >= 4 && memcmp(b->data + i, "data", 4) == 0 && (n == 4 || b->data[i + 4] == ':');
        if (n == 0 || is_data) {
            /* the new data stands where the first data line stood, else before the blank line */
            if (!put)
                rc = data_lines(nb, data, f->inject_len, le);
            put = true;
            if (!rc && n == 0)
                rc = fl_buf_append(nb, b->data + i, next - i);
        } else {
            rc = fl_buf_append(nb, b->data + i, next - i);
        }
        i = next;
    }
    if (!rc && !put)
        rc = data_lines(nb, data, f->inject_len, le);
    return rc;
}

/*
 * The first piece at idx or after that is not a fault's own: bytes an earlier fault inserted at
 * this position (inject, garbage, an error event) and FIREs stand before it. A fault that drops
 * the rest of the body from its position (end, error_event) starts there, so bytes an earlier
 * fault put before the same event stay before it, as the order written says.
 */
static size_t past_inserted(const fl_chaos_t *c, size_t idx)
{
    size_t i = idx;
    while (i < c->np && !(c->p[i].flags & (PC_CLEAN | PC_COPY | PC_TERM | PC_HEAD)))
        i++;
    return i < c->np ? i : idx; /* the END piece is always there; never step past the plan */
}

int fl_chaos__body_fault(fl_chaos_t *c, uint32_t fi)
{
    const fl_fault_t *f = &c->faults[fi];
    size_t idx = fl_chaos__find_piece(c, &c->pos[fi], true);
    if (idx >= c->np)
        return FL_EINVAL;
    switch (f->kind) {
    case FL_FAULT_LINE_ENDINGS:
        return line_endings(c, fi, idx);
    case FL_FAULT_DROP_SENTINEL:
        return drop_sentinel(c, fi, idx);
    case FL_FAULT_DUPLICATE:
        return duplicate(c, fi, idx);
    case FL_FAULT_INJECT:
        return insert_bytes(c, fi, idx, f->inject, f->inject_len);
    case FL_FAULT_CORRUPT:
        return corrupt(c, fi, idx);
    case FL_FAULT_ERROR_EVENT:
        return error_event(c, fi, past_inserted(c, idx));
    case FL_FAULT_END:
        return end_body(c, fi, past_inserted(c, idx));
    case FL_FAULT_DROP:
        return drop_event(c, fi, idx);
    case FL_FAULT_REPLACE:
        return edit_event(c, fi, idx, replace_bytes);
    default:
        return FL_EINVAL;
    }
}
