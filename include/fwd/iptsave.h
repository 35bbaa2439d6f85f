/* SPDX-License-Identifier: MIT */
/*
 * iptsave.h - the iptables tools fwd runs, and a table with its
 * counters as they print it. Off the packet path: fork+exec, no shell.
 */
#ifndef FWD_IPTSAVE_H
#define FWD_IPTSAVE_H

#include <stdbool.h>
#include <stddef.h>

/* /usr/sbin/NAME or /sbin/NAME into OUT; false when neither is executable. */
bool ipt_tool_path(const char *name, char *out, size_t len);

/*
 * `iptables-save -c -t TABLE` (FAMILY 4) or ip6tables-save's (6) output,
 * NUL-terminated, into *TEXT (the caller frees it). 0, or -errno (-EIO when
 * the tool failed).
 */
int ipt_save(int family, const char *table, char **text);

#endif
