/*
 * Dialect dispatch and what the encoders share.
 *
 * The timeline every dialect follows (times are at_ms, ms after the response headers):
 *  - events before model output (the role chunk, message_start, response.created, ...) at 0
 *    (Gemini has none);
 *  - the first event that carries model output (the first text delta, or the tool call's
 *    announcement: chat's first tool_calls chunk, Anthropic's tool_use content_block_start,
 *    Responses' function_call output_item.added) at ttft_ms; each later content event one
 *    interval later, interval_k = max(0, interval_ms + j_k), j_k uniform in
 *    [-jitter_ms, +jitter_ms] from fl_rand seeded with response.seed, one draw per interval;
 *  - events after the last content event (done/stop events, finish, usage, sentinel) at the
 *    last content event's at_ms, or at ttft_ms when the answer is empty;
 *  - raw `response.events`: event i at the time content event i would have, in any dialect.
 * Usage: input_tokens -1 counts the prompt's whitespace-separated words (at least 1);
 * output_tokens -1 is the number of CONTENT events of the stream (the tool announcement
 * included), and the non-streaming body reports the same number.
 * Return codes beyond those dialect.h lists: FL_EINVAL when the answer text, a chunk or the
 * tool arguments are not UTF-8 (JSON strings must be), when the chunking is unknown, or when a
 * raw event's name or id holds a line break; FL_EJSON from the Anthropic non-streaming body, and
 * from Gemini's stream and body, when the tool arguments are not a JSON object (Anthropic's
 * `input` and Gemini's `args` are the parsed object).
 */
#include "encode/dialect.h"

#include "encode/dialect_impl.h"
#include "base/error.h"
#include "encode/sse.h"
#include "encode/replay.h"
#include "base/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl_timeline__init(fl_timeline_t *tl, const fl_response_t *r)
{
    fl_rand_seed(&tl->rng, r->seed);
    tl->ttft_ms = r->ttft_ms;
    tl->interval_ms = r->interval_ms;
    tl->jitter_ms = r->jitter_ms;
    tl->last_ms = r->ttft_ms;
    tl->n_content = 0;
}

uint64_t fl_timeline__next(fl_timeline_t *tl)
{
    if (tl->n_content++ == 0) {
        tl->last_ms = tl->ttft_ms;
        return tl->last_ms;
    }
    /* Scenario times are far below 2^62 ms; clamp so that the signed arithmetic cannot wrap. */
    int64_t limit = INT64_C(1) << 62;
    int64_t interval = tl->interval_ms > (uint64_t)limit ? limit : (int64_t)tl->interval_ms;
    int64_t jitter = tl->jitter_ms > (uint64_t)limit ? limit : (int64_t)tl->jitter_ms;
    int64_t k = interval + fl_rand_range(&tl->rng, -jitter, jitter);
    if (k < 0)
        k = 0;
    tl->last_ms += (uint64_t)k;
    return tl->last_ms;
}

uint64_t fl_timeline__tail(const fl_timeline_t *tl)
{
    return tl->last_ms;
}

/* Cuts the answer into content pieces (see fl_answer_t.pieces). Returns 0, FL_EINVAL (bad
 * chunking, or text that is not UTF-8) or FL_ENOMEM. */
static int pieces_init(fl_pieces_t *ps, const fl_response_t *r)
{
    if (r->chunks) {
        for (size_t i = 0; i < r->n_chunks; i++)
            if (!fl_utf8_valid(r->chunks[i], strlen(r->chunks[i])))
                return FL_EINVAL;
        if (r->n_chunks == 0)
            return 0;
        ps->items = calloc(r->n_chunks, sizeof(*ps->items));
        if (!ps->items)
            return FL_ENOMEM;
        for (size_t i = 0; i < r->n_chunks; i++)
            ps->items[i] = (fl_piece_t){r->chunks[i], strlen(r->chunks[i])};
        ps->len = r->n_chunks;
        return 0;
    }
    const char *text = r->text;
    if (!text && r->tool_call)
        text = r->tool_call->arguments;
    if (!text)
        return 0;
    if (!fl_utf8_valid(text, strlen(text)))
        return FL_EINVAL;
    fl_text_piece_t *tp;
    size_t n;
    int rc = fl_text_split(text, strlen(text), r->chunking, r->chunk_bytes, &tp, &n);
    if (rc)
        return rc;
    if (n) {
        ps->items = calloc(n, sizeof(*ps->items));
        if (!ps->items) {
            free(tp);
            return FL_ENOMEM;
        }
    }
    for (size_t i = 0; i < n; i++)
        ps->items[i] = (fl_piece_t){text + tp[i].off, tp[i].len};
    ps->len = n;
    free(tp);
    return 0;
}

