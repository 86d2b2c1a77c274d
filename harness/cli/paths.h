/*
 * Where `faultline` finds what it ships with: the scenario catalog (`faultline run` with no
 * scenarios), the catalog's JSON Schema, and the bundled reference clients.
 *
 * An installed tree must work wherever it was unpacked (a package, `cmake --install` into any
 * prefix, a Docker stage, a CI cache), so nothing installed is found by a compiled-in absolute
 * path. The order, first match wins:
 *   1. $FAULTLINE_CATALOG, for the catalog only: a user who sets it means it;
 *   2. the install layout relative to the binary's own folder (/proc/self/exe), e.g.
 *      ../share/faultline/scenarios and ../libexec/faultline/clients from bin/;
 *   3. the source tree and build folder, only when the binary is the one its build directory
 *      made (so a copied or installed binary never reads the checkout it was built from).
 */
#ifndef FL_CLI_PATHS_H
#define FL_CLI_PATHS_H

#include <stddef.h>

/** What to look for. */
typedef enum fl_data_e {
    FL_DATA_CATALOG, /* the folder of built-in scenarios */
    FL_DATA_SCHEMA,  /* faultline.schema.json, the scenario format's JSON Schema */
    FL_DATA_CLIENTS  /* the folder holding the reference clients (robust, naive) */
} fl_data_t;

/** Where it was found. */
typedef enum fl_origin_e {
    FL_ORIGIN_NONE,    /* nowhere */
    FL_ORIGIN_ENV,     /* $FAULTLINE_CATALOG */
    FL_ORIGIN_INSTALL, /* relative to the binary: an installed or unpacked tree */
    FL_ORIGIN_BUILD    /* the source tree or build folder of the binary's build */
} fl_origin_t;

/** The order of the catalog search, for --help texts (one line per place, indented). */
extern const char fl_paths_catalog_order[];

/**
 * Finds what in the order above and writes its path (absolute, or $FAULTLINE_CATALOG as given)
 * to out, n bytes, NUL-terminated. Returns where it was found; FL_ORIGIN_NONE leaves out "".
 * A path that does not fit in out counts as not found.
 */
fl_origin_t fl_paths_find(fl_data_t what, char *out, size_t n);

/** A short phrase for an origin ("installed", "source tree", ...), static. */
const char *fl_paths_origin_name(fl_origin_t origin);

#endif
