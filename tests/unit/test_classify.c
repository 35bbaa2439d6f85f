// SPDX-License-Identifier: MIT
/*
 * test_classify.c - small hand-made rulesets with known answers: first match
 * wins, the default, family separation, packets without ports, interface
 * classes, rule info, shadow warnings that must and must not appear, and
 * address maps of a blocklist's size, read from a set file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "fwd/ruleset.h"
#include "oracle.h"

static struct fwd_config *load(const char *yaml)
{
	struct fwd_diags d;
	struct fwd_config *c;

	diags_init(&d, "test");
	c = config_parse(yaml, strlen(yaml), &d);
	if (!c)
		fprintf(stderr, "%s", d.text ? d.text : "");
	diags_free(&d);
	assert_non_null(c);
	return c;
}

static struct fwd_key key4(uint8_t proto, uint32_t src, uint32_t sport, uint32_t dst,
			   uint32_t dport)
{
	struct fwd_key k = { .family = 4, .proto = proto, .sport = sport, .dport = dport };

	k.src = src;
	k.dst = dst;
	return k;
}

/* classify() on K via IFNAME, checked against the oracle too. */
static int judge(const struct fwd_config *c, const struct fwd_ruleset *rs, struct fwd_key k,
		 const char *ifname)
{
	int got;

	k.iface = ruleset_iface_class(rs, ifname);
	got = classify(rs, &k);
	assert_int_equal(got, oracle_classify(c, &k, ifname));
	return got;
}

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

static void test_first_match_and_default(void **state)
{
	struct fwd_config *c = load("version: 1\ndefault: drop\nlog: drops\nrules:\n"
				    "  - {name: ssh, proto: tcp, dport: 22, action: allow}\n"
				    "  - {name: lan, src: 10.0.0.0/8, action: drop}\n"
				    "  - {name: web, proto: tcp, dport: [80, 443], action: forward, to: 192.168.1.5:8080}\n");
	struct fwd_ruleset *rs = ruleset_compile(c);
	const struct fwd_rule_info *ri;

	(void)state;
	assert_non_null(rs);
	assert_int_equal(judge(c, rs, key4(6, IP(10, 1, 1, 1), 1234, IP(1, 2, 3, 4), 22), ""), 0);
	assert_int_equal(judge(c, rs, key4(6, IP(10, 1, 1, 1), 1234, IP(1, 2, 3, 4), 80), ""), 1);
	assert_int_equal(judge(c, rs, key4(6, IP(11, 1, 1, 1), 1234, IP(1, 2, 3, 4), 443), ""), 2);
	assert_int_equal(judge(c, rs, key4(17, IP(11, 1, 1, 1), 1234, IP(1, 2, 3, 4), 443), ""), -1);
	assert_int_equal(ruleset_nrules(rs), 3);
	assert_int_equal(ruleset_default(rs), FWD_DROP);
	assert_true(ruleset_default_log(rs));
	ri = ruleset_rule(rs, 1);
	assert_string_equal(ri->name, "lan");
	assert_true(ri->log);
	assert_int_equal(ri->mark, 0);
	ri = ruleset_rule(rs, 2);
	assert_false(ri->log);
	assert_int_equal(ri->action, FWD_FORWARD);
	assert_int_equal(ri->mark, FWD_MARK_BASE + 2);
	assert_int_equal(ri->to.port, 8080);
	assert_null(ruleset_rule(rs, 3));
	assert_true(ruleset_memory(rs) > 0);
	ruleset_free(rs);
	config_free(c);
}

/*
 * The daemon's compile frees the rules once read: the same table all the
 * same, and a config left with its sections alone. The rules that log are
 * numbered among themselves (their log buckets).
 */
