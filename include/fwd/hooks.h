/* SPDX-License-Identifier: MIT */
/*
 * hooks.h - the kernel side: fwd's own iptables chains (DESIGN.md section 4).
 *
 * fwd owns its chains per family and touches nothing else beyond one jump
 * rule from each table's PREROUTING (and nat POSTROUTING), marked with the
 * comment "fwd":
 *
 *   mangle FWD-QUEUE  jumped to from mangle PREROUTING: with
 *                     hc->bridged_pass, frames a bridge switches between its
 *                     ports (FWD_BRIDGED_MARK, bridged.h) go to FWD-SEEN,
 *                     unless for a local address (those lose the bit and go
 *                     on); loopback returns;
 *                     IPv6 neighbour discovery (ICMPv6 133-137, hop limit
 *                     255) and MLD from link-local (or unspecified, RFC 3590)
 *                     sources with hop limit 1 return unless nd_rules
 *                     (RFC 4890 4.4: no rules file may cut them);
 *                     so do the answers to the gateway's DHCPv6 client
 *                     (UDP 547 to 546, link-local to link-local) unless
 *                     dhcpv6_rules;
 *                     so do the HA pair's VRRP adverts and conntrackd sync
 *                     when hc->ha asks for them (in either mode);
 *                     in stateful mode established/related traffic returns
 *                     and invalid traffic is dropped; in every-packet mode
 *                     ICMP errors related to a connection return (fwd let
 *                     the connection through, path MTU discovery needs
 *                     them); then, with hc->rpfilter, a drop of what does
 *                     not route back (-m rpfilter --invert, commented
 *                     FWD_RPF_COMMENT); then a jump to FWD-EARLY when hc->early
 *                     drops anything; then, when hooks_gated() in the
 *                     stateful mode, a jump to FWD-GATE; the rest goes to
 *                     NFQUEUE (--queue-num or --queue-balance, --queue-bypass
 *                     when failing open, --queue-cpu-fanout with more than one
 *                     queue).
 *   nat FWD-DNAT      jumped to from nat PREROUTING: DNAT for each forward
 *                     rule whose target is of that family, keyed on the
 *                     packet mark fwd's verdict sets (exact match). A target
 *                     port takes a -p tcp and a -p udp line, then an
 *                     address-only line for other protocols; a target
 *                     without port one address-only line.
 *   nat FWD-HAIRPIN   jumped to from nat POSTROUTING: MASQUERADE for fwd's
 *                     forwards (any forward mark) whose source and new
 *                     destination share one of the gateway's prefixes
 *                     (fwd/hairpin.c, hairpin.h), read at each install and
 *                     again on every address change (hooks_hairpin());
 *                     empty while no forward rule has a target of that
 *                     family, and with hc->nat_loopback off.
 *   mangle FWD-SEEN   gone to from the top of FWD-QUEUE for packets that
 *                     carry FWD_REPEAT_MARK (fwd's repeat verdict) or
 *                     FWD_BRIDGED_MARK: clears them and FWD_NEW_MARK, and its
 *                     end returns to PREROUTING, whose later rules then see
 *                     the packet.
 *   mangle FWD-EARLY  jumped to from FWD-QUEUE just before the queue: the
 *                     drops the rules fix whatever else a packet carries
 *                     (fwd/early.c, early.h), by protocol and destination
 *                     port, one comment per rule; declared (flushed) always.
 *   FWD-GATE          the overload gate, with `fail: closed` and `daemon:
 *                     shed: on` (the defaults): while the queue overflows,
 *                     one hashlimit line that sends what comes faster than
 *                     fwd/gate.c's rate to FWD-SHED, so an overload is shed
 *                     for the cost of a rule match instead of a queue
 *                     message each (hooks_gate()). In every-packet mode in
 *                     raw, jumped to from raw PREROUTING, before conntrack,
 *                     after the exemptions of FWD-QUEUE again; in the
 *                     stateful mode in mangle, jumped to from FWD-QUEUE
 *                     after FWD-EARLY. The raw chain and its jump stay,
 *                     empty, in the stateful mode too.
 *   FWD-SHED          FWD-GATE's drop, in the same table, in a chain of its
 *                     own so that its counter outlives the changes of
 *                     FWD-GATE's rate.
 *   mangle FWD-DEFRAG nothing jumps to it; its socket-match rule keeps
 *                     IPv4/IPv6 defragmentation registered in the namespace.
 *
 * `reject` needs no chain: fwd drops the packet and answers it itself
 * (fwd/reject.c). A FWD-REJECT filter chain an older fwd left is removed.
 *
 * Changes go through iptables-restore / ip6tables-restore --noflush, so each
 * table changes in one transaction and other chains are left alone. The
 * binaries are run with fork+exec from /usr/sbin or /sbin (no shell).
 * None of this runs on the packet path.
 */
