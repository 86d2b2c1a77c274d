/*
 * Internals of the chaos compiler, shared by its phase files (not a public API):
 *  chaos.c        the driver, positions, the piece and op lists, response-level faults;
 *  chaos_apply.c  which faults can apply to this response (the rest are skipped);
 *  chaos_body.c   phase 1, body faults (rewrite pieces);
 *  chaos_time.c   phase 2, time faults (move pieces);
 *  chaos_frame.c  phase 3, framing (pieces -> ops) and phase 5, wire faults (split ops);
 *  chaos_cut.c    phase 4, cut faults on the final timeline.
 * See chaos.c's opening comment for the model.
 */
#ifndef FL_CHAOS_IMPL_H
#define FL_CHAOS_IMPL_H

#include "chaos/chaos.h"

#define FL_CHAOS_NONE UINT32_MAX

/* Upper bound on ops one fault may generate (pings, fragment or throttle pieces); beyond it
 * FL_ELIMIT. A million ops is about 50 MB of plan: far beyond any sane scenario. */
#define FL_CHAOS_MAX_GEN 1000000

/* Piece flags. */
enum {
    PC_HEAD = 1u << 0,     /* the status line and headers */
    PC_TERM = 1u << 1,     /* the body's end: terminator chunk (chunked) and DONE; no bytes */
    PC_FIRE = 1u << 2,     /* no bytes: a fault takes effect here */
    PC_CLEAN = 1u << 3,    /* bytes of a clean event (possibly rewritten in place) */
    PC_BREAK = 1u << 4,    /* starts a new write even when due with the piece before it */
    PC_BADCHUNK = 1u << 5, /* its chunk gets the size line "zz" */
    PC_COPY = 1u << 6,     /* a duplicate's copy of clean bytes */
    PC_PING = 1u << 7,     /* a keep-alive during a stall */
    PC_OWN = 1u << 8,      /* starts a replay's write that is its own send (script own_writes) */
};

/** A run of bytes the body will send, before framing. */
typedef struct fl_chaos_piece_s {
    size_t off, len;   /* bytes in the compiler's arena */
    uint64_t at_ms;    /* ms after the response began */
    uint32_t event;    /* clean event index, FL_CHAOS_NONE for the head and the end */
    uint64_t body_off; /* clean body offset of its first byte (or where it stands) */
    uint32_t cid;      /* clean ordinal: 0 head, 1.. body pieces, end_cid the end */
    uint32_t fault;    /* the fault that made or changed it, FL_CHAOS_NONE */
    unsigned flags;    /* PC_* */
    uint64_t silent;   /* PC_FIRE: its FIRE op's silent_ms (wire.h) */
} fl_chaos_piece_t;

/** An op of the plan under construction; bytes live in the arena. */
typedef struct fl_chaos_op_s {
    fl_wire_op_t w;
    uint32_t cid;      /* as the first piece it carries */
    size_t prefix;     /* chunk-size line bytes before the body bytes in a body WRITE */
    bool body;         /* a WRITE of body bytes (not the head, not the terminator) */
    bool head;         /* the WRITE of the status line and headers */
    uint64_t sent_off; /* a body WRITE: body bytes as sent (after body faults, without chunk
                          framing) before its first body byte; what fragment offsets count */
} fl_chaos_op_t;

/** A resolved position: a clean ordinal (headers = 0, end = end_cid) or a time. */
typedef struct fl_chaos_pos_s {
    bool is_ms;
    uint32_t cid;
    uint64_t ms;
} fl_chaos_pos_t;

/** One compilation's working state; lives on fl_chaos_compile's stack. */
typedef struct fl_chaos_s {
    const fl_chaos_input_t *in;
    const fl_fault_t *faults;
    size_t n_faults;
    bool *skip;          /* owned: one per fault, true when it cannot apply (fl_chaos_applies):
                            no phase sees it */
    fl_chaos_pos_t *pos; /* owned: one per fault */
    fl_buf_t arena;      /* every byte pieces and ops refer to */
    fl_chaos_piece_t *p; /* owned */
    size_t np, capp;
    fl_chaos_op_t *o; /* owned */
    size_t no, capo;
    uint32_t end_cid;
    int status;             /* of the head the plan sends */
    int64_t retry_after_ms; /* the wait the head demands (ms), -1 none */
    bool page;              /* the plan sends a whole page with a content-length (push_page) */
    /* how the plan ends when a stall lasts forever: 0, FL_WIRE_HANG or FL_WIRE_PING */
    int tail;
    fl_chaos_piece_t tail_at; /* time, evidence and (PING) the unframed ping bytes */
    uint64_t tail_every_ms;
} fl_chaos_t;

