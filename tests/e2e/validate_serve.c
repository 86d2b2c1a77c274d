/*
 * The validator and the server agree on every byte position at the end of a stream.
 *
 * For each case (a dialect and an answer), the body `faultline serve` really sends is L bytes
 * (read over a raw socket, chunk framing removed). Then `reset: {at: {byte: N}}` must load for
 * every N from 0 to L (L is the end) and be refused for N = L + 1 with a message naming L, and
 * the server's reset must land exactly at byte N for the last positions: the body received is
 * the clean body's first N bytes, then RST, and the journal says byte N.
 *
 * The validator used to encode with a 17-character id and `created` 0 while the server sends
 * FL_ENCODE_ID_LEN characters and FL_ENCODE_CREATED_DIGITS digits, so it refused the last
 * positions of every stream (issue 10).
 */
#include "e2e_server.h"

#include "encode/dialect.h"
#include "load/load.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* How many of the last positions (L - LAST + 1 .. L) are served with a reset. */
#define LAST 6

typedef struct vs_case_s {
    const char *name;     /* scenario name */
    fl_dialect_t dialect; /* its wire format and endpoint */
    const char *response; /* the scenario's response mapping, YAML flow style */
} vs_case_t;

#define TEXT "text: Every stream you watch arrive word by word rides on TCP."
#define TOOL                                                                                       \
    "tool_call: {name: get_weather, arguments: {city: Paris, days: 3}}, chunking: 'bytes:8'"

static const vs_case_t cases[] = {
    {"vs-chat-text", FL_DIALECT_OPENAI_CHAT, "{" TEXT "}"},
    {"vs-chat-tool", FL_DIALECT_OPENAI_CHAT, "{" TOOL "}"},
    {"vs-chat-close", FL_DIALECT_OPENAI_CHAT, "{framing: close, " TEXT "}"},
    {"vs-responses-text", FL_DIALECT_OPENAI_RESPONSES, "{" TEXT "}"},
    {"vs-responses-tool", FL_DIALECT_OPENAI_RESPONSES, "{" TOOL "}"},
    {"vs-anthropic-text", FL_DIALECT_ANTHROPIC_MESSAGES, "{" TEXT "}"},
    {"vs-anthropic-tool", FL_DIALECT_ANTHROPIC_MESSAGES, "{" TOOL "}"},
    {"vs-gemini-text", FL_DIALECT_GEMINI, "{" TEXT "}"},
    {"vs-gemini-tool", FL_DIALECT_GEMINI, "{" TOOL "}"},
};

/* The case's scenario followed by attempts (may be ""), into out. */
static void scenario_yaml(const vs_case_t *c, const char *attempts, char *out, size_t n)
{
    int len = snprintf(out, n, "faultline: 1\nname: %s\ndialect: %s\nresponse: %s\n%s", c->name,
                       fl_dialect_name(c->dialect), c->response, attempts);
    cr_assert(len > 0 && (size_t)len < n, "%s: scenario too long", c->name);
}

/* Criterion runs each case in a fresh process of its own, where pointers into the parent's
 * image are not valid: the parameter is the case's index. */
ParameterizedTestParameters(validate_serve, end_positions)
{
    static int idx[sizeof(cases) / sizeof(cases[0])];
    for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
        idx[i] = (int)i;
    return cr_make_param_array(int, idx, sizeof(idx) / sizeof(idx[0]));
}

/* dir/<name>.yaml := the case's scenario followed by attempts (may be ""). */
static void write_scenario(const char *dir, const vs_case_t *c, const char *attempts)
{
    char path[512], yaml[2048];
    snprintf(path, sizeof(path), "%s/%s.yaml", dir, c->name);
    scenario_yaml(c, attempts, yaml, sizeof(yaml));
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write %s", path);
    fputs(yaml, f);
    cr_assert_eq(fclose(f), 0);
}

/* Loads the case with `reset: {at: {byte: n}}`; returns the load's code and its first
 * diagnostic's field and message (empty when none). */
static int load_reset_at(const vs_case_t *c, size_t n, char *field, char *msg, size_t size)
{
    char yaml[2048], attempts[96];
    snprintf(attempts, sizeof(attempts), "attempts:\n  - faults: [{reset: {at: {byte: %zu}}}]\n",
             n);
    scenario_yaml(c, attempts, yaml, sizeof(yaml));
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_t *sc = NULL;
    int rc = fl_scenario_load_string(c->name, yaml, strlen(yaml), &sc, &diags);
    snprintf(field, size, "%.*s", (int)size - 1, diags.len ? diags.items[0].field : "");
    snprintf(msg, size, "%.*s", (int)size - 1, diags.len ? diags.items[0].message : "");
    fl_diag_list_close(&diags);
    fl_scenario_free(sc);
    return rc;
}

/* The first n body bytes of x with its own id (from x-request-id) replaced by X's and its
 * `created` times by 0 (es_normalise), so two responses compare byte for byte. malloc'd. */
