/*
 * Reaping what clients leave behind. A client that daemonizes (fork, setsid, fork again)
 * leaves a process outside its process group, so killing the group misses it, and it outlives
 * the run. The runner makes itself a child subreaper (prctl(2), PR_SET_CHILD_SUBREAPER, Linux
 * 3.4): every orphaned descendant is re-parented to it instead of to init, so it can list them
 * as its own children (from /proc), tell which run each came from (the FAULTLINE_RUN_ID the
 * client was given, inherited through its environment), kill them and reap them.
 *
 * libuv reaps the children it spawned itself, with waitpid(2) on each of their pids (never
 * waitpid(-1)), so these functions never wait for a pid the caller says is libuv's.
 */
#ifndef FL_REAP_H
#define FL_REAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/** The environment variable that names a client's run: "HARNESS_PID.JOB". */
#define FL_REAP_ENV "FAULTLINE_RUN_ID"

/**
 * Sets (on) or clears the calling process's child-subreaper attribute, returning the previous
 * setting in *was (may be NULL). Returns 0, or a negative errno (EINVAL: a kernel before 3.4).
 */
int fl_reap_subreaper(bool on, bool *was);

/** One child of the calling process that it did not spawn: an adopted orphan. */
typedef struct fl_reap_child_s {
    pid_t pid;
    bool zombie; /* it has exited: waitpid reaps it at once */
    long job;    /* the JOB of its FL_REAP_ENV when that names this process, else -1 */
} fl_reap_child_t;

/**
 * Lists the children of the calling process, from /proc, except the pids in skip[0, n_skip)
 * (the ones libuv spawned and reaps). Fills out[0, max) and returns how many there are (more
 * than max when out was too small), or a negative errno when /proc cannot be read.
 */
int fl_reap_list(const pid_t *skip, size_t n_skip, fl_reap_child_t *out, size_t max);

/**
 * Formats the FL_REAP_ENV value for job of the calling process into buf (n bytes; 32 is
 * always enough).
 */
void fl_reap_run_id(size_t job, char *buf, size_t n);

#endif
