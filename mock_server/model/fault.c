/*
 * One fault: its catalog row (FL_FAULT_MAP in model/fault.h, as data), its defaults, what it
 * owns, copies, and its one-line description for the journal and reports. The catalog is
 * documented in the Faults section of README.md.
 */
#include "model/fault.h"

#include "base/array.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Each fault's parameter keys, from the catalog's params column: params_RESET, ... */
#define X(name, key, phase, at, required, params)                                                  \
    static const char *const params_##name[] = {params NULL};                                      \
    _Static_assert(sizeof(params_##name) / sizeof(params_##name[0]) <= FL_FAULT_MAX_PARAMS + 1,    \
                   key " has more than FL_FAULT_MAX_PARAMS parameters");
FL_FAULT_MAP(X, FL_FAULT_KEY)
#undef X

static const fl_fault_info_t catalog[] = {
#define X(name, key, phase, at, required, params)                                                  \
    {key, FL_PHASE_##phase, at, required, params_##name},
    FL_FAULT_MAP(X, FL_FAULT_KEY)
#undef X
};

static const char *const names[] = {
#define X(name, key, phase, at, required, params) key,
    FL_FAULT_MAP(X, FL_FAULT_KEY)
#undef X
        NULL};

const fl_fault_info_t *fl_fault_info(fl_fault_kind_t kind)
{
    return (unsigned)kind < FL_FAULT__COUNT ? &catalog[kind] : NULL;
}

const char *const *fl_fault_names(void)
{
    return names;
}

const char *fl_fault_name(fl_fault_kind_t kind)
{
    return (unsigned)kind < FL_FAULT__COUNT ? names[kind] : "unknown";
}

int fl_fault_kind_parse(const char *name, fl_fault_kind_t *out)
{
    for (int i = 0; i < FL_FAULT__COUNT; i++) {
        if (strcmp(names[i], name) == 0) {
            *out = (fl_fault_kind_t)i;
            return 0;
        }
    }
    return FL_EINVAL;
}

bool fl_fault_takes_position(fl_fault_kind_t kind)
{
    return (unsigned)kind < FL_FAULT__COUNT && catalog[kind].takes_position;
}

fl_fault_phase_t fl_fault_phase(fl_fault_kind_t kind)
{
    return (unsigned)kind < FL_FAULT__COUNT ? catalog[kind].phase : FL_PHASE_RESPONSE;
}

void fl_fault_init(fl_fault_t *f, fl_fault_kind_t kind)
{
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->retry_after_s = f->retry_after_ms = -1;
    f->cut = kind == FL_FAULT_RESET ? FL_CUT_RST : FL_CUT_FIN;
    if (kind == FL_FAULT_PROXY_TIMEOUT || kind == FL_FAULT_IDLE_TIMEOUT)
        f->status = 504;
    if (kind == FL_FAULT_ERROR_EVENT)
        f->error_class = FL_ERR_SERVER;
}

void fl_fault_close(fl_fault_t *f)
{
    if (!f)
        return;
    free(f->offsets);
    free(f->inject);
    free(f->keepalive);
    free(f->message);
    f->offsets = NULL;
    f->n_offsets = 0;
    f->inject = NULL;
    f->inject_len = 0;
    f->keepalive = NULL;
    f->keepalive_len = 0;
    f->message = NULL;
}

int fl_fault_copy(fl_fault_t *dst, const fl_fault_t *src)
{
    *dst = *src;
    dst->offsets = NULL;
    dst->inject = NULL;
    dst->keepalive = NULL;
    dst->message = NULL;
    if (src->n_offsets &&
        !(dst->offsets = fl_memdup(src->offsets, src->n_offsets * sizeof(*dst->offsets))))
        goto fail;
    if (src->inject) {
        /* One extra byte keeps the copy NUL-terminated like the loader's. */
        dst->inject = malloc(src->inject_len + 1);
        if (!dst->inject)
            goto fail;
        memcpy(dst->inject, src->inject, src->inject_len);
        dst->inject[src->inject_len] = '\0';
    }
    if (src->keepalive && !(dst->keepalive = fl_memdup(src->keepalive, src->keepalive_len + 1)))
        goto fail;
    if (src->message) {
        dst->message = strdup(src->message);
        if (!dst->message)
            goto fail;
    }
    return 0;
fail:
    fl_fault_close(dst);
    memset(dst, 0, sizeof(*dst));
    return FL_ENOMEM;
}

fl_error_class_t fl_fault_error_class_for_status(int status)
{
    switch (status) {
    case 400:
        return FL_ERR_INVALID_REQUEST;
    case 401:
        return FL_ERR_AUTHENTICATION;
    case 403:
        return FL_ERR_PERMISSION;
    case 404:
        return FL_ERR_NOT_FOUND;
    case 408:
    case 504:
        return FL_ERR_TIMEOUT;
    case 413:
        return FL_ERR_REQUEST_TOO_LARGE;
    case 429:
        return FL_ERR_RATE_LIMIT;
    case 503:
    case 529:
        return FL_ERR_OVERLOADED;
    default:
        break;
    }
    if (status >= 400 && status < 500)
        return FL_ERR_INVALID_REQUEST;
    return FL_ERR_SERVER;
}

/* Index = fl_error_class_t. */
static const char *const error_types[] = {
    "invalid_request", "authentication", "permission", "not_found", "request_too_large",
    "rate_limit",      "server",         "overloaded", "timeout",
};

/* The providers' spellings (OpenAI `type`/`code`, Anthropic `error.type`). */
static const struct {
    const char *name;
    fl_error_class_t cls;
} error_aliases[] = {
    {"invalid_request_error", FL_ERR_INVALID_REQUEST},
    {"authentication_error", FL_ERR_AUTHENTICATION},
    {"permission_error", FL_ERR_PERMISSION},
    {"not_found_error", FL_ERR_NOT_FOUND},
    {"rate_limit_error", FL_ERR_RATE_LIMIT},
    {"rate_limit_exceeded", FL_ERR_RATE_LIMIT},
    {"api_error", FL_ERR_SERVER},
    {"server_error", FL_ERR_SERVER},
    {"overloaded_error", FL_ERR_OVERLOADED},
    {"timeout_error", FL_ERR_TIMEOUT},
};

const char *fl_fault_error_type_name(fl_error_class_t error_class)
{
    return fl_names_get(error_types, FL_COUNT(error_types), (size_t)error_class);
}

int fl_fault_error_type_parse(const char *name, fl_error_class_t *out)
{
    long i = fl_names_find(error_types, FL_COUNT(error_types), name);
    if (i >= 0) {
        *out = (fl_error_class_t)i;
        return 0;
    }
    for (size_t k = 0; k < FL_COUNT(error_aliases); k++) {
        if (strcmp(name, error_aliases[k].name) == 0) {
            *out = error_aliases[k].cls;
            return 0;
        }
    }
    return FL_EINVAL;
}

static int describe_at(const fl_at_t *at, fl_buf_t *out)
{
    switch (at->kind) {
    case FL_AT_DEFAULT:
        return 0;
    case FL_AT_HEADERS:
        return fl_buf_append_str(out, " at headers");
    case FL_AT_EVENT:
        return fl_buf_printf(out, " at event %" PRIu64, at->n);
    case FL_AT_BYTE:
        return fl_buf_printf(out, " at byte %" PRIu64, at->n);
    case FL_AT_MS:
        return fl_buf_printf(out, " at %" PRIu64 " ms", at->n);
    case FL_AT_END:
        return fl_buf_append_str(out, " at end");
    case FL_AT_CONTENT:
        return fl_buf_printf(out, " at content %" PRIu64, at->n);
    }
    return 0;
}

static const char *cut_name(fl_cut_t cut)
{
    return cut == FL_CUT_RST ? "rst" : "fin";
}

static const char *const corrupt_names[] = {"json", "utf8", "chunk_size", "garbage", "sse"};

int fl_fault_describe(const fl_fault_t *f, fl_buf_t *out)
{
    int rc = fl_buf_append_str(out, fl_fault_name(f->kind));
    if (rc)
        return rc;
    /* the parameters worth a reader's eye; a fault with none shows its name and position */
    switch (f->kind) {
    case FL_FAULT_DROP_SENTINEL:
        if (f->drop_finish)
            rc = fl_buf_append_str(out, " and finish");
        break;
    case FL_FAULT_STALL:
        if (f->forever)
            rc = fl_buf_append_str(out, " forever");
        else
            rc = fl_buf_printf(out, " %" PRIu64 " ms", f->ms);
        if (rc == 0 && f->keepalive_ms)
            rc = fl_buf_printf(out, " (keepalive %" PRIu64 " ms", f->keepalive_ms);
        if (rc == 0 && f->keepalive_ms && f->keepalive_jitter_ms)
            rc = fl_buf_printf(out, " +- %" PRIu64 " ms", f->keepalive_jitter_ms);
        if (rc == 0 && f->keepalive_ms && f->keepalive)
            rc = fl_buf_printf(out, ", %zu-byte ping", f->keepalive_len);
        if (rc == 0 && f->keepalive_ms)
            rc = fl_buf_append_str(out, ")");
        break;
    case FL_FAULT_THROTTLE:
        rc = fl_buf_printf(out, " %" PRIu64 " bytes/s", f->bytes);
        break;
    case FL_FAULT_FRAGMENT:
        if (f->n_offsets)
            rc = fl_buf_printf(out, " at %zu offsets", f->n_offsets);
        else
            rc = fl_buf_printf(out, " %" PRIu64 "-byte pieces", f->bytes);
        if (rc == 0 && f->gap_ms)
            rc = fl_buf_printf(out, " %" PRIu64 " ms apart", f->gap_ms);
        break;
    case FL_FAULT_CORRUPT:
        rc = fl_buf_printf(out, " %s",
                           fl_names_get(corrupt_names, FL_COUNT(corrupt_names), f->corrupt));
        if (rc == 0 && f->corrupt == FL_CORRUPT_GARBAGE)
            rc = fl_buf_printf(out, " %" PRIu64 " bytes (seed %" PRIu64 ")", f->bytes, f->seed);
        break;
    case FL_FAULT_LINE_ENDINGS:
        rc = fl_buf_append_str(out, f->crlf ? " crlf" : " cr");
        break;
    case FL_FAULT_INJECT:
        rc = fl_buf_printf(out, " %zu bytes", f->inject_len);
        break;
    case FL_FAULT_REPLACE:
        rc = fl_buf_printf(out, " data (%zu bytes)", f->inject_len);
        break;
    case FL_FAULT_HTTP_ERROR:
        rc = fl_buf_printf(out, " %d", f->status);
        if (rc == 0 && f->error_class != fl_fault_error_class_for_status(f->status))
            rc = fl_buf_printf(out, " %s", fl_fault_error_type_name(f->error_class));
        if (rc == 0 && f->retry_after_s >= 0)
            rc = fl_buf_printf(out, " retry-after %" PRId64 " s", f->retry_after_s);
        if (rc == 0 && f->retry_after_ms >= 0)
            rc = fl_buf_printf(out, " retry-after-ms %" PRId64, f->retry_after_ms);
        if (rc == 0 && f->html)
            rc = fl_buf_append_str(out, " (html)");
        break;
    case FL_FAULT_ERROR_EVENT:
        rc = fl_buf_printf(out, " %s", fl_fault_error_type_name(f->error_class));
        break;
    case FL_FAULT_PROXY_TIMEOUT:
        rc =
            fl_buf_printf(out, " %d after %" PRIu64 " ms (%s)", f->status, f->ms, cut_name(f->cut));
        break;
    case FL_FAULT_IDLE_TIMEOUT:
        rc = fl_buf_printf(out, " %" PRIu64 " ms (%s)", f->ms, cut_name(f->cut));
        break;
    case FL_FAULT_DELAY_HEADERS:
        rc = fl_buf_printf(out, " %" PRIu64 " ms", f->ms);
        break;
    case FL_FAULT_REFUSE:
        rc = fl_buf_printf(out, " (%s)", cut_name(f->cut));
        break;
    default:
        break;
    }
    if (rc == 0)
        rc = describe_at(&f->at, out);
    return rc;
}
