/*
 * jsonq: prints fields of a JSON file by path, so shell tests can check `faultline run --json`
 * reports without depending on node or jq.
 *
 *   jsonq [-l] FILE PATH...
 *
 * FILE is a path or `-` for stdin. A PATH is dot-separated segments: an object key, an array
 * index (0-based), or `#` for the number of elements of the array or object reached so far;
 * the empty path (``) is the whole document. Each PATH prints one value on its own line:
 * strings raw, numbers and true/false/null as JSON, arrays and objects as compact JSON. With
 * -l an array prints one element per line instead (nothing for an empty array), which lets a
 * test compare a list of findings with `sort`.
 *
 * Exit codes: 0 every path found; 1 a path was not found (named on stderr; the other paths
 * still print); 2 usage error or FILE is not JSON.
 */
#include <jansson.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Follows one path through doc. Returns a new reference, or NULL when a segment is missing. */
static json_t *lookup(json_t *doc, const char *path)
{
    json_t *cur = json_incref(doc);
    char *copy = strdup(path);
    if (!copy) {
        json_decref(cur);
        return NULL;
    }
    char *save = NULL;
    for (char *seg = strtok_r(copy, ".", &save); seg && cur; seg = strtok_r(NULL, ".", &save)) {
        json_t *next = NULL;
        if (strcmp(seg, "#") == 0) {
            if (json_is_array(cur))
                next = json_integer((json_int_t)json_array_size(cur));
            else if (json_is_object(cur))
                next = json_integer((json_int_t)json_object_size(cur));
        } else if (json_is_object(cur)) {
            next = json_incref(json_object_get(cur, seg));
        } else if (json_is_array(cur)) {
            char *end;
            unsigned long i = strtoul(seg, &end, 10);
            if (*seg && !*end)
                next = json_incref(json_array_get(cur, i));
        }
        json_decref(cur);
        cur = next;
    }
    free(copy);
    return cur;
}

static void print_value(const json_t *v)
{
    if (json_is_string(v)) {
        fwrite(json_string_value(v), 1, json_string_length(v), stdout);
        fputc('\n', stdout);
        return;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s)
        puts(s);
    free(s);
}

int main(int argc, char **argv)
{
    bool list = false;
    int i = 1;
    if (i < argc && strcmp(argv[i], "-l") == 0) {
        list = true;
        i++;
    }
    if (argc - i < 2) {
        fputs("usage: jsonq [-l] FILE PATH...\n", stderr);
        return 2;
    }
    const char *file = argv[i++];
    json_error_t err;
    json_t *doc = strcmp(file, "-") == 0 ? json_loadf(stdin, JSON_DECODE_ANY, &err)
                                         : json_load_file(file, JSON_DECODE_ANY, &err);
    if (!doc) {
        fprintf(stderr, "jsonq: %s:%d:%d: %s\n", file, err.line, err.column, err.text);
        return 2;
    }
    int rc = 0;
    for (; i < argc; i++) {
        json_t *v = lookup(doc, argv[i]);
        if (!v) {
            fprintf(stderr, "jsonq: %s: no such path in %s\n", argv[i], file);
            rc = 1;
            continue;
        }
        if (list && json_is_array(v)) {
            size_t k;
            json_t *e;
            json_array_foreach(v, k, e) print_value(e);
        } else {
            print_value(v);
        }
        json_decref(v);
    }
    json_decref(doc);
    return rc;
}
