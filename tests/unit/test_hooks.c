// SPDX-License-Identifier: MIT
/*
 * test_hooks.c - the iptables-restore text fwd installs, checked line by
 * line against the expected text (the hooks' golden files, inline).
 *
 * With an argument the binary is the driver of tests/e2e/test_hooks.sh:
 *   test_hooks --install FILE   install fwd's chains for rules file FILE
 *   test_hooks --remove         remove them
 * Both refuse to run unless FWD_TEST_HOST_NETNS names the inode of another
 * network namespace than their own: a test must never change the host's
 * firewall.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "fwd/bypass.h"
#include "fwd/hairpin.h"
#include "fwd/hooks.h"
#include "fwd/iptsave.h"
#include "fwd/nftwatch.h"

static const struct fwd_hooks_conf stateful1 = {
	.queue_base = 0, .queues = 1, .inspect = FWD_INSPECT_NEW, .fail = FWD_FAIL_CLOSED,
	.shed = true, .nat_loopback = true,
};
/* shed: on, the default: no gate all the same, as fail: open has none. */
static const struct fwd_hooks_conf every4 = {
	.queue_base = 10, .queues = 4, .inspect = FWD_INSPECT_EVERY, .fail = FWD_FAIL_OPEN,
	.shed = true, .nat_loopback = true,
};

#define HAIRPIN_EMPTY \
	":FWD-HAIRPIN - [0:0]\n" \
	"-I POSTROUTING -m comment --comment fwd -j FWD-HAIRPIN\n"

/* raw: the gate's chains, empty but for FWD-SHED's drop (no gate line in a test). */
static const char raw_empty[] =
	"*raw\n"
	":FWD-GATE - [0:0]\n"
	":FWD-SHED - [0:0]\n"
	"-I PREROUTING -m comment --comment fwd -j FWD-GATE\n"
	"-A FWD-SHED -j DROP\n"
	"COMMIT\n";

/* nat: no forward rules; FWD-HAIRPIN with no prefix read (hooks_hairpin_scan()). */
static const char nat_empty[] =
	"*nat\n"
	":FWD-DNAT - [0:0]\n"
	"-I PREROUTING -m comment --comment fwd -j FWD-DNAT\n"
	HAIRPIN_EMPTY
	"COMMIT\n";

static void test_stateful_one_queue_fail_closed(void **state)
{
	static const char want[] =
		"*mangle\n"
		":FWD-QUEUE - [0:0]\n"
		":FWD-DEFRAG - [0:0]\n"
		"-A FWD-DEFRAG -m socket --nowildcard\n"
		"-I PREROUTING -m comment --comment fwd -j FWD-QUEUE\n"
		":FWD-SEEN - [0:0]\n"
		"-A FWD-QUEUE -m mark --mark 0x10000000/0x10000000 -g FWD-SEEN\n"
		"-A FWD-SEEN -j MARK --set-xmark 0x0/0xb0000000\n"
		"-A FWD-QUEUE -i lo -j RETURN\n"
		"-A FWD-QUEUE -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN\n"
		"-A FWD-QUEUE -m conntrack --ctstate INVALID -j DROP\n"
		":FWD-EARLY - [0:0]\n"
		":FWD-GATE - [0:0]\n"
		":FWD-SHED - [0:0]\n"
		"-A FWD-SHED -j DROP\n"
		"-A FWD-QUEUE -j FWD-GATE\n"
		"-A FWD-QUEUE -j NFQUEUE --queue-num 0\n"
		"COMMIT\n";
	char buf[4096], full[4096];

	(void)state;
	snprintf(full, sizeof(full), "%s%s%s", raw_empty, want, nat_empty);
	assert_int_equal(hooks_render(4, &stateful1, NULL, buf, sizeof(buf)), (int)strlen(full));
	assert_string_equal(buf, full);
}

/* IPv6: neighbour discovery and link-local MLD return before anything is queued. */
static void test_v6_nd_before_queue(void **state)
{
	static const char nd[] =
		"-A FWD-QUEUE -i lo -j RETURN\n"
		"-A FWD-QUEUE -p ipv6-icmp -m icmp6 --icmpv6-type 133 -m hl --hl-eq 255 -m addrtype --dst-type LOCAL -j RETURN\n"
		"-A FWD-QUEUE -p ipv6-icmp -m icmp6 --icmpv6-type 133 -m hl --hl-eq 255 -m addrtype --dst-type MULTICAST -j RETURN\n"
		"-A FWD-QUEUE -p ipv6-icmp -m icmp6 --icmpv6-type 134 -m hl --hl-eq 255 -m addrtype --dst-type LOCAL -j RETURN\n"
		"-A FWD-QUEUE -p ipv6-icmp -m icmp6 --icmpv6-type 134 -m hl --hl-eq 255 -m addrtype --dst-type MULTICAST -j RETURN\n"
		"-A FWD-QUEUE -p ipv6-icmp -m icmp6 --icmpv6-type 135 -m hl --hl-eq 255 -m addrtype --dst-type LOCAL -j RETURN\n"
		"-A FWD-QUEUE -p ipv6-icmp -m icmp6 --icmpv6-type 135 -m hl --hl-eq 255 -m addrtype --dst-type MULTICAST -j RETURN\n"
		"-A FWD-QUEUE -p ipv6-icmp -m icmp6 --icmpv6-type 136 -m hl --hl-eq 255 -m addrtype --dst-type LOCAL -j RETURN\n"
		"-A FWD-QUEUE -p ipv6-icmp -m icmp6 --icmpv6-type 136 -m hl --hl-eq 255 -m addrtype --dst-type MULTICAST -j RETURN\n"
		"-A FWD-QUEUE -p ipv6-icmp -m icmp6 --icmpv6-type 137 -m hl --hl-eq 255 -m addrtype --dst-type LOCAL -j RETURN\n"
		"-A FWD-QUEUE -p ipv6-icmp -m icmp6 --icmpv6-type 137 -m hl --hl-eq 255 -m addrtype --dst-type MULTICAST -j RETURN\n"
		"-A FWD-QUEUE -s fe80::/10 -p ipv6-icmp -m icmp6 --icmpv6-type 130 -m hl --hl-eq 1 -j RETURN\n";
	struct fwd_hooks_conf hc = stateful1;
	char buf[8192], v4[4096];

	(void)state;
	for (int m = 0; m < 2; m++) {
		hc.inspect = m ? FWD_INSPECT_EVERY : FWD_INSPECT_NEW;
		hc.nd_rules = false;
		assert_true(hooks_render(6, &hc, NULL, buf, sizeof(buf)) > 0);
		assert_non_null(strstr(buf, nd));
		assert_non_null(strstr(buf, "-A FWD-QUEUE -s ::/128 -p ipv6-icmp -m icmp6 --icmpv6-type 143 -m hl --hl-eq 1 -j RETURN\n"));
		assert_true(hooks_render(4, &hc, NULL, v4, sizeof(v4)) > 0);
		assert_null(strstr(v4, "icmp6"));
		/* handed to the rules: no trace of them */
		hc.nd_rules = true;
		assert_true(hooks_render(6, &hc, NULL, buf, sizeof(buf)) > 0);
		assert_null(strstr(buf, "icmp6"));
	}
}

