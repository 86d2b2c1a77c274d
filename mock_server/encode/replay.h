/*
 * Replays: a response given as exact writes (scenario.h fl_replay_t, `response.writes:` or
 * `response.capture:`) turned into an event script. The bytes are the writes joined, as they
 * are; the events that fault positions count (`event: N`, `content: N`) are derived from the
 * bytes by SSE framing (WHATWG "event stream interpretation": an event ends at a blank line;
 * trailing bytes without one are a last, cut event); the write boundaries and their times
 * (scaled by `speed`) and the ending go into the script's writes and end, so the chaos compiler
 * sends one write per captured write, at its time, and ends the body as the capture ended.
 */
#ifndef FL_REPLAY_H
#define FL_REPLAY_H

#include "model/scenario.h"
#include "encode/script.h"

/**
 * Encodes rp into out (initialised and empty; left empty on failure). Each event's at_ms is the
 * time of the write holding its first byte; each event's kind is guessed from its fields:
 * `data: [DONE]` and the `message_stop` / `response.completed` events are FL_EVENT_SENTINEL, a
 * comment-only event or an `event: ping` FL_EVENT_PING, the rest FL_EVENT_RAW.
 * Returns 0 or FL_ENOMEM.
 */
int fl_replay_encode(const fl_replay_t *rp, fl_script_t *out);

#endif