static char *unstamped(const es_ex_t *x, size_t n)
{
    char rid[64];
    cr_assert(fl_raw_header(x->d.head, x->d.head_len, "x-request-id", rid, sizeof(rid)));
    cr_assert_eq(strncmp(rid, "req_", 4), 0, "x-request-id %s", rid);
    const char *id = rid + 4;
    size_t idlen = strlen(id);
    cr_assert_eq(idlen, FL_ENCODE_ID_LEN, "the server's id %s", id);
    char *b = malloc(n + 1);
    cr_assert_not_null(b);
    memcpy(b, x->d.dc.data, n);
    for (size_t i = 0; i + idlen <= n; i++)
        if (memcmp(b + i, id, idlen) == 0)
            memset(b + i, 'X', idlen);
    char *norm = es_normalise(b, n, NULL);
    free(b);
    return norm;
}

ParameterizedTest(int *ci, validate_serve, end_positions, .timeout = 120)
{
    const vs_case_t *c = &cases[*ci];
    /* Gemini's path names a model and asks for SSE in its query */
    const char *path = c->dialect == FL_DIALECT_GEMINI
                           ? "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
                           : fl_dialect_path(c->dialect);
    char dir[] = "/tmp/fl-validate-serve-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));

    /* 1. The body the server sends, clean. */
    write_scenario(dir, c, "");
    es_start(dir);
    es_ex_t clean;
    es_run(c->name, path, 5000, 0, &clean);
    es_stop();
    cr_assert_eq(clean.r.end, FL_RAW_EOF, "%s: clean stream ended with %s", c->name,
                 fl_raw_end_name(clean.r.end));
    cr_assert_eq(clean.d.status, 200);
    cr_assert_eq(clean.d.dc_rc, 0, "%s: bad chunk framing: %s", c->name, clean.d.dc.why);
    cr_assert(!clean.d.chunked || clean.d.dc.terminated, "%s: no terminating chunk", c->name);
    size_t len = clean.d.dc.len;
    cr_assert_gt(len, LAST, "%s: a %zu-byte body", c->name, len);

    /* 2. The validator: every position up to the end loads, the next one is refused. */
    char field[256], msg[256], want[256];
    for (size_t n = 0; n <= len; n++)
        cr_assert_eq(load_reset_at(c, n, field, msg, sizeof(field)), 0,
                     "%s: byte %zu of a %zu-byte body refused: %s", c->name, n, len, msg);
    cr_assert_eq(load_reset_at(c, len + 1, field, msg, sizeof(field)), FL_ESCHEMA,
                 "%s: byte %zu past a %zu-byte body accepted", c->name, len + 1, len);
    cr_assert_str_eq(field, "attempts[0].faults[0].reset.at");
    snprintf(want, sizeof(want), "byte %zu is past the end of the stream (its body has %zu bytes)",
             len + 1, len);
    cr_assert_str_eq(msg, want);

    /* 3. The server: attempt i resets at byte len - LAST + i, then a clean attempt. */
    char attempts[1024] = "attempts:\n";
    for (size_t i = 1; i <= LAST; i++) {
        char line[96];
        snprintf(line, sizeof(line), "  - faults: [{reset: {at: {byte: %zu}}}]\n", len - LAST + i);
        strncat(attempts, line, sizeof(attempts) - strlen(attempts) - 1);
    }
    strncat(attempts, "  - {}\n", sizeof(attempts) - strlen(attempts) - 1);
    write_scenario(dir, c, attempts);
    es_start(dir);
    for (size_t i = 1; i <= LAST; i++) {
        size_t n = len - LAST + i;
        es_ex_t x;
        es_run(c->name, path, 5000, 0, &x);
        cr_assert_eq(x.r.end, FL_RAW_RESET, "%s: reset at byte %zu ended with %s", c->name, n,
                     fl_raw_end_name(x.r.end));
        cr_assert_eq(x.d.dc_rc, 0, "%s: bad chunk framing: %s", c->name, x.d.dc.why);
        cr_assert_not(x.d.dc.terminated, "%s: a reset body has no terminating chunk", c->name);
        cr_assert_eq(x.d.dc.len, n, "%s: reset at byte %zu sent %zu body bytes", c->name, n,
                     x.d.dc.len);
        /* the same bytes as the clean body's first n, but for the response's own id and time */
        char *got = unstamped(&x, n), *want_body = unstamped(&clean, n);
        cr_assert_str_eq(got, want_body, "%s: byte %zu", c->name, n);
        free(got);
        free(want_body);
        json_t *e = es_entry(c->name, (int)i, 3000);
        cr_assert_not_null(e, "%s: no journal entry for attempt %zu", c->name, i);
        cr_assert_str_eq(es_str(e, "end"), "reset");
        json_t *f = json_array_get(json_object_get(e, "faults"), 0);
        cr_assert_str_eq(es_str(f, "fault"), "reset");
        cr_assert_eq(es_int(f, "byte", -1), (long long)n, "%s: journal byte %lld, want %zu",
                     c->name, es_int(f, "byte", -1), n);
        json_decref(e);
        es_ex_free(&x);
    }
    es_stop();
    es_ex_free(&clean);

    char file[512];
    snprintf(file, sizeof(file), "%s/%s.yaml", dir, c->name);
    cr_assert_eq(unlink(file), 0);
    cr_assert_eq(rmdir(dir), 0);
}
