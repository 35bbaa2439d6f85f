/* SPDX-License-Identifier: MIT */
/*
 * control.h - the control socket of the running daemon and its clients.
 *
 * A unix stream socket (mode 0660) served by one thread. A request is one
 * line of at most FWD_CONTROL_MAX bytes, read with a 2 s timeout:
 *   "stats"        the counters as an aligned table
 *   "stats json"   the counters as one JSON object (the daemon contract)
 *   "reload"       "ok: N rules", or the diagnostics of the failed reload
 * Anything else gets "error: ..." and the connection is closed. Serving a
 * request never blocks the workers: counters are read while they run.
 */
#ifndef FWD_CONTROL_H
#define FWD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "fwd/live.h"

#define FWD_CONTROL_MAX		256
#define FWD_SOCKET_DEFAULT	"/run/fwd.sock"

/*
 * Listen on PATH and start the serving thread. Refuses (-EADDRINUSE) when
 * another daemon answers on PATH; a stale socket file is replaced. On error
 * ERR holds a one-line message.
 */
int control_start(struct fwd_state *st, const char *path, char *err, size_t errlen);
/* Stop the thread, close the socket and remove its file. */
void control_stop(void);

/*
 * Render the counters of ST into a malloc'd string (JSON or table). Takes
 * st->lock. NULL on ENOMEM.
 */
char *control_stats(struct fwd_state *st, bool json);

#endif
