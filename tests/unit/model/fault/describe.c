/* fl_fault_describe: the one-line form the journal and reports print. */
#include "encode/dialect.h"
#include "chaos/plan.h"

#include <criterion/criterion.h>
#include <string.h>

static void check(const fl_fault_t *f, const char *want)
{
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(fl_fault_describe(f, &b), 0);
    cr_assert_str_eq(b.data, want);
    fl_buf_close(&b);
}

static fl_fault_t base(fl_fault_kind_t k)
{
    fl_fault_t f;
    memset(&f, 0, sizeof(f));
    f.kind = k;
    f.retry_after_s = f.retry_after_ms = -1;
    return f;
}

Test(fault_describe, positions_and_cuts)
{
    fl_fault_t f = base(FL_FAULT_RESET);
    f.at = (fl_at_t){FL_AT_EVENT, 12};
    check(&f, "reset at event 12");
    f = base(FL_FAULT_CLOSE);
    f.at = (fl_at_t){FL_AT_BYTE, 300};
    check(&f, "close at byte 300");
    f = base(FL_FAULT_END);
    f.at = (fl_at_t){FL_AT_MS, 40};
    check(&f, "end at 40 ms");
    f = base(FL_FAULT_DUPLICATE);
    f.at = (fl_at_t){FL_AT_END, 0};
    check(&f, "duplicate at end");
    f = base(FL_FAULT_STALL);
    f.ms = 500;
    f.at = (fl_at_t){FL_AT_CONTENT, 3};
    check(&f, "stall 500 ms at content 3");
    f = base(FL_FAULT_REFUSE);
    f.cut = FL_CUT_RST;
    check(&f, "refuse (rst)");
    f = base(FL_FAULT_NO_RESPONSE);
    check(&f, "no_response");
}

Test(fault_describe, parameters)
{
    fl_fault_t f = base(FL_FAULT_STALL);
    f.ms = 5000;
    f.keepalive_ms = 1000;
    f.at = (fl_at_t){FL_AT_BYTE, 300};
    check(&f, "stall 5000 ms (keepalive 1000 ms) at byte 300");
    f.forever = true;
    f.at.kind = FL_AT_DEFAULT;
    check(&f, "stall forever (keepalive 1000 ms)");
    f.forever = false;
    f.keepalive_jitter_ms = 300;
    f.keepalive = ": OPENROUTER PROCESSING\n\n";
    f.keepalive_len = strlen(f.keepalive);
    check(&f, "stall 5000 ms (keepalive 1000 ms +- 300 ms, 25-byte ping)");
    f.keepalive = NULL; /* borrowed above: not the fault's to free */
    f = base(FL_FAULT_HTTP_ERROR);
    f.status = 429;
    f.error_class = FL_ERR_RATE_LIMIT;
    f.retry_after_s = 2;
    check(&f, "http_error 429 retry-after 2 s");
    f.retry_after_ms = 1500;
    f.html = true;
    f.error_class = FL_ERR_OVERLOADED;
    check(&f, "http_error 429 overloaded retry-after 2 s retry-after-ms 1500 (html)");
    f = base(FL_FAULT_CORRUPT);
    f.corrupt = FL_CORRUPT_GARBAGE;
    f.bytes = 16;
    f.seed = 3;
    f.at = (fl_at_t){FL_AT_EVENT, 4};
    check(&f, "corrupt garbage 16 bytes (seed 3) at event 4");
    f.corrupt = FL_CORRUPT_CHUNK_SIZE;
    check(&f, "corrupt chunk_size at event 4");
    f = base(FL_FAULT_FRAGMENT);
    f.bytes = 1;
    f.gap_ms = 2;
    f.at.kind = FL_AT_HEADERS;
    check(&f, "fragment 1-byte pieces 2 ms apart at headers");
    uint64_t offs[] = {10, 11, 57};
    f.bytes = 0;
    f.gap_ms = 0;
    f.offsets = offs;
    f.n_offsets = 3;
    f.at.kind = FL_AT_DEFAULT;
    check(&f, "fragment at 3 offsets");
    f = base(FL_FAULT_THROTTLE);
    f.bytes = 200;
    check(&f, "throttle 200 bytes/s");
    f = base(FL_FAULT_LINE_ENDINGS);
    f.crlf = true;
    check(&f, "line_endings crlf");
    f = base(FL_FAULT_INJECT);
    f.inject_len = 17;
    f.at = (fl_at_t){FL_AT_EVENT, 2};
    check(&f, "inject 17 bytes at event 2");
    f = base(FL_FAULT_ERROR_EVENT);
    f.error_class = FL_ERR_OVERLOADED;
    f.at = (fl_at_t){FL_AT_EVENT, 5};
    check(&f, "error_event overloaded at event 5");
    f = base(FL_FAULT_PROXY_TIMEOUT);
    f.status = 524;
    f.ms = 1000;
    f.cut = FL_CUT_RST;
    check(&f, "proxy_timeout 524 after 1000 ms (rst)");
    f = base(FL_FAULT_IDLE_TIMEOUT);
    f.ms = 500;
    check(&f, "idle_timeout 500 ms (fin)");
    f = base(FL_FAULT_DELAY_HEADERS);
    f.ms = 200;
    check(&f, "delay_headers 200 ms");
    f = base(FL_FAULT_DROP_SENTINEL);
    f.drop_finish = true;
    check(&f, "drop_sentinel and finish");
}

Test(fault_describe, names_and_error_types)
{
    cr_assert_str_eq(fl_fault_name(FL_FAULT_RESET), "reset");
    cr_assert_str_eq(fl_fault_name(FL_FAULT_NO_RESPONSE), "no_response");
    cr_assert_str_eq(fl_fault_name(FL_FAULT__COUNT), "unknown");
    fl_error_class_t cls = FL_ERR_SERVER; /* neither of the types parsed below */
    cr_assert_eq(fl_fault_error_type_parse("rate_limit_exceeded", &cls), 0);
    cr_assert_eq(cls, FL_ERR_RATE_LIMIT);
    cr_assert_eq(fl_fault_error_type_parse("timeout", &cls), 0);
    cr_assert_eq(cls, FL_ERR_TIMEOUT);
    cr_assert_eq(fl_fault_error_type_parse("nope", &cls), FL_EINVAL);
    cr_assert_str_eq(fl_fault_error_type_name(FL_ERR_REQUEST_TOO_LARGE), "request_too_large");
}
