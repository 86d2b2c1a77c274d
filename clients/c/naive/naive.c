/*
 * clients/c/naive: the baseline of what not to do (libcurl easy interface).
 *
 * Streams the answer and prints each text delta to stdout as it arrives. No timeouts, no
 * retries, and the end of the body counts as success whatever happened: a reset, a FIN before
 * the end marker, an in-stream error event. Only a transfer that fails before any byte, or an
 * HTTP status >= 400, is reported (stderr, exit 1). SSE handling is the minimal kind found in
 * the field: split the body on "\n\n", take the "data: " lines, parse each as JSON, take the
 * delta text, ignore the rest. For Gemini, whose events end in CRLF CRLF, it does what the
 * Gemini snippets in the field do instead: read line by line, strip the CR, take the "data: "
 * lines and the first part's text (no finishReason needed). Tool calls are printed at the end as
 * one JSON line.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { CHAT, RESPONSES, MESSAGES, GEMINI } dialect_t;

/* A growable byte buffer; data is heap memory, NUL-terminated when non-NULL. */
typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

typedef struct {
    dialect_t dialect;
    CURL *easy;
    long status;
    size_t bytes;
    buf_t pending;   /* body bytes not yet split into events */
    buf_t tool_name; /* the (first) tool call's name */
    buf_t tool_args; /* its argument deltas, concatenated */
    buf_t error;     /* an HTTP error body */
} state_t;

