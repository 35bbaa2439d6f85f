// SPDX-License-Identifier: MIT
/*
 * test_early.c - which ports fwd's hooks drop before the queue (fwd/early.c):
 * a rules file in, per family and protocol the port ranges and whose drop
 * each is out, as "NAME:LO-HI ..." text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fwd/early.h"

static struct fwd_early *build(const char *yaml, struct fwd_config **cp)
{
	struct fwd_diags d;
	struct fwd_config *c;
	struct fwd_early *e;

	diags_init(&d, "early.yaml");
	c = config_parse(yaml, strlen(yaml), &d);
	if (!c)
		fail_msg("%s", d.text ? d.text : "config_parse failed");
	diags_free(&d);
	e = early_build(c);
	assert_non_null(e);
	if (cp)
		*cp = c;
	else
		config_free(c);
	return e;
}

/* List [FAMILY][PROTO] of E as "name:lo-hi name:port ..." ("" when empty). */
static const char *text(const struct fwd_early *e, int family, int proto)
{
	static char out[4096];
	const struct fwd_early_list *l = &e->l[family == 6][proto];
	size_t pos = 0;

	out[0] = '\0';
	for (uint32_t k = 0; k < l->n && pos < sizeof(out); k++) {
		const struct fwd_early_who *w = &e->who[l->r[k].who];
		const char *name = w->rule == FWD_EARLY_DEFAULT ? "default" : w->name;

		if (l->r[k].lo == l->r[k].hi)
			pos += (size_t)snprintf(out + pos, sizeof(out) - pos, "%s%s:%u", k ? " " : "",
						name, l->r[k].lo);
		else
			pos += (size_t)snprintf(out + pos, sizeof(out) - pos, "%s%s:%u-%u",
						k ? " " : "", name, l->r[k].lo, l->r[k].hi);
	}
	return out;
}

#define TCP 0
#define UDP 1

static void test_unconditional_drop(void **state)
{
	struct fwd_early *e = build("version: 1\ndefault: allow\nrules:\n"
				    "  - {name: telnet, proto: tcp, dport: 23, action: drop}\n"
				    "  - {name: low, dport: 0-9, action: drop}\n", NULL);

	(void)state;
	assert_string_equal(text(e, 4, TCP), "telnet:23 low:0-9");
	assert_string_equal(text(e, 6, TCP), "telnet:23 low:0-9");
	assert_string_equal(text(e, 4, UDP), "low:0-9");
	early_free(e);
}

static void test_conditional_rule_first(void **state)
{
	struct fwd_early *e = build("version: 1\ndefault: allow\nrules:\n"
				    "  - {name: lan, src: 10.0.0.0/8, proto: tcp, dport: 20-25, action: allow}\n"
				    "  - {name: eth, in: eth0, proto: udp, dport: 53, action: allow}\n"
				    "  - {name: spt, sport: 1000, proto: tcp, dport: 80, action: drop}\n"
				    "  - {name: drop, dport: [23, 53, 80, 99], action: drop}\n", NULL);

	(void)state;
	/* the src rule is IPv4's only: IPv6 drops 23 early */
	assert_string_equal(text(e, 4, TCP), "drop:53 drop:99");
	assert_string_equal(text(e, 6, TCP), "drop:23 drop:53 drop:99");
	assert_string_equal(text(e, 4, UDP), "drop:23 drop:80 drop:99");
	early_free(e);
}

static void test_logged_drop(void **state)
{
	struct fwd_early *e = build("version: 1\ndefault: allow\nrules:\n"
				    "  - {name: a, proto: tcp, dport: 23, action: drop, log: true}\n"
				    "  - {name: b, proto: tcp, dport: 24, action: drop}\n", NULL);

	(void)state;
	assert_string_equal(text(e, 4, TCP), "b:24");
	early_free(e);
	e = build("version: 1\ndefault: allow\nlog: drops\nrules:\n"
		  "  - {name: a, proto: tcp, dport: 23, action: drop}\n"
		  "  - {name: b, proto: tcp, dport: 24, action: drop, log: false}\n", NULL);
	assert_string_equal(text(e, 4, TCP), "b:24");
	early_free(e);
}

