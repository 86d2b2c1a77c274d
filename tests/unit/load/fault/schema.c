/*
 * The JSON Schema and the loader agree on the fault catalog: the same fault names, and for
 * each fault, attempt entry, chaos block and `at` mapping the same keys. The loader's keys are
 * read from its own "unknown key" diagnostic, which lists them all.
 */
#include "chaos/chaos.h"
#include "load/load.h"

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
    json_t *schema = json_load_file(path, JSON_DECODE_INT_AS_REAL, &err);
    cr_assert_not_null(schema, "schema: %s at line %d", err.text, err.line);
    return schema;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sorted_join(const char **names, size_t len, char *out, size_t n)
{
    qsort(names, len, sizeof(names[0]), cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < len; i++) {
        strncat(out, i ? "," : "", n - strlen(out) - 1);
        strncat(out, names[i], n - strlen(out) - 1);
    }
}

/* The property names of a schema object (or of the first anyOf alternative). */
static void schema_keys(json_t *node, char *out, size_t n)
{
    if (json_object_get(node, "anyOf"))
        node = json_array_get(json_object_get(node, "anyOf"), 0);
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
    sorted_join(names, len, out, n);
}

/* Loads attempts yaml holding one unknown key; returns the listed valid keys, sorted. */
static void loader_keys(const char *attempts, const char *field, char *out, size_t n)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "faultline: 1\nname: keys\ndialect: openai-chat\nresponse: {text: hi}\n"
             "attempts:\n%s",
             attempts);
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
    *strrchr(buf, ')') = '\0';
    const char *names[32];
    size_t len = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save))
        names[len++] = tok;
    sorted_join(names, len, out, n);
    fl_diag_list_close(&diags);
}

Test(fault_schema, fault_names_match_the_catalog)
{
    json_t *schema = load_schema();
    json_t *one =
        json_object_get(json_object_get(json_object_get(schema, "$defs"), "fault"), "oneOf");
    cr_assert(json_is_array(one));
    size_t found = 0;
    for (size_t i = 0; i < json_array_size(one); i++) {
        json_t *req = json_object_get(json_array_get(one, i), "required");
        if (!req)
            continue;
        cr_assert_str_eq(json_string_value(json_array_get(req, 0)),
                         fl_fault_name((fl_fault_kind_t)found), "fault %zu", found);
        found++;
    }
    cr_assert_eq(found, FL_FAULT__COUNT);
    json_decref(schema);
}

Test(fault_schema, parameter_names_match_the_loader)
{
    json_t *schema = load_schema();
    json_t *defs = json_object_get(schema, "$defs");
    char want[512], got[512], yaml[256], field[128], def[64];
    for (int k = 0; k < FL_FAULT__COUNT; k++) {
        const char *name = fl_fault_name((fl_fault_kind_t)k);
        snprintf(def, sizeof(def), "fault_%s", name);
        json_t *node = json_object_get(defs, def);
        cr_assert_not_null(node, "schema has no %s", def);
        schema_keys(node, want, sizeof(want));
        if (k == FL_FAULT_NO_RESPONSE) {
            cr_assert_str_eq(want, "", "no_response takes no parameters");
            continue;
        }
        snprintf(yaml, sizeof(yaml), "  - faults: [{%s: {qqqqqqqqqqqq: 1}}]\n", name);
        snprintf(field, sizeof(field), "attempts[0].faults[0].%s.qqqqqqqqqqqq", name);
        loader_keys(yaml, field, got, sizeof(got));
        cr_assert_str_eq(got, want, "%s: loader [%s], schema [%s]", name, got, want);
    }
    static const struct {
        const char *def, *yaml, *field;
    } levels[] = {
        {"attempt", "  - {qqqqqqqqqqqq: 1}\n", "attempts[0].qqqqqqqqqqqq"},
        {"chaos", "  - chaos: {seed: 1, probability: 0.5, faults: [], qqqqqqqqqqqq: 1}\n",
         "attempts[0].chaos.qqqqqqqqqqqq"},
    };
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        schema_keys(json_object_get(defs, levels[i].def), want, sizeof(want));
        loader_keys(levels[i].yaml, levels[i].field, got, sizeof(got));
        cr_assert_str_eq(got, want, "%s: loader [%s], schema [%s]", levels[i].def, got, want);
    }
    schema_keys(json_array_get(json_object_get(json_object_get(defs, "at"), "oneOf"), 1), want,
                sizeof(want));
    loader_keys("  - faults: [{reset: {at: {qqqqqqqqqqqq: 1}}}]\n",
                "attempts[0].faults[0].reset.at.qqqqqqqqqqqq", got, sizeof(got));
    cr_assert_str_eq(got, want);
    json_decref(schema);
}
