/* SPDX-License-Identifier: MIT */
/*
 * ifname.h - what an interface name may hold: one check for every place
 * that takes one (a rule's in:, ha's sync_in, the in= of a packet to
 * explain). A name that passes is safe to write into iptables-restore's
 * script as one token and to print.
 */
#ifndef FWD_IFNAME_H
#define FWD_IFNAME_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Whether the LEN bytes at S (LEN <= strlen(S)) make an interface name; if
 * not, why, as a phrase ("it holds a control character") into WHY.
 */
bool ifname_valid(const char *s, size_t len, char *why, size_t whylen);

#endif
