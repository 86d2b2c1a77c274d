#include "serve_child.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pid_t fl_serve_child(const char *bin, const char *path, int *port)
{
    int fds[2];
    if (pipe(fds))
        return 0;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execl(bin, bin, "serve", path, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[128] = "";
    FILE *f = fdopen(fds[0], "r");
    if (!f || !fgets(line, sizeof(line), f))
        return 0;
    fclose(f);
    const char *colon = strrchr(line, ':');
    *port = colon ? atoi(colon + 1) : 0;
    return pid;
}

int fl_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
