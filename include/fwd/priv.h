/* SPDX-License-Identifier: MIT */
/*
 * priv.h - dropping privileges once fwd is set up (DESIGN.md section 4,
 * "Privileges").
 *
 * After the queues are bound, the control socket listens and the hooks are
 * installed, fwd keeps only CAP_NET_ADMIN (every netlink message, verdicts
 * included, is checked against it) and CAP_NET_RAW (what iptables-restore,
 * exec'd on reload, may need) in its effective, permitted and bounding sets,
 * sets PR_SET_NO_NEW_PRIVS and installs a seccomp allow-list of the system
 * calls fwd, glibc, liburcu and the hooks' iptables-restore child make.
 * It runs before any thread starts: capabilities and filters are per thread
 * and threads inherit them.
 */
#ifndef FWD_PRIV_H
#define FWD_PRIV_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Drop capabilities and set no_new_privs; then, unless NO_SECCOMP, load the
 * filter. 0, or -errno with a one-line message in ERR.
 */
int priv_drop(bool no_seccomp, char *err, size_t errlen);

#endif
