/* SPDX-License-Identifier: MIT */
/*
 * nftwatch.h - the nf_tables events that may concern fwd's hooks.
 *
 * iptables-nft (Debian's iptables) changes the kernel through nf_tables,
 * which reports every committed change of a table, chain or rule to the
 * netlink group NFNLGRP_NFTABLES. fwd listens there so that it looks at its
 * hooks (hooks_missing()) a moment after another tool touched them, rather
 * than at the next of its looks every FWD_HOOKS_CHECK_MS. iptables-legacy
 * sends no events; the looks every FWD_HOOKS_CHECK_MS remain for it.
 *
 * The events that count: in the IPv4 and IPv6 families, a table raw, mangle
 * or nat made or deleted, or a chain or rule of one of them made or deleted
 * in PREROUTING, POSTROUTING or a chain of fwd's (FWD-...), but FWD-GATE,
 * whose rate line fwd's gate changes by itself under a flood; in the
 * bridge family, nat PREROUTING (the rules of `bridged: pass`). Another
 * tool's own chains (a DOCKER or KUBE-SERVICES chain) do not count.
 * None of this runs on the packet path.
 */
#ifndef FWD_NFTWATCH_H
#define FWD_NFTWATCH_H

#include <stdbool.h>
#include <stddef.h>

/* A nonblocking netlink socket in the group, or -errno (needs CAP_NET_ADMIN). */
int nftwatch_open(void);

/*
 * Read everything waiting on FD. Whether one of the events counts, or the
 * socket overran (ENOBUFS) or a message was longer than fwd reads: what
 * was lost may have counted.
 */
bool nftwatch_read(int fd);

/* Whether the LEN bytes of netlink messages at BUF hold an event that counts. */
bool nftwatch_counts(const void *buf, size_t len);

#endif