static void test_default_drop(void **state)
{
	struct fwd_early *e = build("version: 1\ndefault: drop\nrules:\n"
				    "  - {name: web, proto: tcp, dport: 80, action: allow}\n"
				    "  - {name: icmp, proto: icmp, action: allow}\n", NULL);

	(void)state;
	assert_string_equal(text(e, 4, TCP), "default:0-79 default:81-65535");
	assert_string_equal(text(e, 6, UDP), "default:0-65535");
	assert_int_equal(e->nwho, 1);
	assert_int_equal(e->who[0].rule, FWD_EARLY_DEFAULT);
	early_free(e);
	/* a logged default stays with fwd */
	e = build("version: 1\ndefault: drop\nlog: drops\nrules:\n"
		  "  - {name: web, proto: tcp, dport: 80, action: allow}\n", NULL);
	assert_int_equal(early_nranges(e), 0);
	early_free(e);
}

static void test_allow_before_drop(void **state)
{
	struct fwd_early *e = build("version: 1\ndefault: allow\nrules:\n"
				    "  - {name: mid, proto: tcp, dport: 1000-2000, action: allow}\n"
				    "  - {name: fw, proto: tcp, dport: 3000, action: forward, to: 10.0.0.1}\n"
				    "  - {name: rej, proto: tcp, dport: 4000, action: reject}\n"
				    "  - {name: all, proto: tcp, action: drop}\n", NULL);

	(void)state;
	assert_string_equal(text(e, 4, TCP),
			    "all:0-999 all:2001-2999 all:3001-3999 all:4001-65535");
	assert_string_equal(text(e, 4, UDP), "");
	early_free(e);
}

static void test_scan_configured(void **state)
{
	struct fwd_early *e = build("version: 1\ndefault: drop\n"
				    "dynamic: {scanners: {timeout: 10m, max: 1000}}\n"
				    "scan: {ports: 20, window: 10s, block: {set: scanners}}\n"
				    "rules:\n"
				    "  - {name: telnet, proto: tcp, dport: 23, action: drop}\n", NULL);

	(void)state;
	assert_int_equal(early_nranges(e), 0);
	early_free(e);
}

static void test_knock_ports(void **state)
{
	struct fwd_early *e = build("version: 1\ndefault: drop\n"
				    "dynamic: {doors: {timeout: 30s, max: 100}}\n"
				    "knock:\n"
				    "  - {name: k, sequence: [7000/tcp, 8000/udp, 9000/tcp], window: 10s,\n"
				    "     open: {set: doors, port: 22/tcp}, timeout: 30s}\n"
				    "rules:\n"
				    "  - {name: door, proto: tcp, src: $doors, dport: 22, action: allow}\n"
				    "  - {name: lim, proto: udp, dport: 500, action: drop,\n"
				    "     limit: {rate: 1/s, per: src}}\n", NULL);

	(void)state;
	assert_string_equal(text(e, 4, TCP),
			    "default:0-21 default:23-6999 default:7001-8999 default:9001-65535");
	assert_string_equal(text(e, 6, UDP),
			    "default:0-499 default:501-7999 default:8001-65535");
	early_free(e);
}

static void test_switched_off(void **state)
{
	struct fwd_early *e = build("version: 1\ndefault: drop\ndaemon: {early_drop: off}\n"
				    "rules:\n  - {name: t, proto: tcp, dport: 23, action: drop}\n", NULL);

	(void)state;
	assert_int_equal(early_nranges(e), 0);
	early_free(e);
	e = build("version: 1\ndefault: drop\nmalformed: allow\n"
		  "rules:\n  - {name: t, proto: tcp, dport: 23, action: drop}\n", NULL);
	assert_int_equal(early_nranges(e), 0);
	early_free(e);
	e = build("version: 1\ndefault: drop\ndaemon: {early_drop: on}\n"
		  "rules:\n  - {name: t, proto: tcp, dport: 23, action: drop}\n", NULL);
	assert_string_equal(text(e, 4, TCP), "t:23 default:0-22 default:24-65535");
	early_free(e);
}

