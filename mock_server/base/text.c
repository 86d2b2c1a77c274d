#include "base/text.h"

#include "base/array.h"
#include "base/error.h"

#include <stdint.h>
#include <stdlib.h>

/* Decodes one well-formed character per RFC 3629 section 4 (the byte-sequence table); returns
 * its length, or 0 when the bytes at p do not start one. */
static size_t utf8_decode_len(const unsigned char *p, size_t len)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90; /* no overlong forms */
        else if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (len < need)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return need;
}

bool fl_utf8_valid(const char *p, size_t len)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_decode_len(u + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

size_t fl_utf8_char_len(const char *p, size_t len)
{
    size_t n = utf8_decode_len((const unsigned char *)p, len);
    return n ? n : 1;
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* End (exclusive) of the piece starting at start, for each kind. start < len. */
static size_t piece_end(const char *text, size_t len, size_t start, fl_chunking_kind_t kind,
                        size_t n)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t i = start;
    switch (kind) {
    case FL_CHUNKING_WORD:
        while (i < len && is_space(u[i]))
            i++;
        while (i < len && !is_space(u[i]))
            i++;
        /* Trailing whitespace belongs to the last piece rather than forming a piece alone. */
        size_t j = i;
        while (j < len && is_space(u[j]))
            j++;
        return j == len ? len : i;
    case FL_CHUNKING_CHAR:
        return i + fl_utf8_char_len(text + i, len - i);
    case FL_CHUNKING_BYTES:
        i += fl_utf8_char_len(text + i, len - i);
        while (i < len) {
            size_t c = fl_utf8_char_len(text + i, len - i);
            if (i + c - start > n)
                break;
            i += c;
        }
        return i;
    }
    return len;
}

int fl_text_split(const char *text, size_t len, fl_chunking_kind_t kind, size_t n,
                  fl_text_piece_t **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (kind != FL_CHUNKING_WORD && kind != FL_CHUNKING_CHAR && kind != FL_CHUNKING_BYTES)
        return FL_EINVAL;
    if (kind == FL_CHUNKING_BYTES && n == 0)
        return FL_EINVAL;
    if (len == 0)
        return 0;

    fl_text_piece_t *pieces = NULL;
    size_t count = 0, cap = 0;
    for (size_t start = 0; start < len;) {
        size_t end = piece_end(text, len, start, kind, n);
        if (FL_ARRAY_GROW(pieces, cap, count, 16))
            goto fail_alloc;
        pieces[count++] = (fl_text_piece_t){start, end - start};
        start = end;
    }
    *out = pieces;
    *n_out = count;
    return 0;

fail_alloc:
    free(pieces);
    return FL_ENOMEM;
}
