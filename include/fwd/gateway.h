/* SPDX-License-Identifier: MIT */
/*
 * gateway.h - what a gateway needs beyond the rules: neighbour discovery
 * that the rules may be handed, and forwarding switched on. Checks that warn;
 * nothing here runs on the packet path.
 */
#ifndef FWD_GATEWAY_H
#define FWD_GATEWAY_H

#include "fwd/config.h"
#include "fwd/ruleset.h"

/*
 * With `daemon: neighbor_discovery: rules`, a warning at that key for each
 * of nd-neighbor-solicit and nd-neighbor-advert that RS drops or rejects (a
 * link-local packet with no input interface). Returns the warnings added.
 */
unsigned gateway_nd_check(const struct fwd_config *c, const struct fwd_ruleset *rs,
			  struct fwd_diags *d);

/*
 * log_warn() for each family whose forwarding sysctl (net.ipv4.ip_forward,
 * net.ipv6.conf.all.forwarding) reads 0 while a rule of C can match that
 * family: fwd judges traffic a gateway forwards, and this host forwards
 * none. WHEN starts the message ("start", "reload").
 */
void gateway_forwarding_warn(const struct fwd_config *c, const char *when);

#endif