static void test_lean_compile(void **state)
{
	static const char yaml[] = "version: 1\ndefault: allow\nlog: drops\nrules:\n"
				   "  - {name: ssh, proto: tcp, dport: 22, action: allow}\n"
				   "  - {name: lan, src: 10.0.0.0/8, action: drop}\n"
				   "  - {name: web, dport: [80, 443], action: forward, to: 192.168.1.5}\n"
				   "  - {name: dns, proto: udp, dport: 53, action: drop, log: false}\n"
				   "  - {name: tel, proto: tcp, dport: 23, action: drop}\n";
	struct fwd_config *c = load(yaml), *lean = load(yaml);
	struct fwd_ruleset *rs = ruleset_compile(c), *lrs = ruleset_compile_lean(lean);
	static const uint8_t protos[] = { 6, 17 };
	static const uint32_t ports[] = { 22, 23, 53, 80, 443, 1000 };

	(void)state;
	assert_non_null(rs);
	assert_non_null(lrs);
	assert_int_equal(lean->nrules, 0);
	assert_null(lean->rules);
	assert_int_equal(lean->default_action, FWD_ALLOW);
	for (size_t p = 0; p < sizeof(protos); p++)
		for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
			for (uint32_t a = 9; a <= 10; a++) {
				struct fwd_key k = key4(protos[p], IP(a, 0, 0, 1), 999, IP(1, 2, 3, 4),
							ports[i]);
				int want = judge(c, rs, k, "");

				k.iface = ruleset_iface_class(lrs, "");
				assert_int_equal(classify(lrs, &k), want);
			}
	assert_int_equal(ruleset_nlog(lrs), 2);
	assert_true(ruleset_rule(lrs, 1)->log);
	assert_int_equal(ruleset_rule(lrs, 1)->log_idx, 0);
	assert_false(ruleset_rule(lrs, 3)->log);
	assert_true(ruleset_rule(lrs, 4)->log);
	assert_int_equal(ruleset_rule(lrs, 4)->log_idx, 1);
	assert_string_equal(ruleset_rule(lrs, 4)->name, "tel");
	ruleset_free(rs);
	ruleset_free(lrs);
	config_free(c);
	config_free(lean);
}

static void test_family_and_noport(void **state)
{
	struct fwd_config *c = load("version: 1\ndefault: allow\nrules:\n"
				    "  - {name: v4, src: 0.0.0.0/0, proto: tcp, action: drop}\n"
				    "  - {name: dns, dport: 53, action: drop}\n"
				    "  - {name: v6, src: \"2000::/3\", action: drop}\n"
				    "  - {name: anyport, proto: udp, action: allow}\n");
	struct fwd_ruleset *rs = ruleset_compile(c);
	struct fwd_key k6 = { .family = 6, .proto = 6, .sport = 1, .dport = 80 };

	(void)state;
	assert_non_null(rs);
	assert_int_equal(judge(c, rs, key4(6, 1, 1, 2, 80), ""), 0);
	assert_int_equal(judge(c, rs, key4(17, 1, 1, 2, 53), ""), 1);
	/* no ports: the dport rule must not match, the later rule does */
	assert_int_equal(judge(c, rs, key4(17, 1, FWD_NOPORT, 2, FWD_NOPORT), ""), 3);
	assert_int_equal(judge(c, rs, key4(1, 1, FWD_NOPORT, 2, FWD_NOPORT), ""), -1);
	/* a v4-only rule never matches v6, even with the same low bits */
	k6.src = 1;
	assert_int_equal(judge(c, rs, k6, ""), -1);
	k6.src = (fwd_u128)0x2001 << 112 | 1;
	assert_int_equal(judge(c, rs, k6, ""), 2);
	ruleset_free(rs);
	config_free(c);
}

static void test_iface_classes(void **state)
{
	struct fwd_config *c = load("version: 1\ndefault: drop\nrules:\n"
				    "  - {name: lo, in: lo, action: allow}\n"
				    "  - {name: eth1, in: eth1, action: drop}\n"
				    "  - {name: eths, in: eth+, action: allow}\n"
				    "  - {name: notwan, in: \"!wan0\", action: drop}\n");
	struct fwd_ruleset *rs = ruleset_compile(c);
	struct fwd_key k = key4(6, 1, 1, 2, 3);

	(void)state;
	assert_non_null(rs);
	assert_int_equal(judge(c, rs, k, "lo"), 0);
	assert_int_equal(judge(c, rs, k, "eth1"), 1);
	assert_int_equal(judge(c, rs, k, "eth0"), 2);
	assert_int_equal(judge(c, rs, k, "eth"), 2);
	assert_int_equal(judge(c, rs, k, "eth10"), 2);
	assert_int_equal(judge(c, rs, k, "wan0"), -1);
	assert_int_equal(judge(c, rs, k, "wan1"), 3);
	assert_int_equal(judge(c, rs, k, ""), 3);
	assert_int_equal(ruleset_iface_class(rs, "eth0"), ruleset_iface_class(rs, "eth7"));
	assert_int_not_equal(ruleset_iface_class(rs, "eth0"), ruleset_iface_class(rs, "eth1"));
	ruleset_free(rs);
	config_free(c);
}

/* The text of the shadow warnings of YAML. */
static unsigned shadows(const char *yaml, char *out, size_t outlen)
{
	struct fwd_config *c = load(yaml);
	struct fwd_ruleset *rs = ruleset_compile(c);
	struct fwd_diags d;
	unsigned n;

	assert_non_null(rs);
	diags_init(&d, "test");
	n = ruleset_shadows(rs, c, &d);
	ruleset_free(rs);
	snprintf(out, outlen, "%s", d.text ? d.text : "");
	diags_free(&d);
	config_free(c);
	return n;
}

