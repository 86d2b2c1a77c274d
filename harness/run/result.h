/*
 * The structured result a client may write (README "The client contract"): each run gets a
 * fresh folder of its own, FAULTLINE_RESULT_PATH names a file in it, and once the client is gone
 * the file is read, bounded, into the run's evidence and the folder is removed. The judge
 * (verdict.h) checks what it says against the journal.
 *
 * The folder is on local disk and the file at most FL_RESULT_MAX bytes, read once per run with
 * plain system calls: a bounded, short block of the loop. A client cannot make the read wait:
 * the file is opened without following a link and with O_NONBLOCK, and anything but a regular
 * file (a FIFO, a device) is refused unread.
 */
#ifndef FL_RESULT_H
#define FL_RESULT_H

#include "judge/evidence.h"

#include <stddef.h>

/** The file's name inside the run's folder. */
#define FL_RESULT_FILE "result.json"

/**
 * Creates a fresh, private (0700) folder for one run's result under $TMPDIR (else /tmp) and
 * writes its path into dir (n bytes). Returns 0, or a negative errno (dir is "").
 */
int fl_result_dir_make(char *dir, size_t n);

/**
 * Reads dir/FL_RESULT_FILE into ev: ev->result_found when the client wrote it, its bytes in
 * ev->result (at most FL_RESULT_MAX), or why not in ev->result_error (too large, not a regular
 * file, unreadable). A missing file leaves ev as it was. Returns 0 or FL_ENOMEM.
 */
int fl_result_collect(const char *dir, fl_evidence_t *ev);

/** Removes dir and everything the client left in it (links are removed, not followed). */
void fl_result_dir_remove(const char *dir);

#endif