/* The tool call's arguments, else the whole answer text: response.text, or the chunks joined.
 * Appends to out, and makes sure out->data exists even for an empty answer. */
static int full_text(const fl_response_t *r, fl_buf_t *out)
{
    if (r->tool_call)
        return fl_buf_append_str(out, r->tool_call->arguments ? r->tool_call->arguments : "");
    if (r->text)
        return fl_buf_append_str(out, r->text);
    for (size_t i = 0; r->chunks && i < r->n_chunks; i++) {
        int rc = fl_buf_append_str(out, r->chunks[i]);
        if (rc)
            return rc;
    }
    return fl_buf_reserve(out, 0);
}

int fl_answer__init(fl_answer_t *a, const fl_scenario_t *sc, const fl_encode_ctx_t *ctx,
                    fl_script_t *out)
{
    memset(a, 0, sizeof(*a));
    a->sc = sc;
    a->ctx = ctx;
    a->out = out;
    fl_buf_init(&a->full);
    fl_timeline__init(&a->tl, &sc->response);
    int rc = pieces_init(&a->pieces, &sc->response);
    return rc ? rc : full_text(&sc->response, &a->full);
}

void fl_answer__close(fl_answer_t *a)
{
    free(a->pieces.items);
    a->pieces.items = NULL;
    a->pieces.len = 0;
    fl_buf_close(&a->full);
}

json_t *fl_answer__piece(const fl_answer_t *a, size_t i)
{
    return fl_json__strn(a->pieces.items[i].p, a->pieces.items[i].len);
}

int fl_answer__content(fl_answer_t *a, const char *name, json_t *j)
{
    return fl_push__json(a->out, FL_EVENT_CONTENT, fl_timeline__next(&a->tl), name, j);
}

int64_t fl_usage__input(const fl_scenario_t *sc)
{
    if (sc->response.input_tokens >= 0)
        return sc->response.input_tokens;
    int64_t words = 0;
    bool in_word = false;
    for (const char *p = sc->prompt ? sc->prompt : ""; *p; p++) {
        bool space = strchr(" \t\n\v\f\r", *p) != NULL;
        if (!space && !in_word)
            words++;
        in_word = !space;
    }
    return words > 0 ? words : 1;
}

int64_t fl_answer__output_tokens(const fl_answer_t *a)
{
    const fl_response_t *r = &a->sc->response;
    if (r->output_tokens >= 0)
        return r->output_tokens;
    return (int64_t)(a->pieces.len + (r->tool_call ? 1 : 0));
}

json_t *fl_json__strn(const char *p, size_t len)
{
    return json_stringn(p, len);
}

json_t *fl_json__str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

int fl_json__append(fl_buf_t *out, json_t *j)
{
    if (!j)
        return FL_ENOMEM;
    /* jansson keeps insertion order and writes UTF-8 unescaped unless JSON_ENSURE_ASCII. */
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s)
        return FL_ENOMEM;
    int rc = fl_buf_append_str(out, s);
    free(s);
    return rc;
}

int fl_json__event(fl_buf_t *out, const char *name, json_t *j)
{
    fl_buf_t data;
    fl_buf_init(&data);
    int rc = fl_json__append(&data, j);
    if (!rc) {
        fl_sse_event_t sse = {.event = name, .data = data.data, .data_len = data.len, .retry = -1};
        rc = fl_sse_encode(out, &sse);
    }
    fl_buf_close(&data);
    return rc;
}

