/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - the counters in Prometheus' text exposition format, written
 * to a file every daemon.metrics.interval seconds for node_exporter's
 * textfile collector: rendered in memory, written to PATH.tmp, then
 * rename()d over PATH so that a reader never sees half a file. The main
 * loop writes it; the workers are never involved.
 */
#ifndef FWD_METRICS_H
#define FWD_METRICS_H

#include <stddef.h>

#include "fwd/live.h"

/*
 * Copy IN into OUT (OUTLEN >= 1) as a label value: backslash, double quote
 * and newline escaped as the format says. Truncates; returns strlen(OUT).
 */
size_t metrics_label_escape(char *out, size_t outlen, const char *in);

/* The exposition text of ST (malloc'd), or NULL on ENOMEM. Takes st->lock. */
char *metrics_render(struct fwd_state *st);

#define FWD_METRICS_FILE_MODE	0644	/* node_exporter reads it as another user */

/*
 * Render and write to PATH atomically: into a new file of a random name
 * (PATH.tmp.XXXXXX, created with O_EXCL, never through a link), then renamed
 * over PATH. Mode FWD_METRICS_FILE_MODE whatever the umask. 0 or -errno.
 */
int metrics_write(struct fwd_state *st, const char *path);

#endif
