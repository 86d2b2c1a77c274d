/*
 * Routing: one parsed request -> which reply. API paths (POST /v1/chat/completions,
 * /v1/responses, /v1/messages, Gemini's /v1beta/models/MODEL:streamGenerateContent?alt=sse and
 * :generateContent (also under /v1/), each also under /s/NAME/) answer from a scenario through
 * the reply pipeline (reply.h); control paths live under /_faultline/. Scenario choice, in
 * order: the x-faultline-scenario header, the /s/NAME/ prefix, the model (the body's "model",
 * Gemini's path MODEL) naming a scenario of the path's dialect, else the first scenario of that
 * dialect. A scenario's response.path is a route of its own (also under /s/NAME/), where it answers
 * without being named. GET /v1/responses/{id} retrieves a background response of the Responses
 * dialect (whole, or streamed with ?stream=true, resumed after starting_after when the scenario
 * has resume); a streamed request's Last-Event-ID resumes likewise (encode/script.h
 * fl_script_resume). Gemini streams by path, the others by the body's "stream". HTTP/1.0 clients
 * always get `connection: close` (no keep-alive for 1.0, which keeps the framing rules simple:
 * their streamed bodies end at FIN).
 */
#ifndef FL_ROUTE_H
#define FL_ROUTE_H

#include "serve/http.h"
#include "serve/journal.h"
#include "serve/reply.h"
#include "serve/server.h"

#include <stdbool.h>

/**
 * Decides the reply to req: routing, scenario choice, journal entry, attempt count, then the
 * reply pipeline. r is initialised here (fl_reply_close it in every case). Returns 0 (r holds a
 * wire plan; an error reply is still a reply) or FL_ENOMEM. The journal comes whole from here
 * (for callers that cannot stream it); the connection streams it with fl_route_journal.
 */
int fl_route_request(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r);

/**
 * The journal's answer to GET /_faultline/journal?since=SEQ&limit=N (both optional: every entry
 * kept, from the oldest), whose body the connection writes a batch at a time instead of building
 * it whole: r (initialised here) gets the head in r->out (200, application/json, chunked, or for
 * HTTP/1.0 close-delimited with r->close set) and *page the page to write. Returns 1 when req is
 * such a request, 0 when it is not (answer it with fl_route_request, which also refuses a bad
 * query with 400 and another method with 405), or FL_ENOMEM. *chunked says which framing the
 * body takes.
 */
int fl_route_journal(fl_server_t *srv, const fl_http_request_t *req, fl_reply_t *r,
                     fl_journal_page_t *page, bool *chunked);

/**
 * A JSON error reply {"error":{"message":...}} with `connection: close`, for input that never
 * became a request (status 400, 413, 431 from the parser; 500). r is initialised here.
 * Returns 0 or FL_ENOMEM.
 */
int fl_route_error_reply(fl_server_t *srv, int status, const char *message, fl_reply_t *r);

#endif