int fl_push__json(fl_script_t *s, fl_event_kind_t kind, uint64_t at_ms, const char *name, json_t *j)
{
    fl_buf_t ev;
    fl_buf_init(&ev);
    int rc = fl_json__event(&ev, name, j);
    if (!rc)
        rc = fl_script_push(s, kind, at_ms, ev.data, ev.len);
    fl_buf_close(&ev);
    return rc;
}

int fl_push__str(fl_script_t *s, fl_event_kind_t kind, uint64_t at_ms, const char *bytes)
{
    return fl_script_push(s, kind, at_ms, bytes, strlen(bytes));
}

const char *fl_encode__id(const fl_encode_ctx_t *ctx, const char *prefix, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s", prefix, ctx->id ? ctx->id : "");
    return buf;
}

const char *fl_tool__call_id(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx,
                             const char *prefix, char *buf, size_t n)
{
    const fl_tool_call_t *tc = sc->response.tool_call;
    if (tc && tc->id && tc->id[0]) {
        snprintf(buf, n, "%s", tc->id);
        return buf;
    }
    return fl_encode__id(ctx, prefix, buf, n);
}

/* response.events: each raw event at the time content event i would go, kind FL_EVENT_RAW. */
static int encode_raw(const fl_scenario_t *sc, fl_script_t *out)
{
    const fl_response_t *r = &sc->response;
    fl_timeline_t tl;
    fl_timeline__init(&tl, r);
    fl_buf_t b;
    fl_buf_init(&b);
    int rc = 0;
    for (size_t i = 0; i < r->n_events && !rc; i++) {
        const fl_raw_event_t *e = &r->events[i];
        uint64_t at = fl_timeline__next(&tl);
        if (e->raw) {
            rc = fl_script_push(out, FL_EVENT_RAW, at, e->raw, e->raw_len);
            continue;
        }
        b.len = 0;
        fl_sse_event_t sse = {.event = e->event,
                              .data = e->data,
                              .data_len = (size_t)-1,
                              .id = e->id,
                              .retry = e->retry};
        rc = fl_sse_encode(&b, &sse);
        if (!rc)
            rc = fl_script_push(out, FL_EVENT_RAW, at, b.data, b.len);
    }
    fl_buf_close(&b);
    return rc;
}

/* One row per dialect: where it answers, its end marker, its keep-alive, and its encoders. */
typedef struct dialect_row_s {
    const char *path;     /* fl_dialect_path's answer */
    const char *sentinel; /* fl_dialect_sentinel_name's answer */
    const char *ping;     /* fl_dialect_encode_ping's bytes */
    int (*stream)(fl_answer_t *a);
    json_t *(*body)(const fl_answer_t *a, int *rc);
    int (*body_append)(fl_buf_t *out, json_t *j); /* how the body's JSON is written; takes j */
    int (*error_body)(int status, fl_error_class_t cls, const char *message, fl_buf_t *out);
    int (*error_event)(fl_error_class_t cls, const char *message, const fl_encode_ctx_t *ctx,
                       fl_buf_t *out);
} dialect_row_t;

/* The SSE comment ": ping" as an event of its own (fl_sse_encode_comment's line, then the blank
 * line). */
#define COMMENT_PING ": ping\n\n"

