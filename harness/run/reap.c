/* Adopted orphans: the subreaper attribute and the /proc walk (reap.h). */
#include "run/reap.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Bytes of a process's environment read when looking for FL_REAP_ENV; a larger environment
 * leaves the process unattributed (it is then killed when the whole run ends). */
#define ENVIRON_MAX (1u << 20)

int fl_reap_subreaper(bool on, bool *was)
{
    int cur = 0;
    if (prctl(PR_GET_CHILD_SUBREAPER, (unsigned long)&cur, 0, 0, 0) != 0)
        return -errno;
    if (was)
        *was = cur != 0;
    if (prctl(PR_SET_CHILD_SUBREAPER, on ? 1ul : 0ul, 0, 0, 0) != 0)
        return -errno;
    return 0;
}

void fl_reap_run_id(size_t job, char *buf, size_t n)
{
    snprintf(buf, n, "%ld.%zu", (long)getpid(), job);
}

/* Reads /proc/PID/stat: the state letter and the parent. "pid (comm) S ppid ...", where comm
 * may hold spaces and parentheses, so the fields are read after the last ')'. */
static bool read_stat(pid_t pid, char *state, pid_t *ppid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    long pp;
    if (!rp || sscanf(rp + 1, " %c %ld", state, &pp) != 2)
        return false;
    *ppid = (pid_t)pp;
    return true;
}

/* The job of pid's FL_REAP_ENV when it was given by this process, else -1. */
static long owner_job(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t cap = 16384, len = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        ssize_t k = read(fd, buf + len, cap - len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        len += (size_t)k;
        if (len == cap) {
            char *bigger = cap < ENVIRON_MAX ? realloc(buf, cap * 2 + 1) : NULL;
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    close(fd);
    if (!buf)
        return -1;
    buf[len] = '\0';
    static const char key[] = FL_REAP_ENV "=";
    long job = -1;
    for (size_t i = 0; i < len; i += strlen(buf + i) + 1) {
        if (strncmp(buf + i, key, sizeof(key) - 1) != 0)
            continue;
        long owner;
        unsigned long j;
        char end;
        if (sscanf(buf + i + sizeof(key) - 1, "%ld.%lu%c", &owner, &j, &end) == 2 &&
            owner == (long)getpid())
            job = (long)j;
        break;
    }
    free(buf);
    return job;
}

int fl_reap_list(const pid_t *skip, size_t n_skip, fl_reap_child_t *out, size_t max)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -errno;
    pid_t self = getpid();
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
        char state;
        pid_t ppid;
        if (!read_stat(pid, &state, &ppid) || ppid != self)
            continue;
        bool skipped = false;
        for (size_t i = 0; i < n_skip && !skipped; i++)
            skipped = skip[i] == pid;
        if (skipped)
            continue;
        if ((size_t)n < max) {
            out[n].pid = pid;
            out[n].zombie = state == 'Z';
            out[n].job = out[n].zombie ? -1 : owner_job(pid);
        }
        n++;
    }
    closedir(d);
    return n;
}