/*
 * IPv6: the answers to the gateway's DHCPv6 client return before anything is
 * queued, right after neighbour discovery, unless handed to the rules.
 */
static void test_v6_dhcpv6_client_before_queue(void **state)
{
	static const char line[] =
		"--icmpv6-type 143 -m hl --hl-eq 1 -j RETURN\n"
		"-A FWD-QUEUE -s fe80::/10 -d fe80::/10 -p udp --sport 547 --dport 546 -j RETURN\n";
	struct fwd_hooks_conf hc = stateful1;
	char buf[8192], v4[4096];

	(void)state;
	for (int m = 0; m < 2; m++) {
		hc.inspect = m ? FWD_INSPECT_EVERY : FWD_INSPECT_NEW;
		hc.dhcpv6_rules = false;
		assert_true(hooks_render(6, &hc, NULL, buf, sizeof(buf)) > 0);
		assert_non_null(strstr(buf, line));
		assert_true(hooks_render(4, &hc, NULL, v4, sizeof(v4)) > 0);
		assert_null(strstr(v4, "--dport 546"));
		/* with neighbour discovery handed to the rules, it stays */
		hc.nd_rules = true;
		assert_true(hooks_render(6, &hc, NULL, buf, sizeof(buf)) > 0);
		assert_non_null(strstr(buf, "-A FWD-QUEUE -s fe80::/10 -d fe80::/10 -p udp --sport 547 --dport 546 -j RETURN\n"));
		hc.nd_rules = false;
		hc.dhcpv6_rules = true;
		assert_true(hooks_render(6, &hc, NULL, buf, sizeof(buf)) > 0);
		assert_null(strstr(buf, "--dport 546"));
	}
}

static void test_every_packet_four_queues_fail_open(void **state)
{
	static const char want[] =
		"*mangle\n"
		":FWD-QUEUE - [0:0]\n"
		":FWD-DEFRAG - [0:0]\n"
		"-A FWD-DEFRAG -m socket --nowildcard\n"
		"-I PREROUTING -m comment --comment fwd -j FWD-QUEUE\n"
		":FWD-SEEN - [0:0]\n"
		"-A FWD-QUEUE -m mark --mark 0x10000000/0x10000000 -g FWD-SEEN\n"
		"-A FWD-SEEN -j MARK --set-xmark 0x0/0xb0000000\n"
		"-A FWD-QUEUE -i lo -j RETURN\n"
		"-A FWD-QUEUE -p icmp -m conntrack --ctstate RELATED -j RETURN\n"
		"-A FWD-QUEUE -m conntrack --ctstate NEW -j MARK --set-xmark 0x20000000/0x20000000\n"
		":FWD-EARLY - [0:0]\n"
		":FWD-GATE - [0:0]\n"
		":FWD-SHED - [0:0]\n"
		"-X FWD-GATE\n"
		"-X FWD-SHED\n"
		"-A FWD-QUEUE -j NFQUEUE --queue-balance 10:13 --queue-bypass --queue-cpu-fanout\n"
		"COMMIT\n";
	char buf[4096], full[4096];

	(void)state;
	snprintf(full, sizeof(full), "%s%s%s", raw_empty, want, nat_empty);
	assert_int_equal(hooks_render(4, &every4, NULL, buf, sizeof(buf)), (int)strlen(full));
	assert_string_equal(buf, full);
}

static void test_one_queue_fail_open(void **state)
{
	struct fwd_hooks_conf hc = stateful1;
	char buf[4096];

	(void)state;
	hc.queue_base = 7;
	hc.fail = FWD_FAIL_OPEN;
	assert_true(hooks_render(4, &hc, NULL, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "-A FWD-QUEUE -j NFQUEUE --queue-num 7 --queue-bypass\n"));
	assert_null(strstr(buf, "fanout"));
}

/* An HA pair's VRRP and conntrackd sync return before anything is queued. */
static void test_ha_pass(void **state)
{
	static const char want4[] =
		"-A FWD-QUEUE -i lo -j RETURN\n"
		"-A FWD-QUEUE -d 224.0.0.18/32 -p 112 -m ttl --ttl-eq 255 -j RETURN\n"
		"-A FWD-QUEUE -i sync0 -p udp --dport 3780 -m addrtype --dst-type LOCAL -j RETURN\n"
		"-A FWD-QUEUE -i sync0 -p udp --dport 3780 -m addrtype --dst-type MULTICAST -j RETURN\n"
		"-A FWD-QUEUE -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN\n";
	static const char want6[] =
		"-A FWD-QUEUE -i lo -j RETURN\n"
		"-A FWD-QUEUE -d ff02::12/128 -p 112 -m hl --hl-eq 255 -j RETURN\n"
		"-A FWD-QUEUE -i sync0 -p udp --dport 3780 -m addrtype --dst-type LOCAL -j RETURN\n"
		"-A FWD-QUEUE -i sync0 -p udp --dport 3780 -m addrtype --dst-type MULTICAST -j RETURN\n";
	struct fwd_hooks_conf hc = stateful1;
	char buf[4096];

	(void)state;
	hc.ha = (struct fwd_ha){ .vrrp = true, .sync = true, .sync_port = 3780,
				 .sync_in = { .name = "sync0" } };
	assert_true(hooks_render(4, &hc, NULL, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, want4));
	assert_true(hooks_render(6, &hc, NULL, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, want6));
	/* every-packet mode: the same lines, before the queue */
	hc.inspect = FWD_INSPECT_EVERY;
	hc.ha = (struct fwd_ha){ .sync = true, .sync_port = 4000,
				 .sync_in = { .name = "ha", .prefix = true, .neg = true } };
	assert_true(hooks_render(4, &hc, NULL, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "-A FWD-QUEUE -i lo -j RETURN\n"
				    "-A FWD-QUEUE ! -i ha+ -p udp --dport 4000 -m addrtype --dst-type LOCAL -j RETURN\n"
				    "-A FWD-QUEUE ! -i ha+ -p udp --dport 4000 -m addrtype --dst-type MULTICAST -j RETURN\n"
				    "-A FWD-QUEUE -p icmp -m conntrack --ctstate RELATED -j RETURN\n"
				    "-A FWD-QUEUE -m conntrack --ctstate NEW -j MARK"));
	assert_null(strstr(buf, " 112 "));
	/* off: nothing */
	hc.ha = (struct fwd_ha){ 0 };
	assert_true(hooks_render(4, &hc, NULL, buf, sizeof(buf)) > 0);
	assert_null(strstr(buf, "udp"));
	assert_null(strstr(buf, "-p 112"));
}

