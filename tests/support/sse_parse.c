#include "sse_parse.h"

#include <stdlib.h>
#include <string.h>

static char *dup_n(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

void test_sse_parse(const char *body, size_t len, test_sse_t *out)
{
    out->events = NULL;
    out->n = 0;
    char *event = NULL;
    char *data = NULL;
    size_t data_len = 0;
    int have_data = 0;
    size_t i = 0;
    while (i <= len) {
        size_t start = i;
        while (i < len && body[i] != '\n' && body[i] != '\r')
            i++;
        size_t line_len = i - start;
        const char *line = body + start;
        int at_end = i >= len;
        if (i < len && body[i] == '\r' && i + 1 < len && body[i + 1] == '\n')
            i++;
        i++;
        if (line_len == 0) {
            if (have_data || event) {
                out->events = realloc(out->events, (out->n + 1) * sizeof(*out->events));
                if (!out->events)
                    abort();
                out->events[out->n].event = event ? event : dup_n("", 0);
                out->events[out->n].data = data ? data : dup_n("", 0);
                out->n++;
            } else {
                free(event);
                free(data);
            }
            event = NULL;
            data = NULL;
            data_len = 0;
            have_data = 0;
            if (at_end)
                break;
            continue;
        }
        if (line[0] == ':')
            continue;
        const char *colon = memchr(line, ':', line_len);
        size_t name_len = colon ? (size_t)(colon - line) : line_len;
        const char *value = colon ? colon + 1 : line + line_len;
        size_t value_len = colon ? line_len - name_len - 1 : 0;
        if (value_len && value[0] == ' ') {
            value++;
            value_len--;
        }
        if (name_len == 5 && memcmp(line, "event", 5) == 0) {
            free(event);
            event = dup_n(value, value_len);
        } else if (name_len == 4 && memcmp(line, "data", 4) == 0) {
            size_t add = value_len + (have_data ? 1 : 0);
            data = realloc(data, data_len + add + 1);
            if (!data)
                abort();
            if (have_data)
                data[data_len++] = '\n';
            memcpy(data + data_len, value, value_len);
            data_len += value_len;
            data[data_len] = '\0';
            have_data = 1;
        }
        if (at_end)
            break;
    }
    /* An event without its closing blank line is incomplete and, per the spec, dropped. */
    free(event);
    free(data);
}

void test_sse_free(test_sse_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->events[i].event);
        free(s->events[i].data);
    }
    free(s->events);
    s->events = NULL;
    s->n = 0;
}
