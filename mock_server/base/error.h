/*
 * Faultline's error codes and diagnostics.
 *
 * Functions return 0 on success or a negative code: libuv's UV_E* pass through unchanged,
 * Faultline's own codes come from FL_ERRNO_MAP and sit below -20000 so they never collide
 * with errno values. Loaders and validators also fill a fl_diag_list_t with one entry per
 * problem, each naming the file, line, column and field, so a user can jump straight to it.
 */
#ifndef FL_ERROR_H
#define FL_ERROR_H

#include <stddef.h>

/* XX(name, code, message): the table from which the enum and fl_strerror() are made. */
#define FL_ERRNO_MAP(XX)                                                                           \
    XX(EINVAL, -20001, "invalid argument")                                                         \
    XX(ENOMEM, -20002, "out of memory")                                                            \
    XX(EIO, -20003, "cannot read file")                                                            \
    XX(ESYNTAX, -20004, "YAML syntax error")                                                       \
    XX(ESCHEMA, -20005, "scenario does not match the format")                                      \
    XX(ELIMIT, -20006, "input exceeds a limit")                                                    \
    XX(EJSON, -20007, "invalid JSON")                                                              \
    XX(EHTTP, -20008, "malformed HTTP request")                                                    \
    XX(ENOTFOUND, -20009, "not found")                                                             \
    XX(EDIALECT, -20010, "not available in this dialect")                                          \
    XX(EINTR, -20011, "interrupted")

typedef enum {
#define XX(name, code, msg) FL_##name = code,
    FL_ERRNO_MAP(XX)
#undef XX
} fl_errno_t;

/** Returns a static, human-readable message for a Faultline or libuv error code. */
const char *fl_strerror(int err);

/** One problem found in an input file. Strings are owned by the struct (fixed buffers). */
typedef struct fl_diag_s {
    char file[512];    /* path as given by the user; "" when not from a file */
    int line;          /* 1-based; 0 when unknown */
    int col;           /* 1-based; 0 when unknown */
    char field[256];   /* dotted path of the field, e.g. "response.ttft_ms"; "" for syntax */
    char message[512]; /* what is wrong and, where possible, how to fix it */
} fl_diag_t;

/** A growable list of diagnostics; the caller owns it (init, then close). */
typedef struct fl_diag_list_s {
    fl_diag_t *items; /* owned; NULL while empty */
    size_t len;
    size_t cap;
} fl_diag_list_t;

/** Prepares an empty list. Never fails. */
void fl_diag_list_init(fl_diag_list_t *list);
/** Frees the list's storage and leaves it empty. */
void fl_diag_list_close(fl_diag_list_t *list);
/**
 * Appends one diagnostic (printf-style message). Lists stop growing at 100 entries so that a
 * pathological file cannot exhaust memory; the dropped count is not kept.
 * Returns 0, or FL_ENOMEM.
 */
int fl_diag_add(fl_diag_list_t *list, const char *file, int line, int col, const char *field,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/**
 * Formats one diagnostic as "file:line:col: field: message" (omitting empty parts) into buf
 * of size n bytes, always NUL-terminated. Returns buf.
 */
char *fl_diag_format(const fl_diag_t *d, char *buf, size_t n);

#endif
