/* SPDX-License-Identifier: MIT */
/*
 * instance.h - one fwd per network namespace.
 *
 * fwd's chain names (FWD-QUEUE, FWD-DNAT, ...) are global to a network
 * namespace, so two instances there would rewrite and then delete each
 * other's hooks. The running instance holds a listening unix socket in the
 * abstract namespace, which is per network namespace and vanishes with the
 * process (no stale lock after a crash). A second instance finds the name
 * taken, connects, learns the first one's pid from the kernel
 * (SO_PEERCRED) and its control socket from the one line the first one
 * answers, and refuses to start without touching anything.
 */
#ifndef FWD_INSTANCE_H
#define FWD_INSTANCE_H

#include <stddef.h>

/* The abstract socket name (a leading NUL in sun_path). */
#define FWD_INSTANCE_NAME	"fwd/instance"

/*
 * Claim this network namespace for the instance whose control socket is
 * SOCKET_PATH. 0, or -EADDRINUSE with "another fwd runs in this network
 * namespace: pid N, control socket PATH" in ERR, or another -errno.
 */
int instance_claim(const char *socket_path, char *err, size_t errlen);

/* Answer other instances' questions from a thread of its own (after priv_drop). */
int instance_serve(void);

/* Stop answering and give the namespace up (idempotent). */
void instance_release(void);

#endif