/*
 * While a set blocks, established traffic returns unless it comes from the
 * source of a connection marked FWD_RECHECK_MARK; every-packet mode queues
 * it all anyway and has no such line.
 */
static void test_recheck_lines(void **state)
{
	static const char want[] =
		"-A FWD-QUEUE -m conntrack --ctstate ESTABLISHED,RELATED --ctdir REPLY -j RETURN\n"
		"-A FWD-QUEUE -m conntrack --ctstate ESTABLISHED,RELATED -m connmark ! --mark 0x40000000/0x40000000 -j RETURN\n"
		"-A FWD-QUEUE -m conntrack --ctstate INVALID -j DROP\n";
	struct fwd_hooks_conf hc = stateful1;
	char buf[8192];

	(void)state;
	hc.recheck = true;
	for (int f = 4; f <= 6; f += 2) {
		assert_true(hooks_render(f, &hc, NULL, buf, sizeof(buf)) > 0);
		assert_non_null(strstr(buf, want));
		assert_null(strstr(buf, "ESTABLISHED,RELATED -j RETURN"));
	}
	hc.inspect = FWD_INSPECT_EVERY;
	assert_true(hooks_render(4, &hc, NULL, buf, sizeof(buf)) > 0);
	assert_null(strstr(buf, "connmark"));
	assert_null(strstr(buf, "ESTABLISHED"));
}

/*
 * daemon: rpfilter: after the exemptions and (stateful) established
 * traffic, before anything else a new packet meets; none when off.
 */
static void test_rpfilter_lines(void **state)
{
	static const char strict[] =
		"-A FWD-QUEUE -m conntrack --ctstate INVALID -j DROP\n"
		"-A FWD-QUEUE -m rpfilter --invert -m comment --comment fwd-rpfilter -j DROP\n"
		":FWD-EARLY - [0:0]\n";
	static const char loose[] =
		"-A FWD-QUEUE -m conntrack --ctstate NEW -j MARK --set-xmark 0x20000000/0x20000000\n"
		"-A FWD-QUEUE -m rpfilter --loose --invert -m comment --comment fwd-rpfilter -j DROP\n"
		":FWD-EARLY - [0:0]\n";
	struct fwd_hooks_conf hc = stateful1;
	char buf[8192];

	(void)state;
	assert_true(hooks_render(4, &hc, NULL, buf, sizeof(buf)) > 0);
	assert_null(strstr(buf, "rpfilter"));
	hc.rpfilter = FWD_RPF_STRICT;
	for (int f = 4; f <= 6; f += 2) {
		assert_true(hooks_render(f, &hc, NULL, buf, sizeof(buf)) > 0);
		assert_non_null(strstr(buf, strict));
	}
	hc = every4;
	hc.rpfilter = FWD_RPF_LOOSE;
	assert_true(hooks_render(6, &hc, NULL, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, loose));
}

/*
 * bridged: pass: a frame a bridge switched (FWD_BRIDGED_MARK, set in the
 * bridge's nat PREROUTING) goes by before anything else is judged: to
 * FWD-SEEN in mangle, which clears the bit, and straight back out of the
 * raw gate, where mangle still has to see it. One for an address of the
 * gateway (a DNAT could route it) loses the bit and is judged. Judge: no
 * line reads the bit.
 */
static void test_bridged_lines(void **state)
{
	static const char mangle[] =
		"-A FWD-SEEN -j MARK --set-xmark 0x0/0xb0000000\n"
		"-A FWD-QUEUE -m mark --mark 0x80000000/0x80000000 -m addrtype ! --dst-type LOCAL "
		"-g FWD-SEEN\n"
		"-A FWD-QUEUE -m mark --mark 0x80000000/0x80000000 -j MARK --set-xmark "
		"0x0/0x80000000\n"
		"-A FWD-QUEUE -i lo -j RETURN\n";
	static const char raw[] =
		"-A FWD-SHED -j DROP\n"
		"-A FWD-GATE -m mark --mark 0x80000000/0x80000000 -m addrtype ! --dst-type LOCAL "
		"-j RETURN\n"
		"-A FWD-GATE -i lo -j RETURN\n";
	struct fwd_hooks_conf hc = stateful1;
	char buf[8192];

	(void)state;
	assert_true(hooks_render(4, &hc, NULL, buf, sizeof(buf)) > 0);
	assert_null(strstr(buf, "--mark 0x80000000"));
	hc.bridged_pass = true;
	for (int f = 4; f <= 6; f += 2) {
		assert_true(hooks_render(f, &hc, NULL, buf, sizeof(buf)) > 0);
		assert_non_null(strstr(buf, mangle));
	}
	hc = every4;
	hc.fail = FWD_FAIL_CLOSED;	/* the gate, in raw */
	hc.bridged_pass = true;
	assert_true(hooks_render(6, &hc, NULL, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, mangle));
	assert_non_null(strstr(buf, raw));
}

/* ipt_counted(): the lines of one chain holding a text, as iptables-save -c prints them. */
/*
 * One nf_tables event as the kernel sends it: TYPE in FAMILY, naming TABLE
 * and CHAIN (NULL: no such attribute), a rule's handle after them.
 */
