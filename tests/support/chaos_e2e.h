/*
 * The end-to-end chaos tests as tables of cases (tests/e2e/chaos_*.c). Every case has one
 * skeleton: request a scenario from the fixture server (e2e_server.h) over a raw socket,
 * usually follow it with the scenario's clean attempt 2, then check how the faulty attempt
 * reached the wire (its end, status, framing, events against the clean attempt's, timing) and
 * what the journal says about it. A ce_case_t row states the expectations; ce_run makes every
 * assertion a row asks for, and then calls the row's own check function for what only that
 * case asserts.
 *
 * Case files declare their table and register it with CE_TABLE, which makes one Criterion
 * parameterized test (suite::cases) whose parameter is the row's index: the table itself stays
 * static in the test binary, so rows may hold string literals and function pointers.
 */
#ifndef FL_TEST_CHAOS_E2E_H
#define FL_TEST_CHAOS_E2E_H

#include "e2e_server.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CE_CHAT      "/v1/chat/completions"
#define CE_RESPONSES "/v1/responses"
#define CE_MESSAGES  "/v1/messages"

/** ce_case_t.j_sent of a response that sent no event at all. */
#define CE_NONE (-1)

/** A yes/no expectation that a row may leave unchecked. */
typedef enum { CE_ANY, CE_YES, CE_NO } ce_bool_t;

/** A range of ms, lo <= v < hi; hi 0 means no upper bound, {0, 0} means not checked. */
typedef struct ce_ms_s {
    double lo, hi;
} ce_ms_t;

typedef struct ce_run_s ce_run_t;

/**
 * One case. Fields left zero are not checked unless their comment says "always": a row names
 * what it expects and nothing else.
 */
typedef struct ce_case_s {
    const char *scenario; /* the scenario's name under tests/data/chaos */
    const char *path;     /* the dialect's request path; NULL: CE_CHAT */
    int timeout_ms;       /* the faulty attempt's time limit */
    int close_after_ms;   /* > 0: the client closes the socket itself after this many ms */
    int clean_timeout_ms; /* > 0: request attempt 2 too, with this limit, and check that it is
                             a whole clean stream: FIN, 200, chunked, terminated, clean_events
                             events, the last one the dialect's end marker */
    size_t clean_events;  /* the clean stream's events; 0: 7 (a chat stream) */

    /* The faulty attempt as the recording client saw it. */
    fl_raw_end_t end;     /* always: how the connection ended */
    int status;           /* always: the status code; 0 when no status line came */
    int dc_rc;            /* always: 0, or -1 when the chunked framing must be malformed */
    ce_bool_t terminated; /* the terminating chunk arrived (and no byte after it) */
    size_t pings;         /* always: ": ping" keep-alive events; taken out before comparing */
    const char *events;   /* the events as numbers of the clean attempt's events: "0-2 ? 3-6"
                             is clean events 0 to 2, one event the row's check function looks
                             at, then clean events 3 to 6. Needs a clean attempt; without a
                             "?" the whole body must equal those events joined. NULL: none */
    size_t n_events;      /* without a clean attempt: how many events arrived; 0: unchecked */
    const char *tail;     /* the last bytes on the wire */
    bool silent;          /* not one byte arrived */
    const char *content_type;
    const char *has[2];   /* strings the decoded body contains */
    const char *lacks[2]; /* strings neither the wire nor the decoded body contains */
    ce_ms_t end_ms;       /* when the connection ended */
    ce_ms_t first_ms;     /* when the first byte arrived */
    ce_ms_t max_gap_ms;   /* the longest silence between two reads */

    /* The journal's entry for attempt 1, read when j_end is set. */
    const char *j_end; /* its "end" */
    int j_status;      /* its status; 0: unchecked */
    const char *fault; /* exactly this one fault, fired at clean event `event` after
                          min_ms..max_ms (es_assert_fault's arguments) */
    long long event, min_ms, max_ms;
    const char *faults;    /* or exactly these faults, in order, names split by spaces */
    ce_ms_t last_fault_ms; /* with `faults`: when the last of them fired */
    size_t j_events;       /* its "events"; 0: unchecked */
    long long j_sent;      /* its "events_sent" (events whose bytes went out); 0: unchecked,
                              CE_NONE: 0 */
    bool j_bytes;          /* its "bytes" are the bytes the client read */
    bool closed_null;      /* its client_closed_ms is null */
    ce_ms_t closed_ms;     /* its client_closed_ms */
    bool clean_entry;      /* attempt 2's entry is a clean one: complete, 200, no fault, no
                              Retry-After, the clean attempt's events and bytes */

    /** What only this case asserts; runs last, after the journal checks. May be NULL. */
    void (*check)(const ce_run_t *run);
} ce_case_t;

/** What ce_run recorded for one case, handed to the row's check function. */
struct ce_run_s {
    const ce_case_t *c;
    const char *path; /* c->path or CE_CHAT */
    es_ex_t x;        /* the faulty attempt */
    es_ex_t clean;    /* attempt 2 when the row asks for it, else zeroed */
    es_events_t kept; /* x's events with the pings taken out (borrowed strings) */
    json_t *entry;    /* attempt 1's journal entry when j_end is set, else NULL */
};

/** Starts the fixture server on the chaos scenarios (tests/data/chaos): a suite's .init. */
void ce_start(void);
/** Runs one case: requests, every check its row asks for, then its check function. */
void ce_run(const ce_case_t *c);

/** The longest gap between consecutive reads of r, ms; *after (may be NULL) gets the index of
 * the read that ended it. */
double ce_max_gap(const fl_raw_result_t *r, size_t *after);
/** Fault i of a journal entry (borrowed), or NULL. */
const json_t *ce_fault_n(const json_t *entry, size_t i);
/** Asserts that header name of x's response head is want. */
void ce_header_is(const es_ex_t *x, const char *name, const char *want);

/** Registers table (a static array of ce_case_t) as the parameterized test suite::cases. */
#define CE_TABLE(suite, table)                                                                     \
    ParameterizedTestParameters(suite, cases)                                                      \
    {                                                                                              \
        static size_t idx[sizeof(table) / sizeof(table[0])];                                       \
        for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)                                  \
            idx[i] = i;                                                                            \
        return cr_make_param_array(size_t, idx, sizeof(idx) / sizeof(idx[0]));                     \
    }                                                                                              \
    ParameterizedTest(size_t *row, suite, cases)                                                   \
    {                                                                                              \
        ce_run(&table[*row]);                                                                      \
    }

#endif