static void test_shadow_yes(void **state)
{
	char txt[4096];

	(void)state;
	assert_int_equal(shadows("version: 1\ndefault: drop\nrules:\n"
				 "  - {name: wide, proto: tcp, dport: 1-1000, action: allow}\n"
				 "  - {name: ok, proto: udp, dport: 22, action: allow}\n"
				 "  - {name: narrow, proto: tcp, src: 10.0.0.0/8, dport: 22, action: drop}\n",
				 txt, sizeof(txt)), 1);
	assert_non_null(strstr(txt, "test:6:"));
	assert_non_null(strstr(txt, "warning: rule 'narrow' is never reached: rule 'wide' (line 4) matches first"));
	/* the second of two identical rules, and a negation covering a range */
	assert_int_equal(shadows("version: 1\ndefault: drop\nrules:\n"
				 "  - {name: a, in: eth+, dport: \"!22\", action: allow}\n"
				 "  - {name: b, in: eth0, dport: 23-80, action: allow}\n"
				 "  - {name: c, in: eth+, dport: \"!22\", action: drop}\n",
				 txt, sizeof(txt)), 2);
	assert_non_null(strstr(txt, "rule 'b' is never reached: rule 'a'"));
	assert_non_null(strstr(txt, "rule 'c' is never reached: rule 'a'"));
}

static void test_shadow_no(void **state)
{
	char txt[4096];

	(void)state;
	/* a port rule does not cover a rule without ports (packets with no ports) */
	assert_int_equal(shadows("version: 1\ndefault: drop\nrules:\n"
				 "  - {name: p, dport: 0-65535, action: allow}\n"
				 "  - {name: all, action: drop}\n", txt, sizeof(txt)), 0);
	/* a v4 source does not cover both families */
	assert_int_equal(shadows("version: 1\ndefault: drop\nrules:\n"
				 "  - {name: v4, src: 0.0.0.0/0, action: allow}\n"
				 "  - {name: any, proto: tcp, action: drop}\n", txt, sizeof(txt)), 0);
	/* only the union of two rules covers the third: not one rule alone */
	assert_int_equal(shadows("version: 1\ndefault: drop\nrules:\n"
				 "  - {name: lo, dport: 1-100, action: allow}\n"
				 "  - {name: hi, dport: 101-200, action: allow}\n"
				 "  - {name: mid, dport: 50-150, action: drop}\n", txt, sizeof(txt)), 0);
	/* interfaces: eth+ does not cover a negated interface */
	assert_int_equal(shadows("version: 1\ndefault: drop\nrules:\n"
				 "  - {name: e, in: eth+, action: allow}\n"
				 "  - {name: ne, in: \"!eth0\", action: drop}\n", txt, sizeof(txt)), 0);
}

static uint64_t big_rng = 0x2545f4914f6cdd1dull;

static uint32_t big_rand(void)
{
	big_rng ^= big_rng << 13;
	big_rng ^= big_rng >> 7;
	big_rng ^= big_rng << 17;
	return (uint32_t)(big_rng >> 16);
}

/*
 * 200,000 IPv4 /32s and 150,000 IPv6 /48s from a set file: 400,000 and
 * 300,000 interval starts, several to each of the maps' index buckets.
 * Prefix edges and random addresses are judged by src (rule 0) and dst
 * (rule 1) against the oracle.
 */
static void test_big_set_index(void **state)
{
	char path[] = "/tmp/fwd-test-set.XXXXXX", yaml[256];
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	uint32_t *v4 = calloc(200000, sizeof(*v4));
	struct fwd_config *c;
	struct fwd_ruleset *rs;

	(void)state;
	assert_non_null(f);
	assert_non_null(v4);
	for (int i = 0; i < 200000; i++) {
		v4[i] = big_rand();
		fprintf(f, "%u.%u.%u.%u\n", v4[i] >> 24, v4[i] >> 16 & 255, v4[i] >> 8 & 255, v4[i] & 255);
	}
	for (int i = 0; i < 150000; i++)
		fprintf(f, "2001:%x:%x::/48\n", big_rand() & 0xffff, big_rand() & 0xffff);
	fclose(f);
	snprintf(yaml, sizeof(yaml), "version: 1\ndefault: allow\nsets:\n  big: {file: %s}\nrules:\n"
		 "  - {name: s, src: $big, action: drop}\n  - {name: d, dst: $big, action: drop}\n", path);
	c = load(yaml);
	unlink(path);
	rs = ruleset_compile(c);
	assert_non_null(rs);
	for (int i = 0; i < 400; i++) {
		uint32_t a = v4[big_rand() % 200000];
		const struct fwd_a6range *r6 = &c->rules[0].src.v6[big_rand() % c->rules[0].src.n6];
		fwd_u128 a6[] = { r6->lo - 1, r6->lo, r6->hi, r6->hi + 1 };
		uint32_t a4[] = { a - 1, a, a + 1, big_rand() };

		for (int j = 0; j < 4; j++) {
			struct fwd_key k6 = { .family = 6, .proto = 17, .sport = 1, .dport = 2 };

			judge(c, rs, key4(17, a4[j], 1, 7, 2), "");
			judge(c, rs, key4(17, 7, 1, a4[j], 2), "");
			k6.src = a6[j];
			judge(c, rs, k6, "");
			k6.src = 7;
			k6.dst = a6[j];
			judge(c, rs, k6, "");
		}
	}
	ruleset_free(rs);
	config_free(c);
	free(v4);
}

