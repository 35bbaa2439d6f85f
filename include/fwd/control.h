/* SPDX-License-Identifier: MIT */
/*
 * control.h - the control socket of the running daemon (its clients:
 * include/fwd/client.h).
 *
 * A unix stream socket (mode 0660) served by one thread. A request is one
 * line of at most FWD_CONTROL_MAX bytes, read with a 2 s timeout:
 *   "stats"        the counters as an aligned table
 *   "stats json"   the counters as one JSON object (the daemon contract)
 *   "reload"       "ok: N rules", or the diagnostics of the failed reload
 *   "top"          the records `fwd top` draws (see control_top())
 *   "rollback SECONDS PREVFILE"  from `fwd apply`'s watcher (fwd/apply.c):
 *                  log the unconfirmed apply, then answer as "reload"
 * Anything else gets "error: ..." and the connection is closed. Serving a
 * request never blocks the workers: counters are read while they run.
 */
#ifndef FWD_CONTROL_H
#define FWD_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

#include "fwd/client.h"
#include "fwd/live.h"


/*
 * Listen on PATH (the default's directory FWD_SOCKET_DIR is made, mode 0750,
 * when missing). Refuses (-EADDRINUSE) when another daemon answers on PATH;
 * a stale socket file is replaced. On error ERR holds a one-line message.
 * Requests are served once control_serve() started the thread: after the
 * privileges are dropped, so that the thread starts with the reduced set.
 */
int control_start(struct fwd_state *st, const char *path, char *err, size_t errlen);
/* Start the serving thread. 0 or -errno. */
int control_serve(void);
/* Stop the thread, close the socket and remove its file. */
void control_stop(void);

/*
 * Render the counters of ST into a malloc'd string (JSON or table). Takes
 * st->lock. NULL on ENOMEM.
 */
char *control_stats(struct fwd_state *st, bool json);

/*
 * The "top" request's answer (malloc'd; NULL on ENOMEM), one record a line:
 *   queue N received R enobufs E queue_dropped Q user_dropped U
 *   default ACTION PACKETS
 *   rule NAME ACTION PACKETS            (NAME escaped as in log lines)
 *   port PROTO PORT COUNT               (top dropped destination ports)
 *   src ADDR COUNT                      (top dropped sources)
 */
char *control_top(struct fwd_state *st);

#endif
