/*
 * The live fault applier: a scenario attempt's faults (model/fault.h, the same catalog and
 * language as mock scenarios) applied to an upstream's answer as its bytes arrive.
 *
 * The proxy feeds it the upstream's response head once, then each read of the body as it comes,
 * then how the body ended; after each call it takes the actions (fl_live_act_t) the applier
 * queued: writes (with their origin, docs/capture.md), faults that fired, waits, the end. On the
 * clean path one upstream read gives one write, so the client sees the upstream's own write
 * boundaries. An incremental SSE splitter (WHATWG HTML 9.2.6: an event ends at a blank line; LF,
 * CR and CRLF line ends) counts live events over the upstream bytes, so positions work on the
 * live stream as on a scripted one:
 *   headers    before the response head;
 *   event N    before live event N: when event N-1 is complete (event 1: right after the head);
 *   byte N     before upstream body byte N;
 *   content N  before the Nth live event that carries answer text (fl_live_classify);
 *   ms N       N ms after the request was complete (the clock the caller passes);
 *   end        where the upstream's body ended properly.
 * A positioned fault needs its position stated: the live stream's length is not known ahead, so
 * the scripted default (the middle event) does not exist and the fault is skipped with a reason.
 *
 * How each fault acts: cut faults (reset, close) end the response at the position; stall holds
 * what follows back (SSE keep-alive pings while it waits when keepalive_ms is set; for good with
 * ms: forever); throttle paces every later write; fragment splits the event at the position
 * into pieces of `bytes` with gap_ms between (or the body at `offsets`); delay_headers holds the
 * head back; proxy_timeout and idle_timeout act on the real stream's timing (before the head
 * arrives: the proxy's HTML page, after: a cut). Body faults (end, drop_sentinel, corrupt,
 * line_endings, duplicate, inject, error_event) are carried out by the chaos compiler itself
 * (chaos.h fl_chaos_compile) on the event they act on, which the applier holds back until it is
 * complete: a one-event script with the fault at that event, so a live event is rewritten
 * exactly as a scripted one. Response faults (http_error, refuse, no_response) never reach the
 * applier: the proxy compiles them into a plan without calling the upstream
 * (fl_live_plan_acts). A fault that cannot apply (chaos.h fl_chaos_applies, or an event position
 * on a body that is not SSE) becomes a SKIP action with the reason, and the body goes on clean.
 */
#ifndef FL_LIVE_H
#define FL_LIVE_H

#include "base/buf.h"
#include "chaos/wire.h"
#include "encode/dialect.h"
#include "encode/script.h"
#include "model/capture.h"
#include "model/fault.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** What an action does. */
typedef enum {
    FL_LIVE_WRITE, /* bytes for the client (or kept from it: origin withheld) */
    FL_LIVE_FIRE,  /* fault `fault` takes effect here (journal) */
    FL_LIVE_SKIP,  /* fault `fault` cannot apply to this response; `reason` says why */
    FL_LIVE_WAIT,  /* hold every later action back `ms` ms; ping bytes every every_ms if any */
    FL_LIVE_END,   /* the response ends (see fl_live_end_t); nothing follows */
} fl_live_act_kind_t;

/** How a response ends. */
typedef enum {
    FL_LIVE_DONE, /* properly: the body's terminator (chunked) or FIN (close-delimited) */
    FL_LIVE_FIN,  /* FIN before the body's end */
    FL_LIVE_RST,  /* RST */
    FL_LIVE_HANG, /* nothing more; the connection stays open until the client goes */
    FL_LIVE_PING, /* ping bytes every every_ms until the client goes */
} fl_live_end_t;

/** One action. Bytes live in the applier's out buffer until fl_live_take. */
typedef struct fl_live_act_s {
    fl_live_act_kind_t kind;
    size_t off, len;            /* WRITE; WAIT and END PING: the ping bytes (len 0: none) */
    fl_capture_origin_t origin; /* WRITE: upstream, fault (injected) or withheld (not sent) */
    bool raw;                   /* WRITE: sent as is, no body framing (a head, a page, a chunk
                                   with a bad size line) */
    bool head;                  /* WRITE: the response head */
    uint32_t fault;             /* FIRE, SKIP: index in the attempt's fault list */
    uint64_t event;             /* FIRE: the live event it acted before (1-based), 0 for none */
    uint64_t byte;              /* FIRE: the upstream body offset it acted at */
    uint64_t ms;                /* WAIT: how long; FIRE: how long it keeps the client waiting on
                                   purpose (UINT64_MAX for good), 0 when it does not */
    uint64_t every_ms;          /* WAIT, END PING: ping period */
    fl_live_end_t end;          /* END */
    uint32_t events_done;       /* WRITE: live events whose last byte it carries */
    char reason[FL_WIRE_REASON_BYTES]; /* SKIP */
} fl_live_act_t;

/** One attempt's live state. Init, feed, take the actions, close. */
typedef struct fl_live_s fl_live_t;

