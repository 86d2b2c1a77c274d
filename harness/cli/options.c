/* What the subcommands share about their options: the "did you mean" for a mistyped one. */
#include "cli/cmd.h"

#include "load/load.h"

#include <stdio.h>
#include <string.h>

int fl_cmd_unknown_option(const char *cmd, const char *arg, const char *const *options)
{
    char name[128];
    size_t n = strcspn(arg, "=");
    snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1), arg);
    /* "--filtr" is compared as "filtr" against "filter": the dashes are not the typo, and a
     * single-letter option would otherwise be two edits from every other. */
    const char *bare = name + strspn(name, "-");
    const char *best = NULL;
    if (strlen(bare) > 1) {
        const char *bare_opts[64];
        size_t k = 0;
        for (size_t i = 0; options[i] && k + 1 < sizeof(bare_opts) / sizeof(bare_opts[0]); i++)
            if (strncmp(options[i], "--", 2) == 0)
                bare_opts[k++] = options[i] + 2;
        bare_opts[k] = NULL;
        const char *b = fl_load_suggest(bare, bare_opts);
        best = b ? b - 2 : NULL; /* back to its "--" */
    }
    if (best)
        fprintf(stderr, "faultline %s: unknown option %s; did you mean %s?\n", cmd, name, best);
    else
        fprintf(stderr, "faultline %s: unknown option %s\n", cmd, name);
    fprintf(stderr, "(see faultline %s --help)\n", cmd);
    return 2;
}
