/* SPDX-License-Identifier: MIT */
/*
 * hairpin.h - the source rewrite a forward needs when client and target
 * share a link (fwd/hairpin.c; hooks.h's nat FWD-HAIRPIN).
 *
 * An inside client that reaches a forward by the gateway's outside address
 * (its public DNS name) is DNAT'd to the target. When client and target
 * are on one of the gateway's prefixes, the target answers the client
 * directly, from its own address, and the client, which spoke to the
 * gateway's, drops the answer: the connection never opens. So fwd's
 * forwards whose source and new destination lie in one prefix of the
 * gateway's own get MASQUERADE too (NAT loopback or reflection, as routers
 * call it): the target sees the gateway as the client, and answers it.
 * Connections from elsewhere keep their source.
 */
#ifndef FWD_HAIRPIN_H
#define FWD_HAIRPIN_H

#include <stddef.h>
#include <ifaddrs.h>

/*
 * FWD-HAIRPIN's rules for FAMILY (4 or 6) from the gateway's addresses AS
 * (getifaddrs()), as iptables-restore lines, into BUF of LEN bytes, as
 * snprintf: one line per prefix, each prefix once. Left out: loopback
 * interfaces, link-local prefixes (no router forwards them), and single
 * addresses (/32, /128), which hold no client beside a target.
 */
size_t hairpin_render(int family, const struct ifaddrs *as, char *buf, size_t len);

#endif
