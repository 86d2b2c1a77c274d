/*
 * The answer a robust client assembles from one attempt, in each dialect's own terms.
 *
 * Streaming: rc_answer_event takes each SSE event and accumulates text deltas and tool-call
 * argument deltas, notices the dialect's end marker and in-stream errors, and says which
 * events carry content (for the idle timeout). Non-streaming: rc_answer_body reads the
 * dialect's single JSON object. Wire formats:
 *  - OpenAI Chat Completions, "Streaming" (chat.completion.chunk, delta.content,
 *    delta.tool_calls[].function.arguments, finish_reason, `data: [DONE]`), "Error codes";
 *  - OpenAI Responses, "Streaming events" (response.output_text.delta,
 *    response.function_call_arguments.delta/.done, response.completed / .incomplete /
 *    .failed, error);
 *  - Anthropic Messages, "Streaming messages" (message_start, content_block_start/_delta/_stop
 *    with text_delta / input_json_delta, message_delta, message_stop, ping, error), "Errors";
 *  - Gemini API, "Generating content" (streamGenerateContent?alt=sse: one
 *    GenerateContentResponse per event, candidates[0].content.parts[] with `text` or a whole
 *    `functionCall {name, args}`; no sentinel: the chunk carrying candidates[0].finishReason is
 *    the last), and errors {"error": {"code", "message", "status"}}, also as an event of a 200
 *    stream.
 */
#ifndef RC_ANSWER_H
#define RC_ANSWER_H

#include <stddef.h>

#include "rc_sse.h"

/** The dialect spoken (FAULTLINE_DIALECT). */
typedef enum {
    RC_OPENAI_CHAT,
    RC_OPENAI_RESPONSES,
    RC_ANTHROPIC_MESSAGES,
    RC_GEMINI,
} rc_dialect_t;

/** How an attempt's answer stands. */
typedef enum {
    RC_ANS_PARTIAL = 0, /* no end marker yet */
    RC_ANS_DONE,        /* the end marker arrived: the answer is whole */
    RC_ANS_BROKEN,      /* undecodable content: malformed JSON, a sequence gap; retryable */
    RC_ANS_ERROR,       /* the provider reported an error in the stream or body */
} rc_ans_state_t;

/** One tool call; `name` and `args` are owned by the answer. */
typedef struct rc_tool_s {
    long key; /* the dialect's index of the call (chat tool_calls[].index, block index...) */
    rc_buf_t name;
    rc_buf_t args; /* the arguments JSON text, concatenated from the deltas */
} rc_tool_t;

#define RC_MAX_TOOLS 16

/** The state of one attempt's answer. Zero it (rc_answer_init) per attempt. */
typedef struct rc_answer_s {
    rc_dialect_t dialect;
    rc_ans_state_t state;
    int retryable;   /* for RC_ANS_ERROR: the provider marks the error transient */
    rc_buf_t text;   /* the answer text so far; owned */
    rc_buf_t reason; /* for BROKEN/ERROR: why, for stderr; owned */
    rc_buf_t last;   /* the previous content event's data, to spot a replayed event; owned */
    rc_tool_t tools[RC_MAX_TOOLS];
    int ntools;
    long next_seq; /* Responses: the sequence_number expected next (-1: not started) */
    /* How the answer ended, as received, for the structured result (README, client
     * contract): only what actually arrived */
    char finish[32];     /* the finish reason in the dialect's words; "" until one arrives */
    long long usage_in;  /* input tokens reported; -1 none */
    long long usage_out; /* output tokens reported; -1 none */
    char id[96];         /* the response's id; "" none */
} rc_answer_t;

/** Prepares `a` for a new attempt in `dialect`; frees what a previous attempt held. The first
 *  call must be on zeroed memory. */
void rc_answer_init(rc_answer_t *a, rc_dialect_t dialect);

/** Frees everything `a` holds. */
void rc_answer_close(rc_answer_t *a);

/**
 * Writes the structured result of a whole answer (README, "The client contract") to path:
 * {text, finish_reason, usage, tool_calls, response_id}, each only when it arrived. Written to
 * path.tmp and renamed, so a reader never sees half a file. Returns 0 or -1.
 */
int rc_answer_write_result(const rc_answer_t *a, const char *path);

/**
 * Applies one streamed event. Returns 1 when the event carried content (resets the idle
 * timer), 0 when it did not, -1 when the answer is now DONE, BROKEN or ERROR (see a->state;
 * the caller stops reading on BROKEN and ERROR).
 */
int rc_answer_event(rc_answer_t *a, const rc_sse_event_t *ev);

/**
 * Reads a non-streaming response body (`len` bytes of JSON). Sets a->state to DONE, BROKEN or
 * ERROR and returns 0 for DONE, -1 otherwise.
 */
int rc_answer_body(rc_answer_t *a, const char *body, size_t len);

/**
 * Formats the final answer into `out` (cleared first): the text, or for a tool-call answer one
 * line {"name":...,"arguments":{...}} per call. Returns 0, or -1 when a call's arguments are
 * not a JSON object (the answer is then unusable; a->reason says why).
 */
int rc_answer_format(rc_answer_t *a, rc_buf_t *out);

/**
 * Whether an error with this provider `code`, `type` or (Gemini) `status` string is transient
 * (worth retrying): rate limits, overload, server errors and time-outs. NULL is not transient.
 */
int rc_error_is_transient(const char *code_or_type);

#endif
