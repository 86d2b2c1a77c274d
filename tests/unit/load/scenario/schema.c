/*
 * The JSON Schema editors use and the loader agree: each mapping's property names in
 * scenarios/faultline.schema.json are exactly the keys the loader accepts there. The loader's
 * keys are read from its own "unknown key" diagnostic, which lists them all.
 */
#include "load/load.h"
#include "model/scenario.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *load_schema(void)
{
    char path[1024];
    json_error_t err;
    snprintf(path, sizeof(path), "%s/scenarios/faultline.schema.json", FL_SOURCE_DIR);
    /* The seed's maximum, 2^64-1, is valid JSON but beyond jansson's json_int_t. */
    json_t *schema = json_load_file(path, JSON_DECODE_INT_AS_REAL, &err);
    cr_assert_not_null(schema, "schema: %s at line %d", err.text, err.line);
    return schema;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, comma-separated property names of the object at a JSON pointer-like path. */
static void schema_keys(json_t *schema, const char *const *path, char *out, size_t n)
{
    json_t *node = schema;
    for (size_t i = 0; path[i]; i++) {
        node = json_object_get(node, path[i]);
        cr_assert_not_null(node, "schema has no %s", path[i]);
    }
    json_t *props = json_object_get(node, "properties");
    cr_assert(json_is_object(props));
    const char *names[32];
    size_t len = 0;
    const char *key;
    json_t *val;
    json_object_foreach(props, key, val)
    {
        cr_assert_lt(len, 32);
        names[len++] = key;
    }
    qsort(names, len, sizeof(names[0]), cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < len; i++) {
        strncat(out, i ? "," : "", n - strlen(out) - 1);
        strncat(out, names[i], n - strlen(out) - 1);
    }
}

/* Loads yaml (which holds one unknown key) and returns the listed valid keys, sorted. */
static void loader_keys(const char *yaml, const char *field, char *out, size_t n)
{
    fl_diag_list_t diags;
    fl_diag_list_init(&diags);
    fl_scenario_t *sc;
    cr_assert_eq(fl_scenario_load_string("keys.yaml", yaml, strlen(yaml), &sc, &diags), FL_ESCHEMA);
    cr_assert_eq(diags.len, 1, "%s", diags.len ? diags.items[0].message : "");
    cr_assert_str_eq(diags.items[0].field, field);
    const char *list = strstr(diags.items[0].message, "(valid keys: ");
    cr_assert_not_null(list, "%s", diags.items[0].message);
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", list + strlen("(valid keys: "));
    char *end = strrchr(buf, ')');
    cr_assert_not_null(end);
    *end = '\0';
    char *names[32];
    size_t len = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save))
        names[len++] = tok;
    qsort(names, len, sizeof(names[0]), cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < len; i++) {
        strncat(out, i ? "," : "", n - strlen(out) - 1);
        strncat(out, names[i], n - strlen(out) - 1);
    }
    fl_diag_list_close(&diags);
}

#define HEAD "faultline: 1\nname: keys\ndialect: openai-chat\n"

typedef struct {
    const char *path[6];
    const char *yaml;
    const char *field;
} level_t;

static const level_t levels[] = {
    {{NULL}, HEAD "response: {text: hi}\nqqqqqqqqqqqq: 1\n", "qqqqqqqqqqqq"},
    {{"$defs", "response", NULL},
     HEAD "response: {text: hi, qqqqqqqqqqqq: 1}\n",
     "response.qqqqqqqqqqqq"},
    {{"$defs", "expect", NULL},
     HEAD "response: {text: hi}\nexpect: {qqqqqqqqqqqq: 1}\n",
     "expect.qqqqqqqqqqqq"},
    {{"$defs", "tool_call", NULL},
     HEAD "response: {tool_call: {name: f, qqqqqqqqqqqq: 1}}\n",
     "response.tool_call.qqqqqqqqqqqq"},
    {{"$defs", "event", NULL},
     HEAD "response: {events: [{data: x, qqqqqqqqqqqq: 1}]}\nexpect: {answer: x}\n",
     "response.events[0].qqqqqqqqqqqq"},
    {{"$defs", "response", "properties", "usage", NULL},
     HEAD "response: {text: hi, usage: {qqqqqqqqqqqq: 1}}\n",
     "response.usage.qqqqqqqqqqqq"},
    {{"$defs", "response", "properties", "writes", "items", NULL},
     HEAD "response: {writes: [{ms: 0, data: x, qqqqqqqqqqqq: 1}]}\n",
     "response.writes[0].qqqqqqqqqqqq"},
};

Test(scenario_schema, property_names_match_the_loader)
{
    json_t *schema = load_schema();
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        char want[512], got[512];
        schema_keys(schema, levels[i].path, want, sizeof(want));
        loader_keys(levels[i].yaml, levels[i].field, got, sizeof(got));
        cr_assert_str_eq(got, want, "level %s: loader [%s], schema [%s]", levels[i].field, got,
                         want);
    }
    json_decref(schema);
}

Test(scenario_schema, is_draft_2020_12_with_required_keys)
{
    json_t *schema = load_schema();
    cr_assert_str_eq(json_string_value(json_object_get(schema, "$schema")),
                     "https://json-schema.org/draft/2020-12/schema");
    json_t *req = json_object_get(schema, "required");
    /* response is optional: a file without it is a fault profile (tests/unit/load/scenario/
     * profile.c), which the loader accepts too */
    cr_assert_eq(json_array_size(req), 3);
    const char *want[] = {"faultline", "name", "dialect"};
    for (size_t i = 0; i < 3; i++)
        cr_assert_str_eq(json_string_value(json_array_get(req, i)), want[i]);
    json_t *dialects =
        json_object_get(json_object_get(json_object_get(schema, "properties"), "dialect"), "enum");
    for (size_t i = 0; i < json_array_size(dialects); i++) {
        fl_dialect_t d;
        cr_assert_eq(fl_dialect_parse(json_string_value(json_array_get(dialects, i)), &d), 0);
    }
    cr_assert_eq(json_array_size(dialects),
                 4); /* openai-chat, openai-responses, anthropic, gemini */
    json_decref(schema);
}
