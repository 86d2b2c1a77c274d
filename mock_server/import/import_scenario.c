/*
 * A capture in, a v1 scenario (YAML text) out (import.h fl_import_scenario). The scenario
 * replays the exchange with `response.writes` byte for byte and time for time; how it ended
 * becomes the fault or ending that reproduces it; `expect` says what a graceful client does.
 */
#include "import/import_impl.h"

#include "base/error.h"
#include "base/text.h"
#include "encode/sse.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- YAML output --------------------------------------------------------------------------- */

/*
 * Appends s as a YAML double-quoted scalar (YAML 1.2 section 7.3.1): \\ and \" escaped, C0
 * controls, DEL and C1 controls as escapes (YAML allows none of them raw), the rest as UTF-8.
 * The bytes must be valid UTF-8.
 */
static int yaml_str(fl_buf_t *b, const char *s, size_t n)
{
    int rc = fl_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n && !rc;) {
        unsigned char ch = (unsigned char)s[i];
        size_t k = fl_utf8_char_len(s + i, n - i);
        if (k == 0)
            k = 1;
        if (ch == '"' || ch == '\\') {
            char e[2] = {'\\', (char)ch};
            rc = fl_buf_append(b, e, 2);
        } else if (ch == '\n') {
            rc = fl_buf_append(b, "\\n", 2);
        } else if (ch == '\r') {
            rc = fl_buf_append(b, "\\r", 2);
        } else if (ch == '\t') {
            rc = fl_buf_append(b, "\\t", 2);
        } else if (ch < 0x20 || ch == 0x7f) {
            rc = fl_buf_printf(b, "\\x%02X", ch);
        } else if (k == 2 && ch == 0xc2 && (unsigned char)s[i + 1] < 0xa0) {
            rc = fl_buf_printf(b, "\\x%02X", (unsigned char)s[i + 1]); /* C1, U+0080..U+009F */
        } else if (k == 3 && memcmp(s + i, "\xef\xbb\xbf", 3) == 0) {
            rc = fl_buf_append_str(b, "\\uFEFF");
        } else if (k == 3 && ch == 0xef && (unsigned char)s[i + 1] == 0xbf &&
                   (unsigned char)s[i + 2] >= 0xbe) {
            rc = fl_buf_printf(b, "\\uFFF%c", s[i + 2] == '\xbe' ? 'E' : 'F');
        } else {
            rc = fl_buf_append(b, s + i, k);
        }
        i += k;
    }
    return rc ? rc : fl_buf_append(b, "\"", 1);
}

static bool yaml_text_ok(const char *p, size_t n)
{
    return n && !memchr(p, '\0', n) && fl_utf8_valid(p, n);
}

/* ---- the dialect --------------------------------------------------------------------------- */

static const char *dialect_from_path(const char *path)
{
    if (!path)
        return NULL;
    if (strstr(path, "/chat/completions"))
        return "openai-chat";
    if (strstr(path, "/responses"))
        return "openai-responses";
    if (strstr(path, "/messages"))
        return "anthropic-messages";
    if (strstr(path, "generateContent"))
        return "gemini";
    return NULL;
}

/* The data of one SSE event (its data lines joined by LF) into out; the event name into name. */
static int event_fields(const char *p, size_t n, fl_buf_t *data, char *name, size_t name_n)
{
    int rc = 0;
    bool first = true;
    name[0] = '\0';
    for (size_t i = 0; i < n && !rc;) {
        size_t e = i;
        while (e < n && p[e] != '\r' && p[e] != '\n')
            e++;
        const char *v = NULL;
        size_t vl = 0;
        if (e - i >= 5 && memcmp(p + i, "data:", 5) == 0) {
            v = p + i + 5;
            vl = e - i - 5;
            if (vl && *v == ' ')
                v++, vl--;
            if (!first)
                rc = fl_buf_append(data, "\n", 1);
            if (!rc)
                rc = fl_buf_append(data, v, vl);
            first = false;
        } else if (e - i >= 6 && memcmp(p + i, "event:", 6) == 0) {
            v = p + i + 6;
            vl = e - i - 6;
            if (vl && *v == ' ')
                v++, vl--;
            snprintf(name, name_n, "%.*s", (int)vl, v);
        }
        i = e < n && p[e] == '\r' && e + 1 < n && p[e + 1] == '\n' ? e + 2 : e + 1;
    }
    return rc;
}