#ifndef FWD_HOOKS_H
#define FWD_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "fwd/config.h"
#include "fwd/early.h"
#include "fwd/ruleset.h"

#define FWD_HOOKS_QUEUE_CHAIN	"FWD-QUEUE"
#define FWD_HOOKS_DNAT_CHAIN	"FWD-DNAT"
#define FWD_HOOKS_COMMENT	"fwd"
#define FWD_HOOKS_REJECT_CHAIN	"FWD-REJECT"	/* only removed (older fwd) */
#define FWD_HOOKS_SEEN_CHAIN	"FWD-SEEN"
#define FWD_HOOKS_DEFRAG_CHAIN	"FWD-DEFRAG"
#define FWD_HOOKS_EARLY_CHAIN	"FWD-EARLY"
#define FWD_HOOKS_GATE_CHAIN	"FWD-GATE"
#define FWD_HOOKS_SHED_CHAIN	"FWD-SHED"
#define FWD_HOOKS_HAIRPIN_CHAIN	"FWD-HAIRPIN"

/* The comment of FWD-QUEUE's reverse path drop, by which fwd/rpfilter.c counts it. */
#define FWD_RPF_COMMENT		"fwd-rpfilter"

/*
 * Mark bit of fwd's repeat verdict (allow, forward): the packet runs mangle
 * PREROUTING again and FWD-QUEUE lets it by, clearing the bit. It lives only
 * between the verdict and FWD-SEEN. In fwd's own byte (FWD_MARK_MASK) but
 * never part of a forward mark (FWD_MARK_BASE | rule | FWD_MARK_GEN).
 */
#define FWD_REPEAT_MARK		0x10000000u
/*
 * Mark bit FWD-QUEUE sets, in every-packet mode, on packets conntrack calls
 * NEW, just before the queue: the workers cannot tell a UDP reply from a new
 * flow by its headers, and scan, knock and limit count only packets that
 * open a connection (fwd/flow.c). fwd never passes it on: the verdict's mark
 * leaves it out and FWD-SEEN clears it.
 */
#define FWD_NEW_MARK		0x20000000u

/*
 * Conntrack mark bit (the connection's, not the packet's) of a connection
 * whose source joined a set that a drop or reject rule uses (fwd/recheck.c).
 * In the stateful mode FWD-QUEUE queues such a connection's packets in the
 * original direction again, so the rules judge each one.
 */
#define FWD_RECHECK_MARK	0x40000000u

struct fwd_hooks_conf {
	uint32_t queue_base;		/* first NFQUEUE number */
	uint32_t queues;		/* how many, >= 1 */
	enum fwd_inspect inspect;	/* new connections only, or every packet */
	enum fwd_fail fail;		/* open: --queue-bypass */
	enum fwd_rpfilter rpfilter;	/* daemon: rpfilter: FWD-QUEUE's reverse path drop */
	bool bridged_pass;		/* daemon: bridged: pass (fwd/bridged.c) */
	bool nd_rules;			/* queue neighbour discovery and MLD too */
	bool dhcpv6_rules;		/* queue the DHCPv6 client's answers too */
	struct fwd_ha ha;		/* zero: nothing passes for an HA pair */
	const struct fwd_early *early;	/* FWD-EARLY's drops; NULL: none */
	bool shed;			/* daemon: shed: on (FWD-GATE) */
	bool nat_loopback;		/* daemon: nat_loopback: on (FWD-HAIRPIN's lines) */
	bool recheck;			/* a set blocks: queue FWD_RECHECK_MARK connections */
};

/*
 * Take into HC what the rules file's daemon: section says of the hooks and
 * a reload may change: inspect, rpfilter, bridged, neighbor_discovery, dhcpv6_client,
 * ha, shed, nat_loopback.
 * (The queues and fail: are fixed at start.)
 */
void hooks_conf_daemon(struct fwd_hooks_conf *hc, const struct fwd_daemon *dc);

/* Does FWD-QUEUE jump to FWD-GATE: shed on and fail closed? */
static inline bool hooks_gated(const struct fwd_hooks_conf *hc)
{
	return hc->shed && hc->fail == FWD_FAIL_CLOSED;
}

