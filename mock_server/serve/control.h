/*
 * The control API for test suites, under /_faultline/ beside health, journal and reset
 * (route.c): sessions, runtime scenarios and verdicts on demand. Every answer is a whole JSON
 * response; errors are {"error":{"message":...}} (plus "diagnostics" for a scenario the loader
 * refused). The shapes are in docs/control.schema.json; the README has the table.
 *
 *   POST   /_faultline/sessions            a new session: id, prefix, base URLs per dialect
 *   GET    /_faultline/sessions            the live sessions and their runtime scenarios
 *   DELETE /_faultline/sessions/ID         ends a session, freeing its scenarios and counters
 *   POST   /_faultline/scenarios           adds (or replaces) a scenario, YAML or JSON body,
 *                                          in the request's session, else globally
 *   GET    /_faultline/scenarios           the scenarios the request's session sees
 *   DELETE /_faultline/scenarios/NAME      removes a runtime scenario of that scope
 *   POST   /_faultline/judge               the verdict of a test's run (server.h judge)
 *
 * The request's session comes from the /t/ID/ prefix, the x-faultline-session header or the
 * query's session=ID, in that order (route.c resolves it).
 */
#ifndef FL_CONTROL_H
#define FL_CONTROL_H

#include "serve/http.h"
#include "serve/reply.h"
#include "serve/server.h"

/**
 * Answers the control request req for path (req->path without a /t/ID/ prefix) in the session
 * called session_id (NULL: none) into r (initialised, r->close set): a whole JSON response
 * (404 for a path it does not know, 405 for a wrong method). id is the response id. Returns 0
 * or FL_ENOMEM.
 */
int fl_control_request(fl_server_t *srv, const fl_http_request_t *req, const char *path,
                       const char *session_id, fl_reply_t *r, const char *id);

#endif