static const dialect_row_t dialects[] = {
    [FL_DIALECT_OPENAI_CHAT] = {"/v1/chat/completions", "[DONE]", COMMENT_PING,
                                fl_openai__chat_stream, fl_openai__chat_body, fl_json__append,
                                fl_openai__error_body, fl_openai__chat_error_event},
    [FL_DIALECT_OPENAI_RESPONSES] = {"/v1/responses", "response.completed", COMMENT_PING,
                                     fl_openai__responses_stream, fl_openai__responses_body,
                                     fl_json__append, fl_openai__error_body,
                                     fl_openai__responses_error_event},
    /* Anthropic writes its ping payload with a space after the colon (Streaming Messages,
     * "Ping events"), unlike its other, compact, events. */
    [FL_DIALECT_ANTHROPIC_MESSAGES] = {"/v1/messages", "message_stop",
                                       "event: ping\ndata: {\"type\": \"ping\"}\n\n",
                                       fl_anthropic__stream, fl_anthropic__body, fl_json__append,
                                       fl_anthropic__error_body, fl_anthropic__error_event},
    /* Gemini sends no keep-alives; a comment in its own CRLF framing stands in for one. Its end
     * marker is the chunk that carries finishReason. */
    [FL_DIALECT_GEMINI] = {"/v1beta/models/{model}:streamGenerateContent", "finishReason",
                           ": ping\r\n\r\n", fl_gemini__stream, fl_gemini__body,
                           fl_gemini__json_append, fl_gemini__error_body, fl_gemini__error_event},
};

/* The dialect's row, or NULL for a value outside the enum. */
static const dialect_row_t *dialect_ops(fl_dialect_t d)
{
    return (unsigned)d < sizeof(dialects) / sizeof(dialects[0]) ? &dialects[d] : NULL;
}

int fl_dialect_encode_stream(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx, fl_script_t *out)
{
    const dialect_row_t *ops = dialect_ops(sc->dialect);
    int rc;
    if (sc->response.replay) {
        rc = fl_replay_encode(sc->response.replay, out);
    } else if (sc->response.events) {
        rc = encode_raw(sc, out);
    } else if (!ops) {
        rc = FL_EDIALECT;
    } else {
        fl_answer_t a;
        rc = fl_answer__init(&a, sc, ctx, out);
        if (!rc)
            rc = ops->stream(&a);
        fl_answer__close(&a);
    }
    if (rc) {
        fl_script_close(out);
        fl_script_init(out);
    }
    return rc;
}

int fl_dialect_encode_body(const fl_scenario_t *sc, const fl_encode_ctx_t *ctx, fl_buf_t *out)
{
    const dialect_row_t *ops = dialect_ops(sc->dialect);
    if (sc->response.events || sc->response.replay || !ops)
        return FL_EDIALECT;
    fl_answer_t a;
    int rc = fl_answer__init(&a, sc, ctx, NULL);
    if (!rc) {
        json_t *body = ops->body(&a, &rc);
        if (!rc)
            rc = ops->body_append(out, body);
    }
    fl_answer__close(&a);
    return rc;
}

/* An unknown dialect answers errors as OpenAI chat does (the most widely copied shape). */
int fl_dialect_encode_http_error_body(fl_dialect_t d, int status, fl_error_class_t cls,
                                      const char *message, fl_buf_t *out)
{
    const dialect_row_t *ops = dialect_ops(d);
    return (ops ? ops : &dialects[FL_DIALECT_OPENAI_CHAT])->error_body(status, cls, message, out);
}

int fl_dialect_encode_error_body(fl_dialect_t d, fl_error_class_t cls, const char *message,
                                 fl_buf_t *out)
{
    return fl_dialect_encode_http_error_body(d, 0, cls, message, out);
}

int fl_dialect_encode_error_event(fl_dialect_t d, fl_error_class_t cls, const char *message,
                                  const fl_encode_ctx_t *ctx, fl_buf_t *out)
{
    const dialect_row_t *ops = dialect_ops(d);
    return (ops ? ops : &dialects[FL_DIALECT_OPENAI_CHAT])->error_event(cls, message, ctx, out);
}

int fl_dialect_encode_ping(fl_dialect_t d, fl_buf_t *out)
{
    const dialect_row_t *ops = dialect_ops(d);
    return fl_buf_append_str(out, (ops ? ops : &dialects[FL_DIALECT_OPENAI_CHAT])->ping);
}

const char *fl_dialect_sentinel_name(fl_dialect_t d)
{
    const dialect_row_t *ops = dialect_ops(d);
    return ops ? ops->sentinel : "";
}

const char *fl_dialect_path(fl_dialect_t d)
{
    const dialect_row_t *ops = dialect_ops(d);
    return ops ? ops->path : "";
}
