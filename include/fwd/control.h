/* SPDX-License-Identifier: MIT */
/*
 * control.h - the control socket of the running daemon and its clients.
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

#include "fwd/live.h"
#include "fwd/packet.h"

#define FWD_CONTROL_MAX		256
#define FWD_SOCKET_DIR		"/run/fwd"
#define FWD_SOCKET_DEFAULT	FWD_SOCKET_DIR "/fwd.sock"

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

/* Counters summed over the workers; malformed[0] is unused. */
struct fwd_totals {
	uint64_t dflt_packets, dflt_bytes, received, enobufs, malformed_total;
	uint64_t malformed[FWD_PKT_NREASONS];
	uint64_t queue_dropped, user_dropped;
	uint64_t bypassed;	/* fail-open: accepted without a verdict (fwd/bypass.c) */
	struct fwd_log_stats log;
};

/* Under st->lock: sum the workers' counters, the queue drops and the log's. */
void control_totals(struct fwd_state *st, struct fwd_totals *t);
/*
 * Rule I of L: packets, bytes and the last hit (CLOCK_MONOTONIC_COARSE ms,
 * 0 for never) over every worker and what earlier tables carried over.
 */
void control_rule_totals(const struct fwd_live *l, uint32_t i, uint64_t *packets,
			 uint64_t *bytes, uint64_t *last_ms);
/* A CLOCK_MONOTONIC_COARSE millisecond time as unix seconds; 0 stays 0. */
uint64_t control_unix_time(uint64_t mono_ms);

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

/* Client: send REQ (with its newline) to PATH; the answer in *OUT. 0 or -errno. */
int control_request(const char *path, const char *req, char **out);

/* Fill SA for the unix socket PATH; -ENAMETOOLONG when it does not fit. */
struct sockaddr_un;
int control_sockaddr(struct sockaddr_un *sa, const char *path);

/* A stream socket connected to the unix socket PATH, or -errno. */
int control_connect(const char *path);

#endif
