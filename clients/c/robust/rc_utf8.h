/*
 * Incremental UTF-8 validation for the robust reference client.
 *
 * Bytes arrive from the network in arbitrary pieces, so a code point may be split across reads.
 * rc_utf8_t keeps the partial code point between calls and passes through only the bytes of
 * complete, valid code points. Invalid input (a stray continuation byte, a lead byte that can
 * never start a well-formed sequence, an overlong encoding, a UTF-16 surrogate, a value above
 * U+10FFFF, or a sequence cut by the next lead byte) is rejected: for a client that means a
 * broken stream. Source: Unicode 15, chapter 3.9, table 3-7 "Well-Formed UTF-8 Byte Sequences".
 */
#ifndef RC_UTF8_H
#define RC_UTF8_H

#include <stddef.h>
#include <stdint.h>

/** Decoder state; zero it (or call rc_utf8_init) before the first feed. No heap memory. */
typedef struct rc_utf8_s {
    uint32_t cp;   /* the code point being assembled */
    uint32_t min;  /* the smallest code point its length may encode (overlong check) */
    unsigned need; /* continuation bytes still expected */
    unsigned have; /* bytes of the partial code point held in pending[] */
    unsigned char pending[4];
} rc_utf8_t;

/** Callback receiving validated bytes: `len` bytes at `data`, only whole code points. Returns 0
 *  to go on, non-zero to stop the feed (rc_utf8_feed returns that value). */
typedef int (*rc_utf8_sink_fn)(void *ud, const char *data, size_t len);

/** Resets `d` to the start of a stream. */
void rc_utf8_init(rc_utf8_t *d);

/**
 * Validates `len` bytes at `in` and hands the bytes of every complete code point to `sink`
 * (possibly in several calls; a code point split across feeds is delivered whole with the
 * feed that completes it).
 * Returns 0, RC_UTF8_EINVAL for invalid UTF-8 (the decoder then stays unusable until
 * rc_utf8_init), or the sink's non-zero return.
 */
int rc_utf8_feed(rc_utf8_t *d, const char *in, size_t len, rc_utf8_sink_fn sink, void *ud);

/** At the end of the stream: returns RC_UTF8_EINVAL when a code point was left unfinished,
 *  else 0. */
int rc_utf8_finish(const rc_utf8_t *d);

/** The error code for invalid UTF-8. */
#define RC_UTF8_EINVAL (-1001)

#endif