static const char *dialect_from_event(const char *name, json_t *j)
{
    const char *type = json_string_value(json_object_get(j, "type"));
    if (json_object_get(j, "choices"))
        return "openai-chat";
    if (json_object_get(j, "candidates"))
        return "gemini";
    if ((type && strncmp(type, "response.", 9) == 0) || strncmp(name, "response.", 9) == 0)
        return "openai-responses";
    if ((type && (strncmp(type, "message_", 8) == 0 || strncmp(type, "content_block", 13) == 0)) ||
        strncmp(name, "message_", 8) == 0 || strncmp(name, "content_block", 13) == 0)
        return "anthropic-messages";
    return NULL;
}

/* Appends the answer text one event carries in dialect d; sets *tool when it is a tool call. */
static int event_text(const char *d, json_t *j, fl_buf_t *ans, bool *tool)
{
    const char *type = json_string_value(json_object_get(j, "type"));
    if (strcmp(d, "openai-chat") == 0) {
        json_t *delta = json_object_get(json_array_get(json_object_get(j, "choices"), 0), "delta");
        if (json_object_get(delta, "tool_calls") || json_object_get(delta, "function_call"))
            *tool = true;
        const char *t = json_string_value(json_object_get(delta, "content"));
        return t ? fl_buf_append_str(ans, t) : 0;
    }
    if (strcmp(d, "openai-responses") == 0) {
        if (type && strstr(type, "function_call"))
            *tool = true;
        const char *t = type && strcmp(type, "response.output_text.delta") == 0
                            ? json_string_value(json_object_get(j, "delta"))
                            : NULL;
        return t ? fl_buf_append_str(ans, t) : 0;
    }
    if (strcmp(d, "anthropic-messages") == 0) {
        json_t *delta = json_object_get(j, "delta");
        const char *dt = json_string_value(json_object_get(delta, "type"));
        if (dt && strcmp(dt, "input_json_delta") == 0)
            *tool = true;
        const char *t =
            type && strcmp(type, "content_block_delta") == 0 && dt && strcmp(dt, "text_delta") == 0
                ? json_string_value(json_object_get(delta, "text"))
                : NULL;
        return t ? fl_buf_append_str(ans, t) : 0;
    }
    json_t *parts = json_object_get(
        json_object_get(json_array_get(json_object_get(j, "candidates"), 0), "content"), "parts");
    size_t i;
    json_t *part;
    json_array_foreach(parts, i, part)
    {
        if (json_object_get(part, "functionCall"))
            *tool = true;
        const char *t = json_string_value(json_object_get(part, "text"));
        int rc = t ? fl_buf_append_str(ans, t) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

/* Works out the dialect (path first, then events) and the answer text of the body. */
static int read_body(const fl_capture_t *c, const char *body, size_t len, fl_import_notes_t *nt,
                     fl_buf_t *ans, bool *tool, bool *dialect_guessed)
{
    const char *d = dialect_from_path(c->path);
    fl_buf_t data;
    fl_buf_init(&data);
    int rc = 0;
    /* two passes: the dialect from the first event that tells, then the text */
    for (int pass = d ? 1 : 0; pass < 2 && !rc; pass++) {
        for (size_t off = 0; off < len && !rc;) {
            size_t n = fl_sse_event_len(body + off, len - off);
            char name[64];
            data.len = 0;
            rc = event_fields(body + off, n, &data, name, sizeof(name));
            off += n;
            json_t *j = !rc && data.len ? json_loadb(data.data, data.len, 0, NULL) : NULL;
            if (pass == 0 && !d && j)
                d = dialect_from_event(name, j);
            else if (pass == 1 && j)
                rc = event_text(d, j, ans, tool);
            json_decref(j);
            if (pass == 0 && d)
                break;
        }
    }
    fl_buf_close(&data);
    *dialect_guessed = !d;
    snprintf(nt->dialect, sizeof(nt->dialect), "%s", d ? d : "openai-chat");
    return rc;
}

/* ---- the scenario -------------------------------------------------------------------------- */

static const char *model_of(const fl_capture_t *c, char *buf, size_t n)
{
    json_t *j = c->req_body ? json_loadb(c->req_body, c->req_body_len, 0, NULL) : NULL;
    const char *m = json_string_value(json_object_get(j, "model"));
    if (m)
        snprintf(buf, n, "%s", m);
    json_decref(j);
    if (m)
        return buf;
    /* gemini: /v1beta/models/NAME:streamGenerateContent */
    const char *p = c->path ? strstr(c->path, "/models/") : NULL;
    if (p) {
        p += 8;
        size_t k = strcspn(p, ":?/");
        snprintf(buf, n, "%.*s", (int)k, p);
        return k ? buf : NULL;
    }
    return NULL;
}

/* The value of response header name, or NULL. */
static const char *resp_header(const fl_capture_t *c, const char *name)
{
    for (size_t i = 0; i < c->n_resp_headers; i++)
        if (strcasecmp(c->resp_headers[i].name, name) == 0)
            return c->resp_headers[i].value;
    return NULL;
}

/* An HTTP/1.x body framed by the connection's close (RFC 9112 section 6.3, rule 8): no
 * chunked coding, no length, and `connection: close` said so. */
static bool close_framed(const fl_capture_t *c)
{
    const char *te = resp_header(c, "transfer-encoding"), *conn = resp_header(c, "connection");
    return !(te && strstr(te, "chunked")) && !resp_header(c, "content-length") && conn &&
           strcasecmp(conn, "close") == 0;
}

/* The Retry-After of the response in seconds, -1 when none (RFC 9110 section 10.2.3). */
static long retry_after(const fl_capture_t *c)
{
    const char *v = resp_header(c, "retry-after");
    char *end;
    long n = v ? strtol(v, &end, 10) : -1;
    return v && end != v && *end == '\0' && n >= 0 ? n : -1;
}

static int write_writes(fl_buf_t *y, const fl_capture_t *c, fl_import_notes_t *nt,
                        uint64_t *body_len)
{
    int rc = fl_buf_append_str(y, "  writes:\n");
    *body_len = 0;
    for (size_t i = 0; i < c->n_writes && !rc; i++) {
        const fl_capture_write_t *w = &c->writes[i];
        if (w->origin == FL_CAPTURE_ORIGIN_WITHHELD || !w->len)
            continue;
        char *copy = malloc(w->len + 1);
        if (!copy)
            return FL_ENOMEM;
        memcpy(copy, w->bytes, w->len);
        copy[w->len] = '\0';
        size_t len = w->len;
        if (yaml_text_ok(copy, len))
            nt->redacted += fl_capture_redact_text(copy, &len);
        uint64_t ms = w->t_ms > c->head_ms ? w->t_ms - c->head_ms : 0;
        rc = fl_buf_printf(y, "    - {ms: %llu, ", (unsigned long long)ms);
        if (!rc && yaml_text_ok(copy, len)) {
            rc = fl_buf_append_str(y, "data: ");
            if (!rc)
                rc = yaml_str(y, copy, len);
        } else if (!rc) {
            /* base64 as fl_capture writes it: the same bytes, RFC 4648 */
            fl_buf_t line;
            fl_buf_init(&line);
            rc = fl_capture_line_write(&line, 0, copy, len, FL_CAPTURE_ORIGIN_UPSTREAM);
            json_t *j = rc ? NULL : json_loadb(line.data, line.len, 0, NULL);
            const char *b64 = json_string_value(json_object_get(j, "b64"));
            if (!rc)
                rc = b64 ? fl_buf_printf(y, "b64: \"%s\"", b64) : FL_ENOMEM;
            json_decref(j);
            fl_buf_close(&line);
        }
        if (!rc)
            rc = fl_buf_append_str(y, "}\n");
        *body_len += len;
        nt->writes++;
        free(copy);
    }
    return rc;
}

static const char *loss_words(unsigned loss, char *buf, size_t n)
{
    buf[0] = '\0';
    if (loss & FL_CAPTURE_LOSS_TIMING_SYNTHESIZED)
        snprintf(buf + strlen(buf), n - strlen(buf), "%stiming (synthesized)", buf[0] ? ", " : "");
    if (loss & FL_CAPTURE_LOSS_BOUNDARIES_LOST)
        snprintf(buf + strlen(buf), n - strlen(buf), "%swrite boundaries (one write per event)",
                 buf[0] ? ", " : "");
    if (loss & FL_CAPTURE_LOSS_TRUNCATED)
        snprintf(buf + strlen(buf), n - strlen(buf), "%sbytes past the recorder's bound",
                 buf[0] ? ", " : "");
    return buf;
}

int fl_import_scenario(const fl_import_item_t *item, const char *name, fl_buf_t *y,
                       fl_import_notes_t *nt)
{
    const fl_capture_t *c = item->capture;
    memset(nt, 0, sizeof(*nt));
    fl_buf_t body, ans, desc;
    fl_buf_init(&body);
    fl_buf_init(&ans);
    fl_buf_init(&desc);
    bool tool = false, guessed = false;
    int rc = fl_capture_body(c, &body);
    /* the answer is read from the body as it will be replayed: secrets redacted */
    if (!rc && body.len && yaml_text_ok(body.data, body.len))
        fl_capture_redact_text(body.data, &body.len);
    if (!rc)
        rc = read_body(c, body.data ? body.data : "", body.len, nt, &ans, &tool, &guessed);
    if (rc)
        goto done;

    if (!rc && ans.len)
        fl_capture_redact_text(ans.data, &ans.len); /* a key split over two deltas */
    bool no_response = !c->has_response || (c->has_end && c->end == FL_CAPTURE_END_NO_RESPONSE);
    bool http_error = !no_response && (c->status < 200 || c->status > 299);
    fl_capture_end_t how = c->has_end ? c->end : FL_CAPTURE_END_TIMEOUT;
    if (how == FL_CAPTURE_END_CLIENT_CLOSED)
        how = FL_CAPTURE_END_TIMEOUT; /* the server kept it open: what the client saw is a stall */
    bool complete = !no_response && !http_error && how == FL_CAPTURE_END_COMPLETE;
    uint64_t end_ms = c->end_ms > c->head_ms ? c->end_ms - c->head_ms : 0;

    if (complete && ans.len && !tool) {
        nt->answer = true;
    } else {
        snprintf(nt->why_no_answer, sizeof(nt->why_no_answer), "%s",
                 no_response  ? "no response came"
                 : http_error ? "the answer was an HTTP error"
                 : !complete  ? "the stream was cut: a graceful client reports an error, and "
                                "exit 0 with the text that arrived is silent truncation"
                 : tool    ? "the answer is a tool call, whose text the client prints its own way"
                 : guessed ? "the dialect could not be told from the path or the events"
                           : "no text in the content events");
    }

    /* the head of the file */
    rc = fl_buf_printf(y, "# Imported by `faultline import` from %s.\nfaultline: 1\nname: %s\n",
                       item->label, name);
    if (!rc)
        rc = fl_buf_printf(y, "dialect: %s\n", nt->dialect);
    char model[128];
    if (!rc && model_of(c, model, sizeof(model))) {
        rc = fl_buf_append_str(y, "model: ");
        if (!rc)
            rc = yaml_str(y, model, strlen(model));
        if (!rc)
            rc = fl_buf_append_str(y, "\n");
    }

    /* the description: where from, what happened, what was lost, what was redacted */
    char lost[200];
    if (!rc)
        rc = fl_buf_printf(&desc, "Imported from %s (%s %s", item->label,
                           c->method ? c->method : "?", c->path ? c->path : "?");
    if (!rc && !no_response)
        rc = fl_buf_printf(&desc, ", HTTP %d", c->status);
    if (!rc)
        rc = fl_buf_printf(&desc, "). Ended %s at %llu ms%s%s%s.", fl_capture_end_name(how),
                           (unsigned long long)end_ms, c->end_detail ? " (" : "",
                           c->end_detail ? c->end_detail : "", c->end_detail ? ")" : "");
    if (!rc && c->loss)
        rc = fl_buf_printf(&desc, " Lost: %s.", loss_words(c->loss, lost, sizeof(lost)));
    if (!rc && item->loss_note)
        rc = fl_buf_printf(&desc, " Note: %s.", item->loss_note);

    /* the response */
    uint64_t body_len = 0;
    fl_buf_t resp;
    fl_buf_init(&resp);
    bool empty = !no_response && !http_error && body.len == 0;
    if (!rc && (no_response || http_error || empty)) {
        rc = fl_buf_append_str(&resp, "  text: \"(nothing of the body is replayed)\"\n");
    } else if (!rc) {
        rc = write_writes(&resp, c, nt, &body_len);
        if (!rc && how == FL_CAPTURE_END_FIN)
            rc = fl_buf_append_str(&resp, "  ending: fin\n");
        else if (!rc && how == FL_CAPTURE_END_TIMEOUT)
            rc = fl_buf_append_str(&resp, "  ending: timeout\n");
        if (!rc)
            rc = fl_buf_printf(&resp, "  end_ms: %llu\n", (unsigned long long)end_ms);
        if (!rc && close_framed(c))
            rc = fl_buf_append_str(&resp, "  framing: close\n");
    }
    if (!rc && (c->n_redacted || nt->redacted)) {
        rc = fl_buf_append_str(&desc, " Redacted:");
        for (size_t i = 0; i < c->n_redacted && !rc; i++)
            rc = fl_buf_printf(&desc, "%s %s", i ? "," : "", c->redacted[i]);
        if (!rc && nt->redacted)
            rc =
                fl_buf_printf(&desc, "%s %zu secret%s in the response body",
                              c->n_redacted ? "," : "", nt->redacted, nt->redacted == 1 ? "" : "s");
        if (!rc)
            rc = fl_buf_append_str(&desc, ".");
    }
    if (!rc && !nt->answer)
        rc = fl_buf_printf(&desc, " No expect.answer: %s.", nt->why_no_answer);
    if (!rc) {
        rc = fl_buf_append_str(y, "description: ");
        if (!rc)
            rc = yaml_str(y, desc.data, desc.len);
        if (!rc)
            rc = fl_buf_append_str(y, "\nresponse:\n");
        if (!rc)
            rc = fl_buf_append(y, resp.data, resp.len);
    }
    fl_buf_close(&resp);

    /* the fault that reproduces how it ended */
    if (!rc && no_response) {
        /* no head came: a reset or a close before it is refuse, silence is no_response */
        const char *f = how == FL_CAPTURE_END_RST   ? "{refuse: {reset: true}}"
                        : how == FL_CAPTURE_END_FIN ? "refuse"
                                                    : "no_response";
        rc = fl_buf_printf(y, "attempts:\n  - faults: [%s]\n", f);
        snprintf(nt->ending, sizeof(nt->ending), "%s",
                 how == FL_CAPTURE_END_RST   ? "refuse (reset)"
                 : how == FL_CAPTURE_END_FIN ? "refuse (close)"
                                             : "no_response");
    } else if (!rc && http_error) {
        long ra = retry_after(c);
        rc = fl_buf_printf(y, "attempts:\n  - faults:\n      - http_error: {status: %d", c->status);
        if (!rc && ra >= 0)
            rc = fl_buf_printf(y, ", retry_after_s: %ld", ra);
        if (!rc)
            rc = fl_buf_append_str(y, "}\n");
        snprintf(nt->ending, sizeof(nt->ending), "http_error %d", c->status);
    } else if (!rc && empty) {
        /* the head came and no body byte: the fault that ends the stream before its first
         * event, the way it ended */
        const char *f = how == FL_CAPTURE_END_RST       ? "{reset: {at: {event: 1}}}"
                        : how == FL_CAPTURE_END_FIN     ? "{close: {at: {event: 1}}}"
                        : how == FL_CAPTURE_END_TIMEOUT ? "{stall: {at: {event: 1}, ms: forever}}"
                                                        : "{end: {at: {event: 1}}}";
        rc = fl_buf_printf(y, "attempts:\n  - faults: [%s]\n", f);
        snprintf(nt->ending, sizeof(nt->ending), "%s before any body byte",
                 fl_capture_end_name(how));
    } else if (!rc && how == FL_CAPTURE_END_RST) {
        rc = fl_buf_printf(y, "attempts:\n  - faults:\n      - reset: {at: {byte: %llu}}\n",
                           (unsigned long long)body_len);
        snprintf(nt->ending, sizeof(nt->ending), "reset at byte %llu (%llu ms)",
                 (unsigned long long)body_len, (unsigned long long)end_ms);
    } else if (!rc) {
        snprintf(nt->ending, sizeof(nt->ending), "%s at %llu ms", fl_capture_end_name(how),
                 (unsigned long long)end_ms);
    }

    /* what a graceful client does */
    if (!rc && nt->answer) {
        rc = fl_buf_append_str(y, "expect:\n  answer: ");
        if (!rc)
            rc = yaml_str(y, ans.data, ans.len);
        if (!rc)
            rc = fl_buf_append_str(y, "\n");
    } else if (!rc && !complete) {
        rc = fl_buf_append_str(y, "expect:\n  outcome: error\n");
        /* A cut stream: exit 0 with the text that arrived passes a part off as the whole. The
         * answer is that text and a marker no client prints, so the judge calls it silent
         * truncation (a strict prefix) instead of "correct with no known answer". */
        if (!rc && !no_response && !http_error && !tool && !guessed) {
            rc = fl_buf_append_str(y, "  answer: ");
            if (!rc)
                rc = fl_buf_append(&ans, FL_IMPORT_CUT_MARK, strlen(FL_IMPORT_CUT_MARK));
            if (!rc)
                rc = yaml_str(y, ans.data, ans.len);
            if (!rc)
                rc = fl_buf_append_str(y, "\n");
        }
    }
done:
    fl_buf_close(&body);
    fl_buf_close(&ans);
    fl_buf_close(&desc);
    return rc;
}