/* Past FWD_EARLY_LINES_MAX lines a family keeps the lines covering most ports. */
static void test_line_budget(void **state)
{
	char yaml[8192], buf[16384];
	size_t pos;
	struct fwd_early *e;
	unsigned lines = 0;

	(void)state;
	pos = (size_t)snprintf(yaml, sizeof(yaml), "version: 1\ndefault: allow\nrules:\n");
	for (int i = 0; i < 40; i++)	/* one line each: each its own rule */
		pos += (size_t)snprintf(yaml + pos, sizeof(yaml) - pos,
					"  - {name: d%d, proto: tcp, dport: %d, action: drop}\n", i,
					1000 + 2 * i);
	snprintf(yaml + pos, sizeof(yaml) - pos,
		 "  - {name: big, proto: tcp, dport: 20000-30000, action: drop}\n");
	e = build(yaml, NULL);
	assert_int_equal(e->l[0][TCP].n, FWD_EARLY_LINES_MAX);
	assert_non_null(strstr(text(e, 4, TCP), "big:20000-30000"));
	assert_non_null(strstr(text(e, 4, TCP), "d0:1000"));
	assert_null(strstr(text(e, 4, TCP), "d39:"));
	assert_true(early_render(e, 4, buf, sizeof(buf)) < sizeof(buf));
	for (char *p = buf; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, FWD_EARLY_LINES_MAX);
	early_free(e);
}

/* The kernel's counters, as iptables-save -c prints them, back to their rule. */
static void test_counters(void **state)
{
	struct fwd_early *e = build("version: 1\ndefault: drop\nrules:\n"
				    "  - {name: web, proto: tcp, dport: 80, action: allow}\n"
				    "  - {name: telnet, proto: tcp, dport: 23, action: drop}\n"
				    "  - {name: echo, proto: udp, dport: 9, action: drop}\n", NULL);
	struct fwd_early *n;
	uint64_t p, b;
	uint32_t w;

	(void)state;
	assert_true(early_parse_line(e, "[12:480] -A FWD-EARLY -p tcp -m multiport --dports 23 "
				     "-m comment --comment fwd-early:rule:telnet -j DROP", &w, &p, &b));
	assert_int_equal(e->who[w].rule, 1);
	assert_int_equal(p, 12);
	assert_int_equal(b, 480);
	assert_true(early_parse_line(e, "[7:9] -A FWD-EARLY -p udp -m multiport --dports 9 -m "
				     "comment --comment \"fwd-early:index:3\" -j DROP", &w, &p, &b));
	assert_string_equal(e->who[w].name, "echo");
	assert_true(early_parse_line(e, "[5:200] -A FWD-EARLY -p udp -m multiport --dports "
				     "0:8 -m comment --comment fwd-early:default -j DROP", &w, &p, &b));
	assert_int_equal(e->who[w].rule, FWD_EARLY_DEFAULT);
	assert_false(early_parse_line(e, "[5:200] -A FWD-QUEUE -m comment --comment "
				      "fwd-early:default -j DROP", &w, &p, &b));
	assert_false(early_parse_line(e, "[5:200] -A FWD-EARLY -m comment --comment "
				      "fwd-early:rule:web -j DROP", &w, &p, &b));
	assert_false(early_parse_line(e, "-A FWD-EARLY -j DROP", &w, &p, &b));

	/* counts survive a reload by name: carried into the new table's entries */
	e->who[w].carry_packets = 100;
	e->who[0].now_packets = 4;	/* telnet */
	n = build("version: 1\ndefault: drop\nrules:\n"
		  "  - {name: telnet, proto: tcp, dport: 23, action: drop}\n", NULL);
	early_carry(n, e);
	early_counts(n, 0, &p, &b);
	assert_int_equal(p, 4);
	early_counts(n, FWD_EARLY_DEFAULT, &p, &b);
	assert_int_equal(p, 100);
	early_counts(n, 7, &p, &b);
	assert_int_equal(p, 0);
	early_free(n);
	early_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unconditional_drop),
		cmocka_unit_test(test_conditional_rule_first),
		cmocka_unit_test(test_logged_drop),
		cmocka_unit_test(test_default_drop),
		cmocka_unit_test(test_allow_before_drop),
		cmocka_unit_test(test_scan_configured),
		cmocka_unit_test(test_knock_ports),
		cmocka_unit_test(test_switched_off),
		cmocka_unit_test(test_line_budget),
		cmocka_unit_test(test_counters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