/** What the applier needs to know about the exchange. Strings borrowed for the call. */
typedef struct fl_live_config_s {
    const fl_fault_t *faults; /* borrowed for the applier's life: the attempt's plan */
    size_t n_faults;
    fl_dialect_t dialect; /* the upstream's dialect (error events, pings) */
    bool chunked;         /* the client's body is chunked (else close-delimited) */
    const char *id;       /* FL_ENCODE_ID_LEN characters: ids of error events */
} fl_live_config_t;

/**
 * Creates an applier. Returns 0 and sets *out (free with fl_live_free), or FL_ENOMEM.
 */
int fl_live_new(const fl_live_config_t *cfg, fl_live_t **out);
/** Frees an applier. NULL is a no-op. */
void fl_live_free(fl_live_t *lv);

/**
 * The upstream's response head has arrived at now_ms (ms after the request was complete):
 * head (len bytes, the head the client is to get: status line, headers, blank line) is queued
 * after the faults at the headers. sse says whether the body is an SSE stream (content-type
 * text/event-stream); faults that need events are skipped on any other body. Returns 0 or
 * FL_ENOMEM.
 */
int fl_live_head(fl_live_t *lv, const char *head, size_t len, bool sse, uint64_t now_ms);

/** len more upstream body bytes arrived at now_ms. Returns 0 or FL_ENOMEM. */
int fl_live_feed(fl_live_t *lv, const char *data, size_t len, uint64_t now_ms);

/** The upstream's body ended properly at now_ms: faults at the end act, then END DONE.
 * Returns 0 or FL_ENOMEM. */
int fl_live_finish(fl_live_t *lv, uint64_t now_ms);

/** Time passed (now_ms): faults at `ms: N`, proxy_timeout and idle_timeout that are due act.
 * Returns 0 or FL_ENOMEM. */
int fl_live_tick(fl_live_t *lv, uint64_t now_ms);

/** When fl_live_tick next has something to do (ms on the same clock), UINT64_MAX for never. */
uint64_t fl_live_next_due(const fl_live_t *lv);

/** True once the applier has queued END: the upstream's further bytes are not wanted. */
bool fl_live_over(const fl_live_t *lv);

/** True once the head was queued (a page replaces it when a timeout fires first). */
bool fl_live_head_queued(const fl_live_t *lv);

/** Live events complete so far (what the splitter counted). */
uint64_t fl_live_events(const fl_live_t *lv);

/**
 * The actions queued since the last take, in order, and the buffer their bytes live in; both
 * stay valid until the next call on lv. Call fl_live_clear once they have been carried out or
 * copied.
 */
const fl_live_act_t *fl_live_acts(const fl_live_t *lv, size_t *n, const fl_buf_t **bytes);
/** Drops the queued actions and their bytes. */
void fl_live_clear(fl_live_t *lv);

/**
 * Compiles a whole response from faults alone (the response faults: http_error, refuse,
 * no_response, with delay_headers) with the chaos compiler and queues it as actions: what the
 * proxy answers without calling the upstream. Returns 0, FL_ENOMEM or the compiler's error.
 */
int fl_live_plan(fl_live_t *lv);

/**
 * Classifies one complete SSE event (its bytes, blank line included) the way the providers use
 * it: `data: [DONE]`, message_stop and response.completed are FL_EVENT_SENTINEL; an event with a
 * finish reason (finish_reason, message_delta's stop_reason, Gemini's finishReason) is
 * FL_EVENT_FINISH, or FL_EVENT_SENTINEL for Gemini, whose last chunk is its end marker; an event
 * that carries answer or tool-call argument text is FL_EVENT_CONTENT, and that text is appended
 * to text (NULL: not wanted); a comment-only event or Anthropic's ping is FL_EVENT_PING; the rest
 * FL_EVENT_META. Sources: the dialect files' references (encode/dialect.h).
 */
fl_event_kind_t fl_live_classify(const char *event, size_t len, fl_buf_t *text);

/**
 * What a client got, as a person reads it: the answer text of the SSE events it was sent
 * (fl_live_classify) and whether the stream's own end marker was among them. Fed the body bytes
 * sent to the client, in any fragmentation; an event counts once its blank line has come.
 * Init, feed, close.
 */
typedef struct fl_live_relayed_s {
    fl_buf_t pending; /* bytes of the event in progress */
    fl_buf_t text;    /* the answer text so far (at most FL_LIVE_TEXT_MAX bytes) */
    bool end_marker;  /* `data: [DONE]`, message_stop, response.completed, Gemini's finish */
    bool truncated;   /* text reached FL_LIVE_TEXT_MAX */
} fl_live_relayed_t;

/** Bound on fl_live_relayed_t.text (bytes). */
#define FL_LIVE_TEXT_MAX (256u * 1024)

/** Prepares an empty tracker. Never fails. */
void fl_live_relayed_init(fl_live_relayed_t *r);
/** Frees what the tracker holds. */
void fl_live_relayed_close(fl_live_relayed_t *r);
/** Feeds len body bytes the client was sent. Returns 0 or FL_ENOMEM. */
int fl_live_relayed_feed(fl_live_relayed_t *r, const char *data, size_t len);

#endif
