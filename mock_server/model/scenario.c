/*
 * The scenario model: names, freeing, and sets of scenarios. Reading them from files is the
 * loader's (load/).
 */
#include "model/scenario.h"

#include "base/array.h"
#include "base/error.h"
#include "model/fault.h"

#include <stdlib.h>
#include <string.h>

/* Index = fl_dialect_t. */
static const char *const dialect_names[] = {"openai-chat", "openai-responses", "anthropic-messages",
                                            "gemini"};

const char *fl_dialect_name(fl_dialect_t d)
{
    return fl_names_get(dialect_names, FL_COUNT(dialect_names), (size_t)d);
}

int fl_dialect_parse(const char *name, fl_dialect_t *out)
{
    long i = fl_names_find(dialect_names, FL_COUNT(dialect_names), name);
    if (i < 0)
        return FL_EINVAL;
    *out = (fl_dialect_t)i;
    return 0;
}

const char *fl_finish_name(fl_finish_t f)
{
    switch (f) {
    case FL_FINISH_STOP:
        return "stop";
    case FL_FINISH_LENGTH:
        return "length";
    case FL_FINISH_TOOL_CALLS:
        return "tool_calls";
    case FL_FINISH_CONTENT_FILTER:
        return "content_filter";
    }
    return "unknown";
}

void fl_response_close(fl_response_t *r)
{
    free(r->text);
    for (size_t i = 0; i < r->n_chunks; i++)
        free(r->chunks[i]);
    free(r->chunks);
    if (r->tool_call) {
        free(r->tool_call->name);
        free(r->tool_call->arguments);
        free(r->tool_call->id);
        free(r->tool_call);
    }
    for (size_t i = 0; i < r->n_events; i++) {
        free(r->events[i].raw);
        free(r->events[i].event);
        free(r->events[i].data);
        free(r->events[i].id);
    }
    free(r->events);
    if (r->replay) {
        for (size_t i = 0; i < r->replay->n_writes; i++)
            free(r->replay->writes[i].bytes);
        free(r->replay->writes);
        free(r->replay->capture);
        free(r->replay);
    }
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->path);
}

void fl_scenario_free(fl_scenario_t *sc)
{
    if (!sc)
        return;
    fl_response_close(&sc->response);
    for (size_t i = 0; i < sc->n_attempts; i++) {
        fl_attempt_t *a = &sc->attempts[i];
        for (size_t j = 0; j < a->n_faults; j++)
            fl_fault_close(&a->faults[j]);
        free(a->faults);
        for (size_t j = 0; j < a->n_chaos_faults; j++)
            fl_fault_close(&a->chaos_faults[j]);
        free(a->chaos_faults);
        if (a->response) {
            fl_response_close(a->response);
            free(a->response);
        }
    }
    free(sc->attempts);
    free(sc->expect.answer);
    free(sc->name);
    free(sc->description);
    free(sc->path);
    free(sc->model);
    free(sc->prompt);
    free(sc);
}

const char *fl_replay_end_name(fl_replay_end_t e)
{
    switch (e) {
    case FL_REPLAY_COMPLETE:
        return "complete";
    case FL_REPLAY_FIN:
        return "fin";
    case FL_REPLAY_RST:
        return "rst";
    case FL_REPLAY_TIMEOUT:
        return "timeout";
    }
    return "unknown";
}

uint64_t fl_replay_time(const fl_replay_t *rp, uint64_t at_ms)
{
    if (rp->speed <= 0)
        return 0;
    if (rp->speed == 1)
        return at_ms;
    return (uint64_t)((double)at_ms / rp->speed + 0.5);
}

const char *fl_scenario_answer(const fl_scenario_t *sc)
{
    return sc->expect.answer;
}

/* ---- sets ---------------------------------------------------------------------------------- */

void fl_scenario_set_init(fl_scenario_set_t *set)
{
    memset(set, 0, sizeof(*set));
}

void fl_scenario_set_close(fl_scenario_set_t *set)
{
    for (size_t i = 0; i < set->len; i++)
        fl_scenario_free(set->items[i]);
    free(set->items);
    memset(set, 0, sizeof(*set));
}

fl_scenario_t *fl_scenario_set_find(const fl_scenario_set_t *set, const char *name)
{
    for (size_t i = 0; i < set->len; i++)
        if (strcmp(set->items[i]->name, name) == 0)
            return set->items[i];
    return NULL;
}

int fl_scenario_set_add(fl_scenario_set_t *set, fl_scenario_t *sc)
{
    if (set->len == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        fl_scenario_t **items = realloc(set->items, cap * sizeof(*items));
        if (!items) {
            fl_scenario_free(sc);
            return FL_ENOMEM;
        }
        set->items = items;
        set->cap = cap;
    }
    set->items[set->len++] = sc;
    return 0;
}
