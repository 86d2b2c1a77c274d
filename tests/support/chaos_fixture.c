#include "chaos_fixture.h"

#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

void cx_script(fl_script_t *s)
{
    static const struct {
        fl_event_kind_t kind;
        uint64_t at;
        const char *bytes;
    } ev[] = {
        {FL_EVENT_META, 0, CX_E0},       {FL_EVENT_CONTENT, 100, CX_E1},
        {FL_EVENT_CONTENT, 150, CX_E2},  {FL_EVENT_FINISH, 150, CX_E3},
        {FL_EVENT_SENTINEL, 150, CX_E4},
    };
    for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
        cr_assert_eq(fl_script_push(s, ev[i].kind, ev[i].at, ev[i].bytes, strlen(ev[i].bytes)), 0);
}

fl_chaos_input_t cx_input(const fl_script_t *s, fl_body_framing_t framing)
{
    fl_chaos_input_t in = {0};
    in.script = s;
    in.dialect = FL_DIALECT_OPENAI_CHAT;
    in.framing = framing;
    in.head = CX_HEAD;
    in.head_len = strlen(CX_HEAD);
    in.request_id = "req_1";
    in.ctx.id = "abc123";
    in.ctx.created = 1700000000;
    return in;
}

fl_fault_t cx_fault(fl_fault_kind_t k)
{
    fl_fault_t f = {0};
    f.kind = k;
    f.retry_after_s = -1;
    f.retry_after_ms = -1;
    return f;
}

void cx_compile(const fl_chaos_input_t *in, const fl_fault_t *f, size_t n, fl_wire_t *w)
{
    fl_wire_init(w);
    int rc = fl_chaos_compile(in, f, n, w);
    cr_assert_eq(rc, 0, "fl_chaos_compile: %d", rc);
}

char *cx_bytes(const fl_wire_t *w, size_t *len)
{
    fl_buf_t b;
    fl_buf_init(&b);
    for (size_t i = 0; i < w->n_ops; i++)
        if (w->ops[i].kind == FL_WIRE_WRITE)
            cr_assert_eq(fl_buf_append(&b, w->bytes.data + w->ops[i].off, w->ops[i].len), 0);
    cr_assert_eq(fl_buf_append(&b, "", 0), 0);
    if (len)
        *len = b.len;
    return b.data ? b.data : calloc(1, 1);
}

char *cx_ops(const fl_wire_t *w)
{
    static const char kinds[] = "WFDNRHP";
    fl_buf_t b;
    fl_buf_init(&b);
    for (size_t i = 0; i < w->n_ops; i++) {
        const fl_wire_op_t *o = &w->ops[i];
        fl_buf_printf(&b, "%s%c@%llu%s", i ? " " : "", kinds[o->kind], (unsigned long long)o->at_ms,
                      o->own_write ? "!" : "");
        if (o->fault != FL_WIRE_NO_FAULT)
            fl_buf_printf(&b, "#%u", o->fault);
    }
    fl_buf_append(&b, "", 0);
    return b.data ? b.data : calloc(1, 1);
}

char *cx_chunk(const char *s)
{
    fl_buf_t b;
    fl_buf_init(&b);
    cr_assert_eq(fl_buf_printf(&b, "%zx\r\n%s\r\n", strlen(s), s), 0);
    return b.data;
}

const fl_wire_op_t *cx_fire(const fl_wire_t *w, uint32_t fault)
{
    for (size_t i = 0; i < w->n_ops; i++)
        if (w->ops[i].kind == FL_WIRE_FIRE && w->ops[i].fault == fault)
            return &w->ops[i];
    return NULL;
}
