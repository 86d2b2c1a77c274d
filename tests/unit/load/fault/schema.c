/*
 * The JSON Schema and the loader agree on the fault catalog: the same fault names, and for
 * each fault, attempt entry, chaos block and `at` mapping the same keys. The loader's keys are
 * read from its own "unknown key" diagnostic, which lists them all. The schema is also read
 * against the catalog table itself (FL_FAULT_MAP in model/fault.h): its faults in order, each
 * fault's properties, which of them are required, and which faults may be a bare name, so the
 * schema and the table cannot drift apart.
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

/* The object form of a fault's schema (the first anyOf alternative that is an object). */
static json_t *object_form(json_t *node)
{
    json_t *any = json_object_get(node, "anyOf");
    for (size_t i = 0; any && i < json_array_size(any); i++)
        if (json_object_get(json_array_get(any, i), "properties"))
            return json_array_get(any, i);
    return node;
}

/* The schema's required keys of a fault, as the catalog's required column spells them: one
 * key, or the alternatives of a oneOf joined with " or "; "" when nothing is required. */
static void schema_required(json_t *obj, char *out, size_t n)
{
    out[0] = '\0';
    json_t *req = json_object_get(obj, "required");
    if (req) {
        cr_assert_eq(json_array_size(req), 1, "more than one required key");
        snprintf(out, n, "%s", json_string_value(json_array_get(req, 0)));
        return;
    }
    json_t *one = json_object_get(obj, "oneOf");
    for (size_t i = 0; one && i < json_array_size(one); i++) {
        json_t *alt = json_object_get(json_array_get(one, i), "required");
        cr_assert_eq(json_array_size(alt), 1);
        strncat(out, i ? " or " : "", n - strlen(out) - 1);
        strncat(out, json_string_value(json_array_get(alt, 0)), n - strlen(out) - 1);
    }
}

Test(fault_schema, schema_equals_the_catalog_table)
{
    json_t *schema = load_schema();
    json_t *defs = json_object_get(schema, "$defs");
    json_t *one = json_object_get(json_object_get(defs, "fault"), "oneOf");
    cr_assert(json_is_array(one));

    /* the faults, in the table's order, then the bare names: exactly those needing nothing */
    size_t k = 0;
    json_t *bare = NULL;
    for (size_t i = 0; i < json_array_size(one); i++) {
        json_t *alt = json_array_get(one, i);
        if (json_object_get(alt, "enum")) {
            cr_assert_null(bare, "two bare-name lists");
            bare = json_object_get(alt, "enum");
            continue;
        }
        json_t *req = json_object_get(alt, "required");
        cr_assert_lt(k, FL_FAULT__COUNT, "the schema has more faults than the table");
        cr_assert_str_eq(json_string_value(json_array_get(req, 0)), fl_fault_names()[k]);
        k++;
    }
    cr_assert_eq(k, FL_FAULT__COUNT, "the schema has %zu faults, the table %d", k, FL_FAULT__COUNT);
    cr_assert_not_null(bare);
    size_t b = 0;
    for (int f = 0; f < FL_FAULT__COUNT; f++) {
        if (fl_fault_info((fl_fault_kind_t)f)->required)
            continue;
        cr_assert_str_eq(json_string_value(json_array_get(bare, b)), fl_fault_name(f),
                         "bare name %zu", b);
        b++;
    }
    cr_assert_eq(json_array_size(bare), b, "the schema allows %zu bare names, the table %zu",
                 json_array_size(bare), b);

    /* each fault's properties: `at` when it takes a position, then its parameters */
    for (int f = 0; f < FL_FAULT__COUNT; f++) {
        const fl_fault_info_t *info = fl_fault_info((fl_fault_kind_t)f);
        char def[64], want[512], got[512];
        snprintf(def, sizeof(def), "fault_%s", info->name);
        json_t *obj = object_form(json_object_get(defs, def));
        cr_assert_not_null(obj, "schema has no %s", def);
        schema_keys(obj, got, sizeof(got));
        const char *names[FL_FAULT_MAX_PARAMS + 1];
        size_t len = 0;
        if (info->takes_position)
            names[len++] = "at";
        for (const char *const *p = info->params; *p; p++)
            names[len++] = *p;
        sorted_join(names, len, want, sizeof(want));
        cr_assert_str_eq(got, want, "%s: schema [%s], table [%s]", info->name, got, want);
        if (info->takes_position)
            cr_assert_str_eq(
                json_string_value(json_object_get(
                    json_object_get(json_object_get(obj, "properties"), "at"), "$ref")),
                "#/$defs/at", "%s.at", info->name);
        schema_required(obj, got, sizeof(got));
        cr_assert_str_eq(got, info->required ? info->required : "", "%s: required", info->name);
    }
    json_decref(schema);
}
