#include "dialect_fixture.h"

#include "base/error.h"

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fputs("out of memory\n", stderr);
        abort();
    }
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = xcalloc(strlen(s) + 1, 1);
    memcpy(p, s, strlen(s));
    return p;
}

static fl_scenario_t *base(fl_dialect_t d)
{
    fl_scenario_t *sc = xcalloc(1, sizeof(*sc));
    sc->version = 1;
    sc->name = xstrdup("test");
    sc->dialect = d;
    sc->model = xstrdup("test-model");
    sc->prompt = xstrdup("Say hello to the world");
    fl_response_t *r = &sc->response;
    r->chunking = FL_CHUNKING_WORD;
    r->ttft_ms = 100;
    r->interval_ms = 50;
    r->seed = 1;
    r->finish_reason = FL_FINISH_STOP;
    r->input_tokens = -1;
    r->output_tokens = -1;
    return sc;
}

fl_scenario_t *fx_scenario_text(fl_dialect_t d, const char *text)
{
    fl_scenario_t *sc = base(d);
    sc->response.text = xstrdup(text);
    return sc;
}

fl_scenario_t *fx_scenario_chunks(fl_dialect_t d, const char *const *chunks, size_t n)
{
    fl_scenario_t *sc = base(d);
    sc->response.chunks = xcalloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        sc->response.chunks[i] = xstrdup(chunks[i]);
    sc->response.n_chunks = n;
    return sc;
}

fl_scenario_t *fx_scenario_tool(fl_dialect_t d, const char *name, const char *arguments,
                                const char *id)
{
    fl_scenario_t *sc = base(d);
    fl_tool_call_t *tc = xcalloc(1, sizeof(*tc));
    tc->name = xstrdup(name);
    tc->arguments = xstrdup(arguments);
    tc->id = id ? xstrdup(id) : NULL;
    sc->response.tool_call = tc;
    sc->response.chunking = FL_CHUNKING_BYTES;
    sc->response.chunk_bytes = 8;
    sc->response.finish_reason = FL_FINISH_TOOL_CALLS;
    return sc;
}

void fx_scenario_free(fl_scenario_t *sc)
{
    fl_scenario_free(sc);
}

fl_encode_ctx_t fx_ctx(void)
{
    return (fl_encode_ctx_t){.id = "abc123", .created = 1700000000};
}

void fx_check_script(const fl_script_t *s, const fl_event_kind_t *kinds, const uint64_t *at,
                     size_t n)
{
    cr_assert_eq(s->n_events, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(s->events[i].kind, kinds[i], "event %zu", i);
        cr_assert_eq(s->events[i].at_ms, at[i], "event %zu", i);
    }
}

void fx_assert_body_refuses_arguments(fl_scenario_t *sc, const char *arguments)
{
    fl_encode_ctx_t ctx = fx_ctx();
    free(sc->response.tool_call->arguments);
    sc->response.tool_call->arguments = xstrdup(arguments);
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(fl_buf_append_str(&b, "keep"), 0);
    cr_assert_eq(fl_dialect_encode_body(sc, &ctx, &b), FL_EJSON);
    cr_assert_str_eq(b.data, "keep");
    fl_buf_close(&b);
}

char *fx_event_bytes(const fl_script_t *s, size_t i)
{
    const fl_script_event_t *e = &s->events[i];
    char *p = xcalloc(e->len + 1, 1);
    memcpy(p, s->bytes.data + e->off, e->len);
    return p;
}

char *fx_event_parse(const fl_script_t *s, size_t i, char **name)
{
    char *bytes = fx_event_bytes(s, i);
    char *data = NULL;
    size_t data_len = 0;
    if (name)
        *name = NULL;
    for (char *line = bytes; *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (nl && nl > line && nl[-1] == '\r')
            nl[-1] = '\0';
        if (strncmp(line, "event: ", 7) == 0 && name) {
            free(*name);
            *name = xstrdup(line + 7);
        } else if (strncmp(line, "data: ", 6) == 0) {
            size_t add = strlen(line + 6);
            char *d = xcalloc(data_len + add + 2, 1);
            if (data) {
                memcpy(d, data, data_len);
                d[data_len++] = '\n';
                free(data);
            }
            memcpy(d + data_len, line + 6, add);
            data_len += add;
            data = d;
        }
        if (!nl)
            break;
        line = nl + 1;
    }
    free(bytes);
    return data;
}

json_t *fx_event_json(const fl_script_t *s, size_t i, char **name)
{
    char *data = fx_event_parse(s, i, name);
    if (!data)
        return NULL;
    json_t *j = json_loads(data, JSON_REJECT_DUPLICATES, NULL);
    free(data);
    return j;
}
