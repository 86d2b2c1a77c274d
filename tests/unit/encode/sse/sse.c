/* SSE framing: golden bytes per field combination, line breaks in data, rejections. */
#include "base/error.h"
#include "encode/sse.h"

#include <criterion/criterion.h>
#include <string.h>

typedef struct {
    const char *name;
    fl_sse_event_t ev;
    const char *want;
} sse_case_t;

static const sse_case_t cases[] = {
    {"data only", {.data = "hi", .data_len = (size_t)-1, .retry = -1}, "data: hi\n\n"},
    {"event+data",
     {.event = "ping", .data = "{}", .data_len = (size_t)-1, .retry = -1},
     "event: ping\ndata: {}\n\n"},
    {"id+data",
     {.id = "7", .data = "x", .data_len = (size_t)-1, .retry = -1},
     "id: 7\ndata: x\n\n"},
    {"retry+data",
     {.data = "x", .data_len = (size_t)-1, .retry = 1500},
     "retry: 1500\ndata: x\n\n"},
    {"all fields in order",
     {.event = "e", .data = "d", .data_len = (size_t)-1, .id = "i", .retry = 0},
     "id: i\nevent: e\nretry: 0\ndata: d\n\n"},
    {"event only", {.event = "e", .retry = -1}, "event: e\n\n"},
    {"nothing", {.retry = -1}, "\n"},
    {"empty data", {.data = "", .data_len = (size_t)-1, .retry = -1}, "data: \n\n"},
    {"empty id", {.id = "", .data = "x", .data_len = (size_t)-1, .retry = -1}, "id: \ndata: x\n\n"},
    {"LF", {.data = "a\nb", .data_len = (size_t)-1, .retry = -1}, "data: a\ndata: b\n\n"},
    {"CR", {.data = "a\rb", .data_len = (size_t)-1, .retry = -1}, "data: a\ndata: b\n\n"},
    {"CRLF", {.data = "a\r\nb", .data_len = (size_t)-1, .retry = -1}, "data: a\ndata: b\n\n"},
    {"LFCR is two breaks",
     {.data = "a\n\rb", .data_len = (size_t)-1, .retry = -1},
     "data: a\ndata: \ndata: b\n\n"},
    {"trailing LF", {.data = "a\n", .data_len = (size_t)-1, .retry = -1}, "data: a\ndata: \n\n"},
    {"mixed",
     {.data = "1\r\n2\r3\n\n4", .data_len = (size_t)-1, .retry = -1},
     "data: 1\ndata: 2\ndata: 3\ndata: \ndata: 4\n\n"},
    {"explicit length", {.data = "abcdef", .data_len = 3, .retry = -1}, "data: abc\n\n"},
    {"UTF-8 untouched",
     {.data = "caf\xc3\xa9 \xf0\x9f\x98\x80", .data_len = (size_t)-1, .retry = -1},
     "data: caf\xc3\xa9 \xf0\x9f\x98\x80\n\n"},
};

Test(sse, golden_cases, .timeout = 10)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fl_buf_t b;
        fl_buf_init(&b);
        cr_assert_eq(fl_sse_encode(&b, &cases[i].ev), 0, "%s", cases[i].name);
        cr_assert_eq(b.len, strlen(cases[i].want), "%s", cases[i].name);
        cr_assert_eq(memcmp(b.data, cases[i].want, b.len), 0, "%s: got [%s]", cases[i].name,
                     b.data);
        fl_buf_close(&b);
    }
}

Test(sse, appends_after_existing_bytes, .timeout = 10)
{
    fl_buf_t b;
    fl_buf_init(&b);
    fl_sse_event_t a = {.event = "a", .data = "1", .data_len = (size_t)-1, .retry = -1};
    fl_sse_event_t c = {.data = "2", .data_len = (size_t)-1, .retry = -1};
    cr_assert_eq(fl_sse_encode(&b, &a), 0);
    cr_assert_eq(fl_sse_encode(&b, &c), 0);
    cr_assert_str_eq(b.data, "event: a\ndata: 1\n\ndata: 2\n\n");
    fl_buf_close(&b);
}

Test(sse, embedded_nul_in_data_with_length, .timeout = 10)
{
    fl_buf_t b;
    fl_buf_init(&b);
    fl_sse_event_t ev = {.data = "a\0b", .data_len = 3, .retry = -1};
    cr_assert_eq(fl_sse_encode(&b, &ev), 0);
    cr_assert_eq(b.len, 11);
    cr_assert_eq(memcmp(b.data, "data: a\0b\n\n", 11), 0);
    fl_buf_close(&b);
}

Test(sse, rejects_line_breaks_in_event_and_id, .timeout = 10)
{
    const char *bad[] = {"a\nb", "a\rb", "a\r\n", "\n"};
    for (size_t i = 0; i < 4; i++) {
        fl_buf_t b;
        fl_buf_init(&b);
        cr_assert_eq(fl_buf_append_str(&b, "keep"), 0);
        fl_sse_event_t e1 = {.event = bad[i], .data = "x", .data_len = (size_t)-1, .retry = -1};
        fl_sse_event_t e2 = {.id = bad[i], .data = "x", .data_len = (size_t)-1, .retry = -1};
        cr_assert_eq(fl_sse_encode(&b, &e1), FL_EINVAL);
        cr_assert_eq(fl_sse_encode(&b, &e2), FL_EINVAL);
        /* Nothing half-written is left behind. */
        cr_assert_str_eq(b.data, "keep");
        cr_assert_eq(b.len, 4);
        fl_buf_close(&b);
    }
}

Test(sse, comments, .timeout = 10)
{
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(fl_sse_encode_comment(&b, "ping"), 0);
    cr_assert_eq(fl_sse_encode_comment(&b, ""), 0);
    cr_assert_str_eq(b.data, ": ping\n: \n");
    cr_assert_eq(fl_sse_encode_comment(&b, "two\nlines"), FL_EINVAL);
    cr_assert_eq(fl_sse_encode_comment(&b, "cr\r"), FL_EINVAL);
    cr_assert_str_eq(b.data, ": ping\n: \n");
    fl_buf_close(&b);
}
