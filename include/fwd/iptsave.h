/* SPDX-License-Identifier: MIT */
/*
 * iptsave.h - the iptables tools fwd runs, and a table with its
 * counters as they print it. Off the packet path: posix_spawn, no shell.
 */
#ifndef FWD_IPTSAVE_H
#define FWD_IPTSAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* /usr/sbin/NAME or /sbin/NAME into OUT; false when neither is executable. */
bool ipt_tool_path(const char *name, char *out, size_t len);

/*
 * Run ARGV (ARGV[0] a path) and wait for it: standard input from IN
 * (-1: /dev/null), standard output to OUT (-1: fwd's own, or /dev/null if
 * QUIET), standard error fwd's own, or /dev/null if QUIET. posix_spawn
 * shares fwd's memory until the exec (vfork), so unlike fork() it neither
 * copies the page tables of a daemon that may hold hundreds of MiB nor makes
 * the workers take a copy-on-write fault on every page they write next.
 * Returns the tool's exit status, or -errno when it could not run.
 */
int ipt_run(char *const argv[], int in, int out, bool quiet);

/*
 * `iptables-save -c -t TABLE` (FAMILY 4) or ip6tables-save's (6) output,
 * NUL-terminated, into *TEXT (the caller frees it). 0, or -errno (-EIO when
 * the tool failed).
 */
int ipt_save(int family, const char *table, char **text);

/*
 * The packet counters, summed, of the lines of TEXT (ipt_save()'s) that
 * append to CHAIN and hold HAS: "[P:B] -A CHAIN ... HAS ...".
 */
uint64_t ipt_counted(const char *text, const char *chain, const char *has);

/*
 * ipt_counted() of FAMILY's TABLE as ipt_save() reads it, into *N. 0, or
 * ipt_save()'s error (*N untouched): a caller keeps its last reading then,
 * since taking the failure for a counter restarted at 0 would count the
 * same packets again once the table reads again.
 */
int ipt_count(int family, const char *table, const char *chain, const char *has,
	      uint64_t *n);

#endif