/* chaos.c */
/** Appends len bytes to the arena; *off gets where they start. Returns 0 or FL_ENOMEM. */
int fl_chaos__bytes(fl_chaos_t *c, const void *p, size_t len, size_t *off);
/** Inserts a copy of *p before piece `at` (at == np appends). Returns 0 or FL_ENOMEM. */
int fl_chaos__piece_insert(fl_chaos_t *c, size_t at, const fl_chaos_piece_t *p);
/** Removes n pieces from `at`. Never fails. */
void fl_chaos__piece_remove(fl_chaos_t *c, size_t at, size_t n);
/** Index of the END piece, or np when a stall forever removed it. */
size_t fl_chaos__term_index(const fl_chaos_t *c);
/** The first piece (FIREs skipped; the head too when body_only) at or after a position; the END
 * piece for a time past the body; np when nothing is left. */
size_t fl_chaos__find_piece(const fl_chaos_t *c, const fl_chaos_pos_t *pos, bool body_only);
/** Inserts a FIRE of fault `fault` at at_ms before piece `at`, with that piece's evidence.
 * Returns 0 or FL_ENOMEM. */
int fl_chaos__fire_piece(fl_chaos_t *c, size_t at, uint32_t fault, uint64_t at_ms);
/** Inserts a copy of *op before op `at`. Returns 0 or FL_ENOMEM. */
int fl_chaos__op_insert(fl_chaos_t *c, size_t at, const fl_chaos_op_t *op);
/** Appends a copy of *op. Returns 0 or FL_ENOMEM. */
int fl_chaos__op_push(fl_chaos_t *c, const fl_chaos_op_t *op);
/** An op with no bytes and no evidence (event FL_CHAOS_NONE). */
fl_chaos_op_t fl_chaos__op_make(fl_wire_op_kind_t kind, uint64_t at_ms, uint32_t fault);
/**
 * Ends the plan with a response the chaos layer made itself (an http_error's page, a proxy's
 * 504/524): at at_ms fault fi fires, the page (status line, headers and body, as built by
 * fl_chaos__error_page) goes out as one write, and the response is done. Returns 0 or
 * FL_ENOMEM.
 */
int fl_chaos__push_page(fl_chaos_t *c, uint32_t fi, uint64_t at_ms, const fl_buf_t *page);

/** Appends a whole error response (head + body) to out: the dialect's JSON error body, or a
 * proxy's HTML page when html; content-length, x-request-id and the retry headers (-1 = none).
 * Returns 0, FL_EINVAL or FL_ENOMEM. */
int fl_chaos__error_page(fl_chaos_t *c, int status, bool html, fl_error_class_t error_class,
                         const char *message, int64_t retry_s, int64_t retry_ms, fl_buf_t *out);

/* Each phase applies fault fi (an index into c->faults), one whose catalog row names that phase
 * (fl_fault_phase). Returns 0 (also when the fault's position is never reached), FL_EINVAL,
 * FL_ELIMIT or FL_ENOMEM. */
/** Phase 1 (chaos_body.c). */
int fl_chaos__body_fault(fl_chaos_t *c, uint32_t fi);
/** Phase 2 (chaos_time.c). */
int fl_chaos__time_fault(fl_chaos_t *c, uint32_t fi);
/** Phase 3 (chaos_frame.c): turns every piece into ops. Returns 0 or FL_ENOMEM. */
int fl_chaos__frame(fl_chaos_t *c);
/** Phase 5 (chaos_frame.c). */
int fl_chaos__wire_fault(fl_chaos_t *c, uint32_t fi);
/** The first op (FIREs skipped) at or after a position, or no. */
size_t fl_chaos__find_op(const fl_chaos_t *c, const fl_chaos_pos_t *pos);
/** Phase 4 (chaos_cut.c). */
int fl_chaos__cut_fault(fl_chaos_t *c, uint32_t fi);

#endif
