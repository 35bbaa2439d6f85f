/* SPDX-License-Identifier: MIT */
/*
 * bridged.h - frames a bridge of the gateway forwards between its own ports.
 *
 * With br_netfilter (built into some kernels, loaded by Docker, LXD and
 * Kubernetes), a bridge hands every IPv4 and IPv6 frame it receives to
 * iptables' PREROUTING, and so to fwd's hooks, whether the frame goes up
 * to the gateway (routed or local) or is switched to another port of the
 * bridge. Under `default: drop` that cuts two hosts of one LAN off from
 * each other. PREROUTING cannot tell the two apart (br_netfilter calls a
 * switched frame PACKET_HOST while the hooks run); the bridge can, before
 * them: a frame for another host's MAC address is PACKET_OTHERHOST there.
 *
 * `daemon: {bridged: pass}` puts two rules at the head of the bridge
 * family's nat PREROUTING (ebtables-nft, which Debian's iptables package
 * ships; it runs before br_netfilter's hook) that OR FWD_BRIDGED_MARK into
 * such frames' mark, IPv4 and IPv6 alike; FWD-QUEUE (and FWD-GATE) let
 * them by and FWD-SEEN clears the bit. Broadcast and multicast frames,
 * which the gateway receives as well as floods, are judged as before; so
 * are switched frames for an address of the gateway's own (FWD-QUEUE
 * clears the bit), since a DNAT in nat PREROUTING (a port forward as Docker
 * writes it) makes br_netfilter route such a frame instead.
 * ebtables has no comments: fwd's rules are these exact lines, which it
 * deletes (every copy) before it inserts them and when it stops, and
 * which the daemon's look at its hooks checks with `ebtables --check`.
 */
#ifndef FWD_BRIDGED_H
#define FWD_BRIDGED_H

#include <stdbool.h>
#include <stdio.h>

/* The packet mark bit of a switched frame; in fwd's own top byte. */
#define FWD_BRIDGED_MARK	0x80000000u

/*
 * Put fwd's bridge rules in (PASS) or take them out (every copy). The
 * first call takes them out even when this process never put them in (a
 * killed fwd may have left them); later calls without PASS touch nothing
 * when they are out. 0, or -errno with a warning logged: without them
 * switched frames go to the rules, as with `bridged: judge`.
 */
int bridged_apply(bool pass);

/*
 * When this process put the rules in, are both still there (`ebtables
 * --check`)? 0 when they are (or were never put in), 1 when one is gone
 * (WHAT, LEN bytes, says which): another tool flushed the bridge's nat
 * table, and switched frames go to the rules until an install.
 */
int bridged_missing(char *what, size_t len);

/* The rules as ebtables arguments, for --no-hooks: what bridged_apply(true) inserts. */
void bridged_print(FILE *f);

/*
 * With `bridged: judge`, one line (WHEN: "start", "reload") naming the
 * bridges whose switched frames br_netfilter hands to iptables, so the
 * rules judge them: what `bridged: pass` would change. Nothing otherwise.
 */
void bridged_note(bool pass, const char *when);

#endif