static size_t nft_event(char *buf, uint16_t type, uint8_t family, const char *table,
			const char *chain)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;
	bool rule = type == NFT_MSG_NEWRULE || type == NFT_MSG_DELRULE;

	nlh->nlmsg_type = (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | type);
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = family;
	if (table)
		mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table);
	if (chain)
		mnl_attr_put_strz(nlh, rule ? NFTA_RULE_CHAIN : NFTA_CHAIN_NAME, chain);
	if (rule)	/* a handle whose last byte is 0: no name */
		mnl_attr_put_u64(nlh, NFTA_RULE_HANDLE, htobe64(0x100));
	return nlh->nlmsg_len;
}

/* Which nf_tables events bring a look at the hooks (nftwatch.h). */
static void test_nftwatch_counts(void **state)
{
	static const struct {
		uint16_t type;
		uint8_t family;
		const char *table, *chain;
		bool counts;
	} cases[] = {
		{ NFT_MSG_NEWRULE, NFPROTO_IPV4, "mangle", "FWD-QUEUE", true },
		{ NFT_MSG_DELRULE, NFPROTO_IPV6, "nat", "FWD-DNAT", true },
		{ NFT_MSG_DELRULE, NFPROTO_IPV4, "mangle", "PREROUTING", true },
		{ NFT_MSG_NEWRULE, NFPROTO_IPV6, "nat", "POSTROUTING", true },
		{ NFT_MSG_DELCHAIN, NFPROTO_IPV4, "nat", "FWD-HAIRPIN", true },
		{ NFT_MSG_DELTABLE, NFPROTO_IPV4, "raw", NULL, true },
		{ NFT_MSG_NEWTABLE, NFPROTO_IPV6, "mangle", NULL, true },
		{ NFT_MSG_NEWRULE, NFPROTO_BRIDGE, "nat", "PREROUTING", true },
		/* the gate's own changes, other tools' chains and tables, other families */
		{ NFT_MSG_NEWRULE, NFPROTO_IPV4, "raw", "FWD-GATE", false },
		{ NFT_MSG_DELRULE, NFPROTO_IPV4, "mangle", "FWD-GATE", false },
		{ NFT_MSG_NEWRULE, NFPROTO_IPV4, "nat", "KUBE-SERVICES", false },
		{ NFT_MSG_NEWCHAIN, NFPROTO_IPV4, "nat", "DOCKER", false },
		{ NFT_MSG_NEWRULE, NFPROTO_IPV4, "filter", "INPUT", false },
		{ NFT_MSG_DELTABLE, NFPROTO_IPV4, "filter", NULL, false },
		{ NFT_MSG_NEWRULE, NFPROTO_BRIDGE, "filter", "FORWARD", false },
		{ NFT_MSG_NEWRULE, NFPROTO_INET, "mangle", "PREROUTING", false },
		{ NFT_MSG_NEWSET, NFPROTO_IPV4, "mangle", NULL, false },
		{ NFT_MSG_NEWGEN, NFPROTO_UNSPEC, NULL, NULL, false },
		/* names missing */
		{ NFT_MSG_NEWRULE, NFPROTO_IPV4, NULL, "FWD-QUEUE", false },
		{ NFT_MSG_NEWRULE, NFPROTO_IPV4, "mangle", NULL, false },
	};
	char buf[2 * MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(NLMSG_ALIGNTO)));
	size_t len, more;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = nft_event(buf, cases[i].type, cases[i].family, cases[i].table,
				cases[i].chain);
		if (nftwatch_counts(buf, len) != cases[i].counts)
			fail_msg("event %zu (type %u, %s %s) counts %d, expected %d", i,
				 cases[i].type, cases[i].table ? cases[i].table : "-",
				 cases[i].chain ? cases[i].chain : "-", !cases[i].counts,
				 cases[i].counts);
	}
	/* A batch: the event that counts after two that do not. */
	len = nft_event(buf, NFT_MSG_NEWRULE, NFPROTO_IPV4, "nat", "DOCKER");
	len += nft_event(buf + len, NFT_MSG_NEWGEN, NFPROTO_UNSPEC, NULL, NULL);
	more = nft_event(buf + len, NFT_MSG_DELRULE, NFPROTO_IPV4, "mangle", "FWD-EARLY");
	assert_false(nftwatch_counts(buf, len));
	assert_true(nftwatch_counts(buf, len + more));
	/* Cut short: the message that would count is not read. */
	assert_false(nftwatch_counts(buf, len + more - 1));
	assert_false(nftwatch_counts(buf, 8));
}

static void test_ipt_counted(void **state)
{
	static const char text[] =
		"*mangle\n"
		":PREROUTING ACCEPT [90:9000]\n"
		"[7:700] -A PREROUTING -m comment --comment fwd -j FWD-QUEUE\n"
		"[3:180] -A FWD-QUEUE -m rpfilter --invert -m comment --comment fwd-rpfilter -j DROP\n"
		"[5:300] -A FWD-QUEUE -j NFQUEUE --queue-num 0\n"
		"[11:660] -A FWD-QUEUE -j NFQUEUE --queue-num 1\n"
		"[13:780] -A FWD-QUEUEX -j NFQUEUE --queue-num 2\n"
		"[17:1020] -A OTHER -m comment --comment fwd-rpfilter -j DROP\n"
		"-A FWD-QUEUE -j NFQUEUE --queue-num 3\n"
		"COMMIT\n"
		"[19:1140] -A FWD-QUEUE -j NFQUEUE";	/* no newline at the end */

	(void)state;
	assert_int_equal(ipt_counted(text, "FWD-QUEUE", " -j NFQUEUE"), 5 + 11 + 19);
	assert_int_equal(ipt_counted(text, "FWD-QUEUE", "--comment fwd-rpfilter "), 3);
	assert_int_equal(ipt_counted(text, "FWD-SHED", " -j DROP"), 0);
	assert_int_equal(ipt_counted("", "FWD-QUEUE", "x"), 0);
}

/*
 * bypass_account(): the NFQUEUE rules' packets less those fwd saw. A family
 * whose table cannot be read keeps its last reading: taken for a counter
 * restarted at 0 (a reload), its packets would count a second time once it
 * reads again. A real restart keeps the count so far.
 */
