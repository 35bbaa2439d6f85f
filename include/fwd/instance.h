/* SPDX-License-Identifier: MIT */
/*
 * instance.h - one fwd per network namespace.
 *
 * fwd's chain names (FWD-QUEUE, FWD-DNAT, ...) are global to a network
 * namespace, so two instances there would rewrite and then delete each
 * other's hooks. The running instance holds flock() on
 * FWD_INSTANCE_DIR/net-INODE.lock, INODE being its network namespace's
 * (/proc/self/ns/net): the directory is root's alone (mode 0700, checked),
 * so no other user can take the lock first, and the kernel lets go of it
 * when the process dies (no stale lock after a crash). It also listens on
 * an abstract unix socket, per network namespace too: a second instance
 * that finds the lock taken connects there, learns the first one's pid from
 * the kernel (SO_PEERCRED) and its control socket from the one line the
 * first one answers, believes both only from root (or its own uid), prints
 * them escaped, and refuses to start without touching anything. Any user
 * may bind that name first; then fwd still starts, and says who holds it.
 */
#ifndef FWD_INSTANCE_H
#define FWD_INSTANCE_H

#include <stddef.h>

/* The abstract socket name (a leading NUL in sun_path). */
#define FWD_INSTANCE_NAME	"fwd/instance"
/* Where the lock files live: made 0700 by fwd, never writable by others. */
#define FWD_INSTANCE_DIR	"/run/fwd-instance"

/*
 * Claim this network namespace for the instance whose control socket is
 * SOCKET_PATH (NULL: take the lock only, answer nobody: `fwd unhook`). 0,
 * or -EADDRINUSE with "another fwd runs in this network namespace: pid N,
 * control socket PATH" in ERR, or another -errno.
 */
int instance_claim(const char *socket_path, char *err, size_t errlen);

/* Answer other instances' questions from a thread of its own (after priv_drop). */
int instance_serve(void);

/* Stop answering and give the namespace up (idempotent). */
void instance_release(void);

#endif