/*
 * A drop or reject rule whose one condition is a static src: is a blocklist
 * (fwd/recheck.c marks its sources' established connections); a source
 * rule that also names a port, or allows, is not; both families.
 */
static void test_src_blocked(void **state)
{
	static const char yaml[] =
		"version: 1\ndefault: allow\n"
		"sets:\n  list: [198.51.100.0/24, \"2001:db8:bad::/48\"]\n"
		"rules:\n"
		"  - {name: ssh, proto: tcp, dport: 22, action: allow}\n"
		"  - {name: list, src: $list, action: drop}\n"
		"  - {name: telnet, src: 203.0.113.0/24, dport: 23, action: drop}\n"
		"  - {name: lan, src: 192.0.2.0/24, action: allow}\n"
		"  - {name: rej, src: 10.9.0.0/16, action: reject}\n";
	static const char none[] =
		"version: 1\ndefault: drop\n"
		"rules:\n  - {name: telnet, src: 203.0.113.0/24, dport: 23, action: drop}\n";
	struct fwd_config *c = load(yaml), *c2 = load(none);
	struct fwd_ruleset *rs = ruleset_compile(c), *rs2 = ruleset_compile(c2);
	fwd_u128 bad6 = (fwd_u128)0x20010db80badull << 80 | 9, ok6 = (fwd_u128)0x20010db80bacull << 80;

	(void)state;
	assert_true(ruleset_blocks_src(rs));
	assert_true(ruleset_src_blocked(rs, 4, IP(198, 51, 100, 77)));
	assert_true(ruleset_src_blocked(rs, 4, IP(10, 9, 200, 1)));
	assert_false(ruleset_src_blocked(rs, 4, IP(198, 51, 101, 77)));
	assert_false(ruleset_src_blocked(rs, 4, IP(203, 0, 113, 5)));	/* a port too */
	assert_false(ruleset_src_blocked(rs, 4, IP(192, 0, 2, 5)));	/* allowed */
	assert_true(ruleset_src_blocked(rs, 6, bad6));
	assert_false(ruleset_src_blocked(rs, 6, ok6));
	assert_false(ruleset_blocks_src(rs2));
	assert_false(ruleset_src_blocked(rs2, 4, IP(203, 0, 113, 5)));
	assert_false(ruleset_blocks_src(NULL));
	ruleset_free(rs);
	ruleset_free(rs2);
	config_free(c);
	config_free(c2);
}

/* The same with the blocklist past the first 64 rules (a table of two words). */
static void test_src_blocked_words(void **state)
{
	char yaml[16384];
	size_t n = (size_t)snprintf(yaml, sizeof(yaml), "version: 1\ndefault: allow\nrules:\n");
	struct fwd_config *c;
	struct fwd_ruleset *rs;

	(void)state;
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(yaml + n, sizeof(yaml) - n,
				      "  - {name: p%d, proto: tcp, dport: %d, action: allow}\n", i, 1000 + i);
	snprintf(yaml + n, sizeof(yaml) - n, "  - {name: list, src: 198.51.100.0/24, action: drop}\n");
	c = load(yaml);
	rs = ruleset_compile(c);
	assert_true(ruleset_blocks_src(rs));
	assert_true(ruleset_src_blocked(rs, 4, IP(198, 51, 100, 1)));
	assert_false(ruleset_src_blocked(rs, 4, IP(198, 51, 99, 1)));
	assert_false(ruleset_src_blocked(rs, 6, 1));
	ruleset_free(rs);
	config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_match_and_default),
		cmocka_unit_test(test_lean_compile),
		cmocka_unit_test(test_family_and_noport),
		cmocka_unit_test(test_iface_classes),
		cmocka_unit_test(test_shadow_yes),
		cmocka_unit_test(test_shadow_no),
		cmocka_unit_test(test_big_set_index),
		cmocka_unit_test(test_src_blocked),
		cmocka_unit_test(test_src_blocked_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