static void test_bypass_account(void **state)
{
	struct bypass_acc a = { 0 };
	static const bool both[2] = { true, true }, v4only[2] = { true, false };

	(void)state;
	/*                                        rule v4, v6     seen   accepted unjudged */
	assert_int_equal(bypass_account(&a, (uint64_t[2]){ 10, 5 }, both, 12), 3);
	assert_int_equal(bypass_account(&a, (uint64_t[2]){ 10, 0 }, v4only, 12), 3);
	assert_int_equal(bypass_account(&a, (uint64_t[2]){ 11, 5 }, both, 13), 3);
	assert_int_equal(bypass_account(&a, (uint64_t[2]){ 14, 0 }, v4only, 13), 6);
	/* the chains rebuilt: both counters from 0, the 6 so far kept */
	assert_int_equal(bypass_account(&a, (uint64_t[2]){ 0, 0 }, both, 13), 6);
	assert_int_equal(bypass_account(&a, (uint64_t[2]){ 4, 1 }, both, 16), 8);
	/* packets that reached fwd after the rule counters were read: no lower */
	assert_int_equal(bypass_account(&a, (uint64_t[2]){ 4, 1 }, both, 30), 8);
	assert_int_equal(bypass_account(&a, (uint64_t[2]){ 20, 1 }, both, 30), 10);
}

/* Rules straight from an array: non-forward rules and other families skipped. */
static void test_forward_rules_array(void **state)
{
	const struct fwd_rule_info rules[] = {
		{ .name = "ssh", .action = FWD_ALLOW },
		{ .name = "web-to-dmz", .action = FWD_FORWARD, .mark = 0x0f000001,
		  .to = { .family = 4, .addr = 0xc0a80a05, .port = 80 } },
		{ .name = "v6 web", .action = FWD_FORWARD, .mark = 0x0f000002,
		  .to = { .family = 6, .addr = (fwd_u128)0x20010db8 << 96 | 5, .port = 8443 } },
		{ .name = "same-port", .action = FWD_FORWARD, .mark = 0x0f000003,
		  .to = { .family = 4, .addr = 0x0a000001, .port = 0 } },
		{ .name = "v6-same-port", .action = FWD_FORWARD, .mark = 0x0f000004,
		  .to = { .family = 6, .addr = 1, .port = 0 } },
	};
	static const char want4[] =
		"*nat\n"
		":FWD-DNAT - [0:0]\n"
		"-I PREROUTING -m comment --comment fwd -j FWD-DNAT\n"
		"-A FWD-DNAT -p tcp -m mark --mark 0x0f000001/0xffffffff -m comment --comment fwd:web-to-dmz"
		" -j DNAT --to-destination 192.168.10.5:80\n"
		"-A FWD-DNAT -p udp -m mark --mark 0x0f000001/0xffffffff -m comment --comment fwd:web-to-dmz"
		" -j DNAT --to-destination 192.168.10.5:80\n"
		"-A FWD-DNAT -m mark --mark 0x0f000001/0xffffffff -m comment --comment fwd:web-to-dmz"
		" -j DNAT --to-destination 192.168.10.5\n"
		"-A FWD-DNAT -m mark --mark 0x0f000003/0xffffffff -m comment --comment fwd:same-port"
		" -j DNAT --to-destination 10.0.0.1\n"
		HAIRPIN_EMPTY
		"COMMIT\n";
	static const char want6[] =
		"*nat\n"
		":FWD-DNAT - [0:0]\n"
		"-I PREROUTING -m comment --comment fwd -j FWD-DNAT\n"
		"-A FWD-DNAT -p tcp -m mark --mark 0x0f000002/0xffffffff"	/* name not plain */
		" -j DNAT --to-destination [2001:db8::5]:8443\n"
		"-A FWD-DNAT -p udp -m mark --mark 0x0f000002/0xffffffff"
		" -j DNAT --to-destination [2001:db8::5]:8443\n"
		"-A FWD-DNAT -m mark --mark 0x0f000002/0xffffffff"
		" -j DNAT --to-destination 2001:db8::5\n"
		"-A FWD-DNAT -m mark --mark 0x0f000004/0xffffffff -m comment --comment fwd:v6-same-port"
		" -j DNAT --to-destination ::1\n"
		HAIRPIN_EMPTY
		"COMMIT\n";
	size_t n = sizeof(rules) / sizeof(rules[0]);
	char buf[4096];

	(void)state;
	assert_true(hooks_render_rules(4, &stateful1, rules, n, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, want4));
	assert_string_equal(strstr(buf, "*nat\n"), want4);
	assert_true(hooks_render_rules(6, &stateful1, rules, n, buf, sizeof(buf)) > 0);
	assert_string_equal(strstr(buf, "*nat\n"), want6);
}

/* One entry of a getifaddrs() list: NAME's ADDR/PLEN (IPv4 or IPv6) with FLAGS. */
struct fake_ifa {
	struct ifaddrs ifa;
	struct sockaddr_storage addr, mask;
};

static void fake_ifa(struct fake_ifa *f, struct fake_ifa *next, const char *name,
		     unsigned flags, const char *addr, unsigned plen)
{
	memset(f, 0, sizeof(*f));
	f->ifa.ifa_name = (char *)(uintptr_t)name;
	f->ifa.ifa_flags = flags;
	f->ifa.ifa_addr = (struct sockaddr *)&f->addr;
	f->ifa.ifa_netmask = (struct sockaddr *)&f->mask;
	f->ifa.ifa_next = next ? &next->ifa : NULL;
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&f->addr;
		struct sockaddr_in6 *m = (struct sockaddr_in6 *)&f->mask;

		a->sin6_family = m->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, addr, &a->sin6_addr), 1);
		for (unsigned i = 0; i < plen; i++)
			m->sin6_addr.s6_addr[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&f->addr;
		struct sockaddr_in *m = (struct sockaddr_in *)&f->mask;

		a->sin_family = m->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, &a->sin_addr), 1);
		m->sin_addr.s_addr = htonl(plen ? 0xffffffffu << (32 - plen) : 0);
	}
}

/*
 * FWD-HAIRPIN: each of the gateway's prefixes once, host bits cleared;
 * no loopback, no link-local, no single address.
 */