static void buf_append(buf_t *b, const char *s, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *n = realloc(b->data, cap);
        if (!n) {
            fputs("naive: out of memory\n", stderr);
            exit(1);
        }
        b->data = n;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

static void print_text(const char *s)
{
    if (s && *s) {
        fputs(s, stdout);
        fflush(stdout);
    }
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void add_args(state_t *st, const char *s)
{
    if (s)
        buf_append(&st->tool_args, s, strlen(s));
}

static void set_name(state_t *st, const char *s)
{
    if (s && st->tool_name.len == 0)
        buf_append(&st->tool_name, s, strlen(s));
}

/* One "data: " payload. */
static void handle_data(state_t *st, const char *data)
{
    json_t *j = json_loads(data, 0, NULL);
    if (!j)
        return; /* [DONE], or something it does not understand */
    const char *type = str(j, "type");
    if (st->dialect == CHAT) {
        json_t *delta = json_object_get(json_array_get(json_object_get(j, "choices"), 0), "delta");
        print_text(str(delta, "content"));
        json_t *call = json_array_get(json_object_get(delta, "tool_calls"), 0);
        json_t *fn = json_object_get(call, "function");
        set_name(st, str(fn, "name"));
        add_args(st, str(fn, "arguments"));
    } else if (st->dialect == RESPONSES && type) {
        if (strcmp(type, "response.output_text.delta") == 0)
            print_text(str(j, "delta"));
        else if (strcmp(type, "response.output_item.added") == 0)
            set_name(st, str(json_object_get(j, "item"), "name"));
        else if (strcmp(type, "response.function_call_arguments.delta") == 0)
            add_args(st, str(j, "delta"));
    } else if (st->dialect == GEMINI) {
        json_t *part = json_array_get(
            json_object_get(
                json_object_get(json_array_get(json_object_get(j, "candidates"), 0), "content"),
                "parts"),
            0);
        print_text(str(part, "text"));
        json_t *call = json_object_get(part, "functionCall");
        if (call) {
            set_name(st, str(call, "name"));
            char *args = json_dumps(json_object_get(call, "args"), JSON_COMPACT);
            add_args(st, args);
            free(args);
        }
    } else if (st->dialect == MESSAGES && type) {
        if (strcmp(type, "content_block_start") == 0) {
            set_name(st, str(json_object_get(j, "content_block"), "name"));
        } else if (strcmp(type, "content_block_delta") == 0) {
            json_t *delta = json_object_get(j, "delta");
            print_text(str(delta, "text"));
            add_args(st, str(delta, "partial_json"));
        }
    }
    json_decref(j);
}

/* Gemini: handles each complete line of the pending bytes that starts with "data: ". */
static void split_lines(state_t *st)
{
    char *start = st->pending.data;
    char *nl;
    while ((nl = strchr(start, '\n'))) {
        *nl = '\0';
        if (nl > start && nl[-1] == '\r')
            nl[-1] = '\0';
        if (strncmp(start, "data: ", 6) == 0)
            handle_data(st, start + 6);
        start = nl + 1;
    }
    size_t rest = st->pending.len - (size_t)(start - st->pending.data);
    memmove(st->pending.data, start, rest);
    st->pending.len = rest;
    st->pending.data[rest] = '\0';
}

/* Splits the pending bytes on "\n\n" and handles each event's "data: " lines. */
static void split_events(state_t *st)
{
    char *start = st->pending.data;
    char *end;
    while ((end = strstr(start, "\n\n"))) {
        *end = '\0';
        for (char *line = start; line && *line;) {
            char *nl = strchr(line, '\n');
            if (nl)
                *nl = '\0';
            if (strncmp(line, "data: ", 6) == 0)
                handle_data(st, line + 6);
            line = nl ? nl + 1 : NULL;
        }
        start = end + 2;
    }
    size_t rest = st->pending.len - (size_t)(start - st->pending.data);
    memmove(st->pending.data, start, rest);
    st->pending.len = rest;
    st->pending.data[rest] = '\0';
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    state_t *st = ud;
    size_t len = size * nmemb;
    if (st->status == 0)
        curl_easy_getinfo(st->easy, CURLINFO_RESPONSE_CODE, &st->status);
    st->bytes += len;
    if (st->status >= 400) {
        buf_append(&st->error, ptr, len);
        return len;
    }
    buf_append(&st->pending, ptr, len);
    if (st->dialect == GEMINI)
        split_lines(st);
    else
        split_events(st);
    return len;
}

int main(void)
{
    const char *d = getenv("FAULTLINE_DIALECT");
    const char *base = getenv("FAULTLINE_BASE_URL");
    const char *model = getenv("FAULTLINE_MODEL");
    const char *prompt = getenv("FAULTLINE_PROMPT");
    state_t st = {0};
    if (!d || !base) {
        fputs("naive: FAULTLINE_DIALECT and FAULTLINE_BASE_URL must be set\n", stderr);
        return 2;
    }
    st.dialect = strcmp(d, "openai-responses") == 0     ? RESPONSES
                 : strcmp(d, "anthropic-messages") == 0 ? MESSAGES
                 : strcmp(d, "gemini") == 0             ? GEMINI
                                                        : CHAT;
    if (!model)
        model = st.dialect == MESSAGES ? "claude-sonnet-4-5"
                : st.dialect == GEMINI ? "gemini-2.5-flash"
                                       : "gpt-4o-mini";
    if (!prompt)
        prompt = "Say hello.";

    char url[2048], auth[1024];
    if (st.dialect == GEMINI)
        snprintf(url, sizeof(url), "%s/v1beta/models/%s:streamGenerateContent?alt=sse", base,
                 model);
    else
        snprintf(url, sizeof(url), "%s%s", base,
                 st.dialect == CHAT        ? "/v1/chat/completions"
                 : st.dialect == RESPONSES ? "/v1/responses"
                                           : "/v1/messages");
    json_t *req;
    if (st.dialect == GEMINI)
        req = json_pack("{s:[{s:s, s:[{s:s}]}]}", "contents", "role", "user", "parts", "text",
                        prompt);
    else if (st.dialect == RESPONSES)
        req = json_pack("{s:s, s:s, s:b}", "model", model, "input", prompt, "stream", 1);
    else
        req = json_pack("{s:s, s:i, s:[{s:s, s:s}], s:b}", "model", model, "max_tokens", 1024,
                        "messages", "role", "user", "content", prompt, "stream", 1);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *easy = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "content-type: application/json");
    if (st.dialect == MESSAGES) {
        snprintf(auth, sizeof(auth), "x-api-key: %s",
                 getenv("ANTHROPIC_API_KEY") ? getenv("ANTHROPIC_API_KEY") : "none");
        hdrs = curl_slist_append(hdrs, auth);
        hdrs = curl_slist_append(hdrs, "anthropic-version: 2023-06-01");
    } else if (st.dialect == GEMINI) {
        snprintf(auth, sizeof(auth), "x-goog-api-key: %s",
                 getenv("GEMINI_API_KEY") ? getenv("GEMINI_API_KEY") : "none");
        hdrs = curl_slist_append(hdrs, auth);
    } else {
        snprintf(auth, sizeof(auth), "authorization: Bearer %s",
                 getenv("OPENAI_API_KEY") ? getenv("OPENAI_API_KEY") : "none");
        hdrs = curl_slist_append(hdrs, auth);
    }
    st.easy = easy;
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &st);
    CURLcode rc = curl_easy_perform(easy);
    if (st.status == 0)
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &st.status);

    int status = 0;
    if (rc != CURLE_OK && st.bytes == 0 && st.status == 0) {
        fprintf(stderr, "naive: %s\n", curl_easy_strerror(rc));
        status = 1;
    } else if (st.status >= 400) {
        fprintf(stderr, "naive: HTTP %ld: %s\n", st.status, st.error.data ? st.error.data : "");
        status = 1;
    } else if (st.tool_name.len > 0) {
        /* The contract's one line; arguments parsed if they parse, else printed raw. */
        json_t *args = json_loads(st.tool_args.data ? st.tool_args.data : "", 0, NULL);
        if (args) {
            json_t *line = json_pack("{s:s, s:o}", "name", st.tool_name.data, "arguments", args);
            char *s = json_dumps(line, JSON_COMPACT);
            puts(s);
            free(s);
            json_decref(line);
        } else {
            printf("{\"name\":\"%s\",\"arguments\":%s}\n", st.tool_name.data,
                   st.tool_args.data ? st.tool_args.data : "");
        }
    } else {
        putchar('\n');
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(easy);
    curl_global_cleanup();
    free(body);
    free(st.pending.data);
    free(st.tool_name.data);
    free(st.tool_args.data);
    free(st.error.data);
    return status;
}
