/*
 * UTF-8 helpers and the chunking of answer text into content events.
 *
 * A scenario's `response.text` is cut into pieces, one per content event, by `chunking:`
 * (word, char or bytes:N). Pieces are (offset, length) pairs into the original text, so that
 * concatenating them gives the text back byte for byte, and no piece ever ends inside a UTF-8
 * character (RFC 3629). Bytes that are not valid UTF-8 count as one-byte characters here, so
 * splitting never fails on them; fl_utf8_valid says whether a text is clean.
 */
#ifndef FL_TEXT_H
#define FL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/** How `response.text` is cut into content events. */
typedef enum {
    FL_CHUNKING_WORD,  /* one word per event, with the whitespace before it */
    FL_CHUNKING_CHAR,  /* one Unicode code point per event */
    FL_CHUNKING_BYTES, /* up to N bytes per event, never splitting a UTF-8 character */
} fl_chunking_kind_t;

/** One piece of a split text: bytes [off, off + len) of the input. */
typedef struct fl_text_piece_s {
    size_t off; /* bytes from the start of the text */
    size_t len; /* bytes; never 0 */
} fl_text_piece_t;

/**
 * Returns true when the len bytes at p are well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates U+D800..U+DFFF, nothing above U+10FFFF). NUL bytes are valid. len 0 is valid.
 */
bool fl_utf8_valid(const char *p, size_t len);

/**
 * Length in bytes (1..4) of the character starting at p, of the len bytes available (len >= 1).
 * A byte that does not start a well-formed character, or a truncated sequence, counts as 1.
 */
size_t fl_utf8_char_len(const char *p, size_t len);

/**
 * Splits len bytes of text into pieces by kind:
 *  - FL_CHUNKING_WORD: a piece is the whitespace before a word plus the word (ASCII whitespace:
 *    space, TAB, LF, VT, FF, CR). Whitespace at the start goes with the first word; whitespace
 *    at the end goes with the last piece. Text made only of whitespace is one piece.
 *  - FL_CHUNKING_CHAR: one character (code point) per piece.
 *  - FL_CHUNKING_BYTES: as many whole characters as fit in n bytes; a piece always holds at
 *    least one character, even when that character is longer than n.
 * n is used only for FL_CHUNKING_BYTES and must then be >= 1.
 * On success returns 0, sets *out to a malloc'd array the caller frees with free() (NULL when
 * there are no pieces, i.e. len == 0) and *n_out to its length.
 * Returns FL_EINVAL (bad kind, or n == 0 for bytes) or FL_ENOMEM; then *out is NULL, *n_out 0.
 */
int fl_text_split(const char *text, size_t len, fl_chunking_kind_t kind, size_t n,
                  fl_text_piece_t **out, size_t *n_out);

#endif
