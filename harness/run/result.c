/* The client's structured result file: a private folder per run, a bounded read (result.h). */
#define _XOPEN_SOURCE 700
#include "run/result.h"

#include "base/error.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fl_result_dir_make(char *dir, size_t n)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    int k = snprintf(dir, n, "%s/faultline-result-XXXXXX", tmp);
    if (k < 0 || (size_t)k >= n) {
        if (n)
            dir[0] = '\0';
        return -ENAMETOOLONG;
    }
    if (!mkdtemp(dir)) {
        int e = errno;
        dir[0] = '\0';
        return -e;
    }
    return 0;
}

/* Writes why the file could not be read into ev, which counts as found. */
static void unreadable(fl_evidence_t *ev, const char *fmt, const char *what)
{
    ev->result_found = true;
    snprintf(ev->result_error, sizeof(ev->result_error), fmt, what);
}

int fl_result_collect(const char *dir, fl_evidence_t *ev)
{
    char path[4096];
    if (!dir || !*dir ||
        snprintf(path, sizeof(path), "%s/%s", dir, FL_RESULT_FILE) >= (int)sizeof(path))
        return 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT)
            unreadable(ev, "cannot be opened: %s", strerror(errno));
        return 0;
    }
    int rc = 0;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        unreadable(ev, "cannot be read: %s", strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        unreadable(ev, "is not a regular file%s", "");
        goto done;
    }
    ev->result_found = true;
    char buf[16384];
    for (;;) {
        ssize_t k = read(fd, buf, sizeof(buf));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            unreadable(ev, "cannot be read: %s", strerror(errno));
            break;
        }
        if (k == 0)
            break;
        if (ev->result.len + (size_t)k > FL_RESULT_MAX) {
            char max[32];
            snprintf(max, sizeof(max), "%u", FL_RESULT_MAX);
            unreadable(ev, "is larger than %s bytes", max);
            break;
        }
        if ((rc = fl_buf_append(&ev->result, buf, (size_t)k)))
            break;
    }
done:
    close(fd);
    return rc;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0; /* remove what can be removed, whatever fails */
}

void fl_result_dir_remove(const char *dir)
{
    if (dir && *dir)
        nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
