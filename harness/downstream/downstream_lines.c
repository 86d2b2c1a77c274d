/*
 * The ndjson format's handler (downstream.h): one JSON object a line.
 */
#include "downstream/downstream_int.h"

#include <stdlib.h>

void fl_downstream__ndjson(fl_downstream_t *d, const char *line, size_t len)
{
    json_t *j = fl_downstream__json(d, line, len);
    if (!j)
        return;
    d->frames++;
    json_t *t = json_object_get(j, "text"), *e = json_object_get(j, "error");
    if (json_is_string(t))
        fl_downstream__text(d, json_string_value(t), json_string_length(t));
    if (e && !json_is_null(e) && !json_is_false(e)) {
        json_t *m = json_is_object(e) ? json_object_get(e, "message") : e;
        if (json_is_string(m)) {
            fl_downstream__fail(d, json_string_value(m));
        } else {
            char *dump = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
            fl_downstream__fail(d, dump ? dump : "");
            free(dump);
        }
    }
    if (json_is_true(json_object_get(j, "done")))
        fl_downstream__end(d);
    json_decref(j);
}