/*
 * FWD-GATE's line for RATE packets/s (0: none) as iptables-restore text,
 * into BUF of LEN bytes, as snprintf. GEN names the hashlimit table
 * (FWD_HOOKS_GATE_NAME and GEN modulo FWD_HOOKS_GATE_GENS): the kernel keeps
 * a table's rate for as long as a rule of that name exists, so each new
 * rate takes a new name.
 */
#define FWD_HOOKS_GATE_NAME	"fwd-gate-"
#define FWD_HOOKS_GATE_GENS	1000000u	/* the name within hashlimit's 15 bytes */
size_t hooks_render_gate(uint32_t rate, unsigned gen, char *buf, size_t len);

/*
 * Replace FWD-GATE's line in both families by RATE's (0: empty it); every
 * later install renders the same line. 0, or -errno when IPv4's failed.
 */
int hooks_gate(uint32_t rate);
/* Forget the line: an install without the gate (shed: off) removed it. */
void hooks_gate_forget(void);

/*
 * Read the gateway's prefixes again (hairpin.h); when FWD-HAIRPIN's lines
 * changed, replace them in both families. For address events; every later
 * install renders the same lines. 0, or -errno when IPv4's failed.
 */
int hooks_hairpin(void);
/* Read them without touching the kernel: for hooks_render() (--no-hooks). */
void hooks_hairpin_scan(void);

/*
 * Write the iptables-restore text (FAMILY 4) or ip6tables-restore text
 * (FAMILY 6) for a --noflush restore into BUF: raw, mangle and nat, fwd's
 * chains declared (which flushes them), their rules, and the jump rules. RS may
 * be NULL: no forward rules. Returns the length written (NUL not counted),
 * -EINVAL for a bad family or queue range, -ENOSPC when LEN is too small.
 */
int hooks_render(int family, const struct fwd_hooks_conf *hc, const struct fwd_ruleset *rs,
		 char *buf, size_t len);

/* The same from an array of N rule infos (those not FWD_FORWARD are skipped). */
int hooks_render_rules(int family, const struct fwd_hooks_conf *hc,
		       const struct fwd_rule_info *rules, size_t n, char *buf, size_t len);

/*
 * Install or replace fwd's chains for both families, one restore per family
 * (atomic per table). Idempotent: a jump rule already there is not added
 * again. Returns 0 or -errno, with a warning logged, when either family
 * failed; then the chains of the other may stand, for the caller to remove
 * or replace. Only in a network namespace without IPv6 (no
 * /proc/sys/net/ipv6, or disable_ipv6 in every entry of its conf/) does an
 * IPv6 failure leave IPv4 alone standing, with a warning, and return 0.
 */
int hooks_install(const struct fwd_hooks_conf *hc, const struct fwd_ruleset *rs);
int hooks_install_rules(const struct fwd_hooks_conf *hc, const struct fwd_rule_info *rules,
			size_t n);

/*
 * Remove the jump rules and delete fwd's chains in both families. Succeeds
 * when they are already gone. Returns 0 or -errno.
 */
int hooks_remove(void);

/*
 * Are the rules that lead into fwd's chains still in the tables the last
 * install put them in (each table read with iptables-save), do fwd's chains
 * hold what fwd left in them (read back after each change of fwd's; of
 * FWD-GATE's rate line, which hooks_gate() changes, only its count and
 * name), and are the bridge rules of `bridged: pass` there
 * (bridged_missing())? 0 when all is so, 1 when not (WHAT says what first
 * differs), -errno when a table could not be read.
 * BEFORE (BLEN bytes): the rule of mangle PREROUTING that comes
 * before fwd's jump, as "iptables: -A PREROUTING ..." (it sees each packet
 * fwd allows twice, and may take FWD_REPEAT_MARK away: loopguard.h), or ""
 * when the jump is first, or gone (an install puts it back first), in each
 * family read. Holds the lock that installs take, so it never sees one half
 * done.
 */
int hooks_missing(char *what, size_t len, char *before, size_t blen);
#define FWD_HOOKS_CHECK_MS	5000	/* how often the daemon asks (fwd/run.c) */
/* After an nf_tables event that concerns them (nftwatch.h): so long from the event, */
#define FWD_HOOKS_SETTLE_MS	100
/* and so long from the last look at the soonest. */
#define FWD_HOOKS_GAP_MS	500

#endif
