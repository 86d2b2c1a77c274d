/*
 * Downstream decoders: what a browser makes of the bytes a relay (a backend between the provider
 * and the browser) streams to it, in relay mode (`faultline run --relay`, README, "Relays under
 * test"). One decoder per format; each is fed the response body (HTTP framing already removed)
 * in whatever pieces the network delivered, and keeps the answer text decoded so far, whether the
 * format's complete end came, and whether the relay signalled an explicit error in the body.
 *
 * What the HTTP layer decides is the browser's (run/browser.c), the same for every format: a
 * status outside 2xx is an explicit error before the body; an aborted body (RST, a chunked body
 * cut without its terminator, a Content-Length not reached) is an explicit error mid-body, the
 * network error a browser's fetch() throws.
 *
 * Each format's complete end and explicit error:
 *   openai-chat         SSE as OpenAI's Chat Completions streams it; text: choices[0].delta
 *                       .content; end: `data: [DONE]`; error: an event whose JSON holds "error"
 *                       (what OpenAI sends mid-stream) or named `event: error`.
 *   openai-responses    SSE of the Responses API; text: response.output_text.delta's "delta";
 *                       end: response.completed; error: "error", response.failed or
 *                       response.incomplete.
 *   anthropic-messages  SSE of the Messages API; text: content_block_delta text_delta's "text";
 *                       end: message_stop; error: an `error` event.
 *   text                the body is the answer; end: the body ends cleanly (decided by the
 *                       browser: fl_downstream_finish with clean true); error: only by HTTP.
 *   ndjson              one JSON object a line: {"text": "..."} appends, {"error": "..." or
 *                       {"message": ...}} is the error, {"done": true} the end.
 *   ai-sdk-ui           the Vercel AI SDK UI message stream (ai's JsonToSseTransformStream:
 *                       `data: <part JSON>` events, then `data: [DONE]`); text: "text-delta"
 *                       parts' "delta"; end: a "finish" part; error: an "error" part's
 *                       "errorText".
 * SSE framing follows the WHATWG HTML standard, "Server-sent events" (9.2.6): lines end in CRLF,
 * LF or CR; a line starting with ':' is a comment (a heartbeat); an event is dispatched at a
 * blank line, and one cut off by the end of the body is discarded.
 */
#ifndef FL_DOWNSTREAM_H
#define FL_DOWNSTREAM_H

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* X(name, spelling): the downstream formats, as --downstream spells them. */
#define FL_DOWNSTREAM_MAP(X)                                                                       \
    X(OPENAI_CHAT, "openai-chat")                                                                  \
    X(OPENAI_RESPONSES, "openai-responses")                                                        \
    X(ANTHROPIC_MESSAGES, "anthropic-messages")                                                    \
    X(TEXT, "text")                                                                                \
    X(NDJSON, "ndjson")                                                                            \
    X(AI_SDK_UI, "ai-sdk-ui")

/** A downstream format. */
typedef enum {
#define X(name, s) FL_DOWNSTREAM_##name,
    FL_DOWNSTREAM_MAP(X)
#undef X
        FL_DOWNSTREAM_COUNT
} fl_downstream_format_t;

/** The format's spelling ("ai-sdk-ui"), or "?" out of range. */
const char *fl_downstream_format_name(fl_downstream_format_t f);

/** Parses a spelling into *out. Returns 0 or FL_EINVAL. */
int fl_downstream_format_parse(const char *s, fl_downstream_format_t *out);

/** The comma-separated list of every spelling, for usage messages. */
const char *fl_downstream_format_list(void);

/**
 * The default body of the browser's request for a format: a JSON template in which {prompt}
 * and {model} stand for the scenario's prompt and model as JSON strings (quotes included). The
 * provider formats send the provider's own request (stream: true); text and ndjson send
 * {"prompt": ...}; ai-sdk-ui sends what useChat() posts: {"messages": [a UIMessage with one
 * text part]}. Static storage.
 */
const char *fl_downstream_default_request(fl_downstream_format_t f);

/** Bound on the error message a decoder keeps (bytes, NUL included). */
#define FL_DOWNSTREAM_ERROR_MAX 200

/** One decoder's state. Memory provided by the caller: init, feed..., finish, close. */
typedef struct fl_downstream_s {
    fl_downstream_format_t format;
    fl_buf_t text;   /* owned: the answer decoded so far (empty until text arrives) */
    bool done;       /* the format's complete end came */
    bool error;      /* the body carried an explicit error (error_msg says what) */
    bool malformed;  /* a frame did not parse as the format says (counted, then skipped) */
    bool after_end;  /* content came after the complete end or an error (ignored) */
    uint64_t frames; /* events, lines or parts decoded (comments and blank lines not counted) */
    char error_msg[FL_DOWNSTREAM_ERROR_MAX]; /* what the error said, one line ("" none) */
    /* framing state, private to downstream.c */
    fl_buf_t line;  /* owned: the line being assembled */
    fl_buf_t data;  /* owned: the SSE event's data lines so far, LF-joined */
    char event[48]; /* the SSE event's name ("" = message) */
    bool has_data;  /* a data line came for the event being assembled */
    bool cr;        /* the last byte was a CR: an LF right after it ends nothing */
} fl_downstream_t;

/** Prepares an empty decoder for format f. Never fails. */
void fl_downstream_init(fl_downstream_t *d, fl_downstream_format_t f);

/**
 * Feeds n body bytes (any split: a frame may span calls). Returns 0, or FL_ENOMEM (the decoder
 * stays usable; the bytes are lost).
 */
int fl_downstream_feed(fl_downstream_t *d, const char *p, size_t n);

/**
 * Ends the body. clean: it ended as its framing said (the chunked terminator, the whole
 * Content-Length, or a FIN for a close-delimited body), not aborted. For `text` a clean end is
 * the complete end; for the line formats a last line without its newline is still decoded
 * (ndjson), while an SSE event without its blank line is discarded.
 */
void fl_downstream_finish(fl_downstream_t *d, bool clean);

/** Frees what the decoder owns. */
void fl_downstream_close(fl_downstream_t *d);

#endif