static void test_hairpin_lines(void **state)
{
	static const struct { const char *name, *addr; unsigned plen, flags; } in[] = {
		{ "lo", "127.0.0.1", 8, IFF_LOOPBACK },
		{ "eth0", "198.51.100.7", 24, 0 },
		{ "lan0", "10.10.2.1", 24, 0 },
		{ "lan0", "10.10.2.9", 24, 0 },		/* the same prefix again */
		{ "lan0", "169.254.7.1", 16, 0 },
		{ "ppp0", "203.0.113.1", 32, 0 },
		{ "lo", "::1", 128, IFF_LOOPBACK },
		{ "lan0", "fd00:2::1", 64, 0 },
		{ "lan0", "fe80::1", 64, 0 },
		{ "eth0", "2001:db8::7", 128, 0 },
		{ "dmz0", "2001:db8:10::1", 48, 0 },
	};
	static const char want4[] =
		"-A FWD-HAIRPIN -s 198.51.100.0/24 -d 198.51.100.0/24"
		" -m mark --mark 0x0f000000/0x0f000000 -m comment --comment fwd -j MASQUERADE\n"
		"-A FWD-HAIRPIN -s 10.10.2.0/24 -d 10.10.2.0/24"
		" -m mark --mark 0x0f000000/0x0f000000 -m comment --comment fwd -j MASQUERADE\n";
	static const char want6[] =
		"-A FWD-HAIRPIN -s fd00:2::/64 -d fd00:2::/64"
		" -m mark --mark 0x0f000000/0x0f000000 -m comment --comment fwd -j MASQUERADE\n"
		"-A FWD-HAIRPIN -s 2001:db8:10::/48 -d 2001:db8:10::/48"
		" -m mark --mark 0x0f000000/0x0f000000 -m comment --comment fwd -j MASQUERADE\n";
	enum { N = sizeof(in) / sizeof(in[0]) };
	struct fake_ifa f[N];
	char buf[1024], tiny[8];

	(void)state;
	for (size_t i = N; i-- > 0;)
		fake_ifa(&f[i], i + 1 < N ? &f[i + 1] : NULL, in[i].name, in[i].flags, in[i].addr,
			 in[i].plen);
	assert_int_equal(hairpin_render(4, &f[0].ifa, buf, sizeof(buf)), strlen(want4));
	assert_string_equal(buf, want4);
	assert_int_equal(hairpin_render(6, &f[0].ifa, buf, sizeof(buf)), strlen(want6));
	assert_string_equal(buf, want6);
	/* as snprintf: the length it needs, whatever fits */
	assert_int_equal(hairpin_render(4, &f[0].ifa, tiny, sizeof(tiny)), strlen(want4));
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	assert_int_equal(hairpin_render(6, NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

/*
 * After a scan of this host's addresses, FWD-HAIRPIN holds its prefixes
 * only where the rules forward to that family, and not with nat_loopback
 * off. (Run last: the scan stays.)
 */
static void test_hairpin_needs_forwards(void **state)
{
	const struct fwd_rule_info web = { .name = "web", .action = FWD_FORWARD,
					   .mark = 0x0f000000,
					   .to = { .family = 4, .addr = 0xc0a80a05, .port = 80 } };
	struct fwd_hooks_conf off = stateful1;
	struct ifaddrs *as;
	char buf[65536];
	size_t lines;

	(void)state;
	assert_int_equal(getifaddrs(&as), 0);
	lines = hairpin_render(4, as, NULL, 0);
	freeifaddrs(as);
	hooks_hairpin_scan();
	assert_true(hooks_render(4, &stateful1, NULL, buf, sizeof(buf)) > 0);
	assert_null(strstr(buf, "-A FWD-HAIRPIN"));
	assert_true(hooks_render_rules(6, &stateful1, &web, 1, buf, sizeof(buf)) > 0);
	assert_null(strstr(buf, "-A FWD-HAIRPIN"));
	off.nat_loopback = false;
	assert_true(hooks_render_rules(4, &off, &web, 1, buf, sizeof(buf)) > 0);
	assert_null(strstr(buf, "-A FWD-HAIRPIN"));
	assert_non_null(strstr(buf, "-I POSTROUTING -m comment --comment fwd -j FWD-HAIRPIN\n"));
	if (!lines) {	/* this host has no prefix but loopback's: nothing to render */
		print_message("SKIP: no IPv4 prefix on this host besides loopback\n");
		skip();
	}
	assert_true(hooks_render_rules(4, &stateful1, &web, 1, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "-A FWD-HAIRPIN -s "));
}

/* The same through the real rules compiler. */
static void test_forward_rules_compiled(void **state)
{
	static const char yaml[] =
		"version: 1\n"
		"default: drop\n"
		"rules:\n"
		"  - name: ssh\n"
		"    proto: tcp\n"
		"    dport: 22\n"
		"    action: allow\n"
		"  - name: web4\n"
		"    proto: tcp\n"
		"    dport: 8080\n"
		"    action: forward\n"
		"    to: 192.168.10.5:80\n"
		"  - name: web6\n"
		"    proto: tcp\n"
		"    dport: 8443\n"
		"    action: forward\n"
		"    to: \"[2001:db8::5]:443\"\n";
	struct fwd_diags d;
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	char buf[4096], want[512];

	(void)state;
	diags_init(&d, "hooks.yaml");
	c = config_parse(yaml, sizeof(yaml) - 1, &d);
	if (!c)
		fail_msg("%s", d.text ? d.text : "config_parse failed");
	rs = ruleset_compile(c);
	assert_non_null(rs);
	assert_int_equal(ruleset_nrules(rs), 3);

	assert_true(hooks_render(4, &stateful1, rs, buf, sizeof(buf)) > 0);
	snprintf(want, sizeof(want), "-A FWD-DNAT -p tcp -m mark --mark 0x%08x/0xffffffff -m "
		 "comment --comment fwd:web4 -j DNAT --to-destination 192.168.10.5:80\n",
		 ruleset_rule(rs, 1)->mark);
	assert_non_null(strstr(buf, want));
	assert_null(strstr(buf, "web6"));
	assert_null(strstr(buf, "ssh"));

	assert_true(hooks_render(6, &stateful1, rs, buf, sizeof(buf)) > 0);
	snprintf(want, sizeof(want), "-A FWD-DNAT -p udp -m mark --mark 0x%08x/0xffffffff -m "
		 "comment --comment fwd:web6 -j DNAT --to-destination [2001:db8::5]:443\n",
		 ruleset_rule(rs, 2)->mark);
	assert_non_null(strstr(buf, want));
	assert_null(strstr(buf, "web4"));
	assert_int_not_equal(ruleset_rule(rs, 1)->mark, ruleset_rule(rs, 2)->mark);

	ruleset_free(rs);
	config_free(c);
	diags_free(&d);
}

/*
 * Early drops: the jump to FWD-EARLY comes after the lines that return and
 * before the queue; one group per rule with fwd's comment, at most 15 ports
 * a line (a range counts 2), the default's last.
 */
static void test_early_rendered(void **state)
{
	static const char yaml[] =
		"version: 1\n"
		"default: drop\n"
		"rules:\n"
		"  - {name: ssh, proto: tcp, dport: 22, action: allow}\n"
		"  - {name: many, proto: tcp, action: drop,\n"
		"     dport: [23, 30-31, 40-41, 50-51, 60-61, 70-71, 80-81, 90-91, 100]}\n";
	static const char want[] =
		"-A FWD-QUEUE -m conntrack --ctstate INVALID -j DROP\n"
		":FWD-EARLY - [0:0]\n"
		"-A FWD-QUEUE -j FWD-EARLY\n"
		"-A FWD-EARLY -p tcp -m multiport --dports 23,30:31,40:41,50:51,60:61,70:71,80:81,"
		"90:91 -m comment --comment fwd-early:rule:many -j DROP\n"
		"-A FWD-EARLY -p tcp -m multiport --dports 100"
		" -m comment --comment fwd-early:rule:many -j DROP\n"
		"-A FWD-EARLY -p tcp -m multiport --dports 0:21,24:29,32:39,42:49,52:59,62:69,72:79"
		" -m comment --comment fwd-early:default -j DROP\n"
		"-A FWD-EARLY -p tcp -m multiport --dports 82:89,92:99,101:65535"
		" -m comment --comment fwd-early:default -j DROP\n"
		"-A FWD-EARLY -p udp -m multiport --dports 0:65535"
		" -m comment --comment fwd-early:default -j DROP\n"
		":FWD-GATE - [0:0]\n"
		":FWD-SHED - [0:0]\n"
		"-A FWD-SHED -j DROP\n"
		"-A FWD-QUEUE -j FWD-GATE\n"
		"-A FWD-QUEUE -j NFQUEUE --queue-num 0\n";
	struct fwd_hooks_conf hc = stateful1;
	struct fwd_diags d;
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	char buf[8192];

	(void)state;
	diags_init(&d, "early.yaml");
	c = config_parse(yaml, sizeof(yaml) - 1, &d);
	if (!c)
		fail_msg("%s", d.text ? d.text : "config_parse failed");
	rs = ruleset_compile(c);
	hc.early = early_build(c);
	assert_non_null(rs);
	assert_non_null(hc.early);
	assert_true(hooks_render(4, &hc, rs, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, want));
	assert_true(hooks_render(6, &hc, rs, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, want));
	/* every-packet mode: after the NEW mark, before the queue */
	hc.inspect = FWD_INSPECT_EVERY;
	assert_true(hooks_render(4, &hc, rs, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "--set-xmark 0x20000000/0x20000000\n"
				    ":FWD-EARLY - [0:0]\n-A FWD-QUEUE -j FWD-EARLY\n"));
	assert_non_null(strstr(buf, "comment --comment fwd-early:default -j DROP\n"
				    ":FWD-GATE - [0:0]\n"));
	hc.inspect = FWD_INSPECT_NEW;
	/* too small for the early lines: no partial text */
	assert_int_equal(hooks_render(4, &hc, rs, buf, 900), -ENOSPC);
	early_free((struct fwd_early *)(uintptr_t)hc.early);
	ruleset_free(rs);
	config_free(c);
	diags_free(&d);
}

/*
 * shed: on with fail: closed (the defaults): FWD-GATE after FWD-EARLY, then
 * the queue; the gate's line is there only while fwd/gate.c closes it.
 */
static void test_gate_rendered(void **state)
{
	static const char want[] =
		":FWD-EARLY - [0:0]\n"
		":FWD-GATE - [0:0]\n"
		":FWD-SHED - [0:0]\n"
		"-A FWD-SHED -j DROP\n"
		"-A FWD-QUEUE -j FWD-GATE\n"
		"-A FWD-QUEUE -j NFQUEUE --queue-num 0\n"
		"COMMIT\n";
	struct fwd_hooks_conf hc = stateful1;
	char buf[4096];

	(void)state;
	hc.shed = true;
	for (int family = 4; family <= 6; family += 2) {
		assert_true(hooks_render(family, &hc, NULL, buf, sizeof(buf)) > 0);
		assert_non_null(strstr(buf, want));
	}
	/* shed: off: the chains go from mangle, nothing jumps to them */
	hc.shed = false;
	assert_true(hooks_render(4, &hc, NULL, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, ":FWD-EARLY - [0:0]\n:FWD-GATE - [0:0]\n:FWD-SHED - [0:0]\n"
				    "-X FWD-GATE\n-X FWD-SHED\n-A FWD-QUEUE -j NFQUEUE"));
	assert_null(strstr(buf, "-A FWD-QUEUE -j FWD-GATE"));
	assert_true(strncmp(buf, raw_empty, strlen(raw_empty)) == 0);
}

/*
 * every-packet mode: the gate in raw, before conntrack, with the exemptions
 * of FWD-QUEUE again first; mangle has none.
 */
static void test_gate_raw(void **state)
{
	static const char want6[] =
		"*raw\n"
		":FWD-GATE - [0:0]\n"
		":FWD-SHED - [0:0]\n"
		"-I PREROUTING -m comment --comment fwd -j FWD-GATE\n"
		"-A FWD-SHED -j DROP\n"
		"-A FWD-GATE -i lo -j RETURN\n"
		"-A FWD-GATE -d ff02::12/128 -p 112 -m hl --hl-eq 255 -j RETURN\n"
		"-A FWD-GATE -p ipv6-icmp -m icmp6 --icmpv6-type 133 -m hl --hl-eq 255 -m addrtype --dst-type LOCAL -j RETURN\n";
	struct fwd_hooks_conf hc = every4;
	char buf[8192];

	(void)state;
	hc.fail = FWD_FAIL_CLOSED;
	hc.ha.vrrp = true;
	assert_true(hooks_render(6, &hc, NULL, buf, sizeof(buf)) > 0);
	assert_true(strncmp(buf, want6, strlen(want6)) == 0);
	assert_non_null(strstr(buf, "--icmpv6-type 143 -m hl --hl-eq 1 -j RETURN\n"
				    "-A FWD-GATE -s fe80::/10 -d fe80::/10 -p udp --sport 547 --dport 546 -j RETURN\n"
				    "COMMIT\n*mangle\n"));
	assert_non_null(strstr(buf, ":FWD-GATE - [0:0]\n:FWD-SHED - [0:0]\n-X FWD-GATE\n-X FWD-SHED\n"
				    "-A FWD-QUEUE -j NFQUEUE"));
	assert_null(strstr(buf, "-A FWD-QUEUE -j FWD-GATE"));
}

/* The gate's line: one bucket, a burst of 50 ms (at most iptables' 10,000). */
static void test_gate_line(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(hooks_render_gate(0, 3, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	hooks_render_gate(100000, 3, buf, sizeof(buf));
	assert_string_equal(buf, "-A FWD-GATE -m hashlimit --hashlimit-above 100000/sec "
			    "--hashlimit-burst 5000 --hashlimit-name fwd-gate-3 -j FWD-SHED\n");
	hooks_render_gate(1000, FWD_HOOKS_GATE_GENS + 4, buf, sizeof(buf));
	assert_string_equal(buf, "-A FWD-GATE -m hashlimit --hashlimit-above 1000/sec "
			    "--hashlimit-burst 50 --hashlimit-name fwd-gate-4 -j FWD-SHED\n");
	hooks_render_gate(4000000, 999999, buf, sizeof(buf));
	assert_string_equal(buf, "-A FWD-GATE -m hashlimit --hashlimit-above 4000000/sec "
			    "--hashlimit-burst 10000 --hashlimit-name fwd-gate-999999 -j FWD-SHED\n");
}

static void test_render_errors(void **state)
{
	struct fwd_hooks_conf hc = stateful1;
	char buf[4096];

	(void)state;
	assert_int_equal(hooks_render(5, &hc, NULL, buf, sizeof(buf)), -EINVAL);
	hc.queues = 0;
	assert_int_equal(hooks_render(4, &hc, NULL, buf, sizeof(buf)), -EINVAL);
	hc.queues = 2;
	hc.queue_base = 65535;			/* 65535:65536 is no queue range */
	assert_int_equal(hooks_render(4, &hc, NULL, buf, sizeof(buf)), -EINVAL);
	hc.queue_base = 65534;
	assert_true(hooks_render(4, &hc, NULL, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "--queue-balance 65534:65535 "));
	assert_int_equal(hooks_render(4, &stateful1, NULL, buf, 100), -ENOSPC);
}

/*
 * The e2e driver must not touch the firewall of the host it runs on. The
 * script passes the inode of its own (the host's) network namespace in
 * FWD_TEST_HOST_NETNS; the driver runs only in a different one. PID 1's
 * namespace is checked too when it is readable.
 */
static int in_own_netns(void)
{
	const char *host = getenv("FWD_TEST_HOST_NETNS");
	struct stat self, init;
	char *end;
	unsigned long long ino;

	if (!host || !*host || stat("/proc/self/ns/net", &self) < 0)
		return 0;
	errno = 0;
	ino = strtoull(host, &end, 10);
	if (errno || *end || ino == (unsigned long long)self.st_ino)
		return 0;
	if (stat("/proc/1/ns/net", &init) == 0 && init.st_ino == self.st_ino)
		return 0;
	return 1;
}

static int driver_install(const char *path)
{
	struct fwd_hooks_conf hc = stateful1;
	struct fwd_diags d;
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	int r;

	diags_init(&d, path);
	c = config_load(path, &d);
	if (!c) {
		fprintf(stderr, "%s", d.text ? d.text : "config_load failed\n");
		diags_free(&d);
		return 1;
	}
	rs = ruleset_compile(c);
	if (c->daemon.queues)
		hc.queues = c->daemon.queues;
	hc.queue_base = c->daemon.queue_num;
	hc.fail = c->daemon.fail;
	hooks_conf_daemon(&hc, &c->daemon);
	r = rs ? hooks_install(&hc, rs) : -ENOMEM;
	if (r < 0)
		fprintf(stderr, "hooks_install: %s\n", strerror(-r));
	ruleset_free(rs);
	config_free(c);
	diags_free(&d);
	return r < 0;
}

static int driver(int argc, char **argv)
{
	if (!in_own_netns()) {
		fprintf(stderr, "test_hooks: %s refused: run it with ip netns exec and "
			"FWD_TEST_HOST_NETNS set to the host's netns inode\n", argv[1]);
		return 2;
	}
	if (argc == 3 && !strcmp(argv[1], "--install"))
		return driver_install(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "--remove"))
		return hooks_remove() < 0;
	fprintf(stderr, "usage: test_hooks [--install FILE | --remove]\n");
	return 2;
}

/*
 * The iptables tools fwd runs start with no signal blocked, though the
 * daemon blocks the ones its signalfd reads: else a SIGTERM to the
 * service's processes leaves a tool running.
 */
static void test_tool_signals_unblocked(void **state)
{
	char *argv[] = { "/bin/grep", "^SigBlk:", "/proc/self/status", NULL };
	sigset_t term, old;
	char out[64] = "";
	FILE *f = tmpfile();
	int rc;

	(void)state;
	assert_non_null(f);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &term, &old);
	rc = ipt_run(argv, -1, fileno(f), false);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	assert_int_equal(rc, 0);
	rewind(f);
	assert_non_null(fgets(out, sizeof(out), f));
	fclose(f);
	assert_string_equal(out, "SigBlk:\t0000000000000000\n");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tool_signals_unblocked),
		cmocka_unit_test(test_stateful_one_queue_fail_closed),
		cmocka_unit_test(test_every_packet_four_queues_fail_open),
		cmocka_unit_test(test_v6_nd_before_queue),
		cmocka_unit_test(test_v6_dhcpv6_client_before_queue),
		cmocka_unit_test(test_one_queue_fail_open),
		cmocka_unit_test(test_ha_pass),
		cmocka_unit_test(test_recheck_lines),
		cmocka_unit_test(test_forward_rules_array),
		cmocka_unit_test(test_forward_rules_compiled),
		cmocka_unit_test(test_hairpin_lines),
		cmocka_unit_test(test_early_rendered),
		cmocka_unit_test(test_gate_rendered),
		cmocka_unit_test(test_gate_raw),
		cmocka_unit_test(test_gate_line),
		cmocka_unit_test(test_render_errors),
		cmocka_unit_test(test_rpfilter_lines),
		cmocka_unit_test(test_bridged_lines),
		cmocka_unit_test(test_ipt_counted),
		cmocka_unit_test(test_nftwatch_counts),
		cmocka_unit_test(test_bypass_account),
		cmocka_unit_test(test_hairpin_needs_forwards),	/* last: its scan stays */
	};

	if (argc > 1)
		return driver(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
