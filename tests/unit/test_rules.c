// SPDX-License-Identifier: MIT
/*
 * test_rules.c - the loader's normalisation: what a field says in YAML and
 * the ranges it becomes (negation, lists, sets, services, ranges, v6), and
 * the files it must reject.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "fwd/config.h"
#include "fwd/load.h"
#include "fwd/value.h"
#include "fwd/ruleset.h"

static struct fwd_config *load(const char *yaml, struct fwd_diags *d)
{
	diags_init(d, "t.yaml");
	return config_parse(yaml, strlen(yaml), d);
}

/* BUF written to a file and loaded from it (config_load()). */
static struct fwd_config *load_as_file(const char *buf, size_t len)
{
	char path[] = "/tmp/fwd-test-rules.XXXXXX";
	int fd = mkstemp(path);
	struct fwd_diags d;
	struct fwd_config *c;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	diags_init(&d, path);
	c = config_load(path, &d);
	if (!c)
		fprintf(stderr, "%s", d.text ? d.text : "");
	diags_free(&d);
	unlink(path);
	return c;
}

/* A rules file every user may write loads, with a warning that says so. */
static void test_world_writable(void **state)
{
	static const char yaml[] = "version: 1\nrules:\n  - {name: r, action: allow}\n";
	char path[] = "/tmp/fwd-test-rules.XXXXXX";
	int fd = mkstemp(path);
	struct fwd_diags d;
	struct fwd_config *c;
	bool warned;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	for (int mode = 0600; mode; mode = mode == 0600 ? 0666 : 0) {
		assert_int_equal(chmod(path, (mode_t)mode), 0);
		diags_init(&d, path);
		c = config_load(path, &d);
		assert_non_null(c);
		warned = d.text && strstr(d.text, "writable by every user (mode 0666)");
		assert_true(warned == (mode == 0666));
		config_free(c);
		diags_free(&d);
	}
	unlink(path);
}

/* Load a file with one rule whose body is BODY (already indented). */
static struct fwd_config *rule(const char *body)
{
	char buf[4096];
	struct fwd_diags d;
	struct fwd_config *c;

	snprintf(buf, sizeof(buf),
		 "version: 1\nsets:\n  web: [80, 443, 8000-8099]\n"
		 "  nets: [10.0.0.0/8, \"2001:db8::/32\"]\n"
		 "rules:\n  - name: r\n%s    action: allow\n", body);
	c = load(buf, &d);
	if (!c)
		fprintf(stderr, "%s", d.text ? d.text : "");
	diags_free(&d);
	assert_non_null(c);
	assert_int_equal(c->nrules, 1);
	return c;
}

/* The first error of a file that must be rejected. */
static void rejects(const char *yaml, const char *needle)
{
	struct fwd_diags d;
	struct fwd_config *c = load(yaml, &d);

	assert_null(c);
	assert_true(d.errors > 0);
	if (!strstr(d.text, needle))
		fail_msg("expected '%s' in:\n%s", needle, d.text);
	diags_free(&d);
}

static void assert_ports(const struct fwd_portset *p, const uint32_t *want, uint32_t n)
{
	assert_int_equal(p->n, n);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(p->r[i].lo, want[2 * i]);
		assert_int_equal(p->r[i].hi, want[2 * i + 1]);
	}
}

static void test_port_forms(void **state)
{
	struct fwd_config *c;
	static const uint32_t list[] = { 22, 22, 80, 80, 443, 443, 1024, 2048, 8000, 8099 };
	static const uint32_t neg[] = { 0, 21, 23, 65535 };
	static const uint32_t ge[] = { 1024, 65535 };
	static const uint32_t lt[] = { 0, 1023 };

	(void)state;
	c = rule("    proto: tcp\n    dport: [22, $web, \"1024:2048\", 443]\n");
	assert_true(c->rules[0].present & FWD_F_DPORT);
	assert_false(c->rules[0].present & FWD_F_SPORT);
	assert_ports(&c->rules[0].dport, list, 5);
	config_free(c);

	c = rule("    proto: tcp\n    dport: \"!22\"\n    sport: \">=1024\"\n");
	assert_ports(&c->rules[0].dport, neg, 2);
	assert_ports(&c->rules[0].sport, ge, 1);
	config_free(c);

	c = rule("    dport: \"<1024\"\n");
	assert_ports(&c->rules[0].dport, lt, 1);
	config_free(c);

	/* Overlapping and adjacent ranges merge into one. */
	c = rule("    dport: [10-20, 15-30, 31, 5-9]\n");
	{
		static const uint32_t m[] = { 5, 31 };

		assert_ports(&c->rules[0].dport, m, 1);
	}
	config_free(c);
}

static void test_services(void **state)
{
	struct fwd_config *c;
	static const uint32_t ssh[] = { 22, 22 };
	static const uint32_t dom[] = { 53, 53 };

	(void)state;
	c = rule("    proto: tcp\n    dport: ssh\n");
	assert_ports(&c->rules[0].dport, ssh, 1);
	config_free(c);
	/* No proto: the union of tcp and udp. */
	c = rule("    dport: domain\n");
	assert_ports(&c->rules[0].dport, dom, 1);
	config_free(c);
	/* "ssh" is tcp only in /etc/services. */
	rejects("version: 1\nrules:\n  - {name: a, proto: udp, dport: ssh, action: drop}\n",
		"unknown service 'ssh' for udp");
}

/* prefix_parse(): `fwd block`'s and CrowdSec's ADDR[/LEN], host bits cleared, unmapped. */
static void test_prefix_parse(void **state)
{
	static const struct {
		const char *s;
		int fam;
		fwd_u128 a;
		unsigned plen;
	} ok[] = {
		{ "203.0.113.9", 4, 0xcb007109, 32 },
		{ "203.0.113.9/24", 4, 0xcb007100, 24 },
		{ "0.0.0.0/0", 4, 0, 0 },
		{ "2001:db8::1/32", 6, (fwd_u128)0x20010db8 << 96, 32 },
		{ "::1", 6, 1, 128 },
		/* mapped: the IPv4 address; a mapped prefix stays IPv6 */
		{ "::ffff:203.0.113.9", 4, 0xcb007109, 32 },
		{ "::ffff:203.0.113.9/128", 4, 0xcb007109, 32 },
		{ "::ffff:0:0/96", 6, (fwd_u128)0xffff << 32, 96 },
	};
	static const char *const bad[] = {
		"", "203.0.113.9/", "203.0.113.9/33", "203.0.113.9/-1", "203.0.113.9/8x",
		"2001:db8::/129", "example.org", "203.0.113.9 ", "203.0.113.9/99999999999999999999",
	};
	fwd_u128 a;
	unsigned plen;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(prefix_parse(ok[i].s, &a, &plen), ok[i].fam);
		assert_true(a == ok[i].a);
		assert_int_equal(plen, ok[i].plen);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(prefix_parse(bad[i], &a, &plen), 0);
}

static void test_addresses(void **state)
{
	struct fwd_config *c;
	const struct fwd_addrset *a;

	(void)state;
	c = rule("    src: [10.1.0.0/16, 10.0.0.0/16, 192.168.1.1]\n");
	a = &c->rules[0].src;
	assert_int_equal(a->n4, 2);
	assert_int_equal(a->n6, 0);
	assert_int_equal(a->v4[0].lo, 0x0a000000);
	assert_int_equal(a->v4[0].hi, 0x0a01ffff);
	assert_int_equal(a->v4[1].lo, 0xc0a80101);
	assert_int_equal(a->v4[1].hi, 0xc0a80101);
	config_free(c);

	c = rule("    dst: \"2001:db8::/32\"\n");
	a = &c->rules[0].dst;
	assert_int_equal(a->n6, 1);
	assert_true(a->v6[0].lo == (fwd_u128)0x20010db8 << 96);
	assert_true(a->v6[0].hi == ((fwd_u128)0x20010db8 << 96 | (((fwd_u128)1 << 96) - 1)));
	config_free(c);
}

/* "!x" complements within each family x names, and only those. */
static void test_negation(void **state)
{
	struct fwd_config *c;
	const struct fwd_addrset *a;

	(void)state;
	c = rule("    src: \"!10.0.0.0/8\"\n");
	a = &c->rules[0].src;
	assert_int_equal(a->n6, 0);
	assert_int_equal(a->n4, 2);
	assert_int_equal(a->v4[0].lo, 0);
	assert_int_equal(a->v4[0].hi, 0x09ffffff);
	assert_int_equal(a->v4[1].lo, 0x0b000000);
	assert_int_equal(a->v4[1].hi, 0xffffffff);
	config_free(c);

	c = rule("    src: \"!$nets\"\n");
	a = &c->rules[0].src;
	assert_int_equal(a->n4, 2);
	assert_int_equal(a->n6, 2);
	assert_true(a->v6[0].lo == 0);
	assert_true(a->v6[0].hi == ((fwd_u128)0x20010db8 << 96) - 1);
	assert_true(a->v6[1].hi == ~(fwd_u128)0);
	config_free(c);
}

static void test_proto_iface(void **state)
{
	struct fwd_config *c;
	const struct fwd_rule *r;

	(void)state;
	c = rule("    proto: [tcp, udp]\n    in: [eth+, \"!wan0\"]\n");
	r = &c->rules[0];
	assert_true(r->present & FWD_F_PROTO);
	assert_true(r->protos[6 / 8] & (1u << (6 % 8)));
	assert_true(r->protos[17 / 8] & (1u << (17 % 8)));
	assert_false(r->protos[1 / 8] & (1u << (1 % 8)));
	assert_int_equal(r->in.n, 2);
	assert_string_equal(r->in.p[0].name, "eth");
	assert_true(r->in.p[0].prefix);
	assert_true(r->in.p[1].neg);
	assert_true(ifset_match(&r->in, "eth0"));
	assert_true(ifset_match(&r->in, "lan0"));	/* not wan0 */
	config_free(c);

	c = rule("    in: eth+\n");
	r = &c->rules[0];
	assert_true(ifset_match(&r->in, "eth7"));
	assert_false(ifset_match(&r->in, "wlan0"));
	assert_int_equal(r->protos[0], 0xff);	/* no proto: all bits */
	assert_false(r->present & FWD_F_PROTO);
	config_free(c);
}

static void test_forward_family(void **state)
{
	struct fwd_diags d;
	struct fwd_config *c;

	(void)state;
	c = load("version: 1\nrules:\n"
		 "  - {name: f, dport: 8080, action: forward, to: \"[2001:db8::5]\"}\n"
		 "  - {name: g, src: [10.0.0.0/8, \"fd00::/8\"], action: forward, to: 10.0.0.9:80}\n",
		 &d);
	assert_non_null(c);
	assert_int_equal(c->rules[0].to->family, 6);
	assert_int_equal(c->rules[0].to->port, 0);
	assert_true(c->rules[0].present & FWD_F_SRC);
	assert_int_equal(c->rules[0].src.n4, 0);
	assert_int_equal(c->rules[0].src.n6, 1);
	assert_int_equal(c->rules[1].to->port, 80);
	assert_int_equal(c->rules[1].src.n4, 1);
	assert_int_equal(c->rules[1].src.n6, 0);
	config_free(c);
	diags_free(&d);
}

static void test_rejects(void **state)
{
	(void)state;
	rejects("", "no document");
	rejects("- 1\n", "top level must be a mapping");
	rejects("version: 1\nrules: []\n---\nversion: 1\n", "second YAML document");
	rejects("version: 1\nrules: []\nx: &a 1\n", "anchors and aliases are not allowed");
	rejects("version: 1\nrules:\n  - {name: a, dport: 70000, action: drop}\n",
		"t.yaml:3:22: error: port '70000' is above 65535");
	rejects("version: 1\nrules:\n  - {name: a, dport: 80-22, action: drop}\n",
		"range 80-22 is reversed");
	rejects("version: 1\nrules:\n  - {name: a, src: 10.0.0.1/24, action: drop}\n",
		"10.0.0.1/24 has host bits set; the network is 10.0.0.0/24");
	rejects("version: 1\nrules:\n  - {name: a, src: $foo, action: drop}\n",
		"unknown set '$foo'");
	rejects("version: 1\nrules:\n  - {name: a, action: drop, to: 1.2.3.4}\n",
		"to: without action: forward");
	rejects("version: 1\nrules:\n  - {name: a, proto: icmp, dport: 1, action: drop}\n",
		"carry no ports");
	rejects("version: 1\nrules:\n  - {name: a, action: drop}\n  - {name: a, action: drop}\n",
		"duplicate rule name 'a'");
	rejects("version: 1\nrules:\n  - {name: a, dprot: 1, action: drop}\n",
		"unknown key 'dprot' in rule 'a'");
	rejects("version: 1\nsets: {p: [22], a: [10.0.0.0/8]}\n"
		"rules:\n  - {name: a, src: $p, action: drop}\n",
		"'$p' is a set of ports, used as addresses");
	rejects("version: 1\nrules: []\nversion: 1\n", "duplicate key 'version'");
}

/* Every problem is reported, not just the first. */
/* daemon: ha: both on by default; off, or narrowed to a sync link and port. */
static void test_daemon_ha(void **state)
{
	static const char *const yaml[] = {
		"version: 1\nrules: []\n",
		"version: 1\ndaemon:\n  ha: off\nrules: []\n",
		"version: 1\ndaemon:\n  ha: {sync_in: \"sync+\", sync_port: 3781, vrrp: off}\nrules: []\n",
	};
	struct fwd_diags d;
	struct fwd_config *c[3];

	(void)state;
	for (int i = 0; i < 3; i++) {
		c[i] = load(yaml[i], &d);
		diags_free(&d);
		assert_non_null(c[i]);
	}
	assert_true(c[0]->daemon.ha.vrrp && c[0]->daemon.ha.sync);
	assert_int_equal(c[0]->daemon.ha.sync_port, FWD_HA_SYNC_PORT);
	assert_string_equal(c[0]->daemon.ha.sync_in.name, "");
	assert_false(c[1]->daemon.ha.vrrp || c[1]->daemon.ha.sync);
	assert_false(c[2]->daemon.ha.vrrp);
	assert_true(c[2]->daemon.ha.sync);
	assert_int_equal(c[2]->daemon.ha.sync_port, 3781);
	assert_string_equal(c[2]->daemon.ha.sync_in.name, "sync");
	assert_true(c[2]->daemon.ha.sync_in.prefix);
	for (int i = 0; i < 3; i++)
		config_free(c[i]);
	rejects("version: 1\ndaemon:\n  ha: maybe\nrules: []\n", "invalid ha 'maybe'");
}

/* What test_large_file()'s file of N rules and a last one holds. */
static void assert_large(const struct fwd_config *c, unsigned N)
{
	assert_int_equal(c->nrules, N + 1);
	for (unsigned i = 0; i < N; i += 997) {
		const struct fwd_rule *r = &c->rules[i];
		char name[16];

		snprintf(name, sizeof(name), "r%u", i);
		assert_string_equal(r->name, name);
		assert_int_equal(r->dport.n, 1);
		assert_int_equal(r->dport.r[0].lo, 1000 + i);
		assert_int_equal(r->src.n4, 1);
		assert_int_equal(r->src.v4[0].lo, 0x0a000000u | (i / 256 % 256) << 16 | (i % 256) << 8);
		assert_int_equal(r->action, i % 2 ? FWD_DROP : FWD_ALLOW);
	}
	assert_string_equal(c->rules[N].name, "last");
	assert_int_equal(c->rules[N].dport.n, 2);
	assert_int_equal(c->rules[N].dport.r[1].lo, 443);
	assert_int_equal(c->ntests, 1);
	assert_string_equal(c->tests[0].expect, "drop r7");
	assert_int_equal(c->daemon.inspect, FWD_INSPECT_EVERY);
}

/*
 * A file whose rules' tree spans many of the tree's mappings, with sections
 * before and after the rules that are read after them (tests:, daemon:):
 * the loader gives the rules' mappings back as it converts them, and what
 * it still reads must not be among them. Read from memory, then from a file.
 */
static void test_large_file(void **state)
{
	enum { N = 30000 };
	size_t cap = (size_t)N * 200 + 4096, len = 0;
	char *buf = malloc(cap);
	struct fwd_diags d;
	struct fwd_config *c;

	(void)state;
	assert_non_null(buf);
	len += (size_t)snprintf(buf + len, cap - len,
				"version: 1\nsets:\n  web: [80, 443]\nrules:\n");
	for (unsigned i = 0; i < N; i++)
		len += (size_t)snprintf(buf + len, cap - len,
					"  - name: r%u\n    proto: tcp\n    src: 10.%u.%u.0/24\n"
					"    dport: %u\n    comment: padding padding padding\n"
					"    action: %s\n",
					i, i / 256 % 256, i % 256, 1000 + i, i % 2 ? "drop" : "allow");
	len += (size_t)snprintf(buf + len, cap - len,
				"  - {name: last, dport: $web, action: drop}\n"
				"tests:\n  - {packet: \"tcp 10.0.7.9:4000 10.9.9.9:1007\", expect: drop r7}\n"
				"daemon:\n  inspect: every-packet\n");
	diags_init(&d, "t.yaml");
	c = config_parse(buf, len, &d);
	if (!c)
		fprintf(stderr, "%s", d.text ? d.text : "");
	diags_free(&d);
	assert_non_null(c);
	assert_large(c, N);
	config_free(c);
	/* the same read from a file, as libyaml takes it a few KiB at a time */
	c = load_as_file(buf, len);
	free(buf);
	assert_non_null(c);
	assert_large(c, N);
	config_free(c);
}

/* More than FWD_CONFIG_MAX bytes while the file is read: refused. */
static void test_file_grows(void **state)
{
	FILE *f = tmpfile();
	struct fwd_diags d;
	struct ytree t;
	char line[4096];

	(void)state;
	assert_non_null(f);
	memset(line, '#', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	fputs("version: 1\n", f);
	for (size_t n = 0; n <= FWD_CONFIG_MAX; n += sizeof(line))
		assert_int_equal(fwrite(line, 1, sizeof(line), f), sizeof(line));
	rewind(f);
	diags_init(&d, "t.yaml");
	ytree_file(f, &d, &t);
	fclose(f);
	assert_null(t.root);
	assert_non_null(strstr(d.text, "t.yaml: error: file is larger than 16777216 bytes"));
	diags_free(&d);
}

/*
 * A valid file past the classifier's 65535 port classes (65535 rules of one
 * port each, and the class of packets without a port) is an invalid file
 * that says so, not "out of memory".
 */
static void test_too_many_port_classes(void **state)
{
	enum { N = 65535 };
	size_t cap = (size_t)N * 64 + 64, len = 0;
	char *buf = malloc(cap);
	struct fwd_diags d;
	struct fwd_config *c;
	struct fwd_ruleset *rs;

	(void)state;
	assert_non_null(buf);
	len += (size_t)snprintf(buf + len, cap - len, "version: 1\nrules:\n");
	for (unsigned i = 0; i < N; i++)
		len += (size_t)snprintf(buf + len, cap - len,
					"  - {name: p%u, proto: tcp, dport: %u, action: allow}\n", i, i);
	diags_init(&d, "t.yaml");
	assert_int_equal(ruleset_load_text(buf, len, FWD_LOAD_CHECK, &d, &c, &rs), -EINVAL);
	free(buf);
	assert_null(c);
	assert_null(rs);
	assert_non_null(strstr(d.text, "t.yaml: error: cannot compile the rules: more than 65535 "
				 "distinct port classes"));
	assert_null(strstr(d.text, "out of memory"));
	diags_free(&d);
}

static void test_all_errors(void **state)
{
	struct fwd_diags d;

	(void)state;
	assert_null(load("version: 2\nrules:\n  - {name: a, dport: 70000, action: drop}\n"
			 "  - {name: b, src: 1.2.3.4/33, action: nope}\n", &d));
	assert_int_equal(d.errors, 4);
	diags_free(&d);
}

/* Protocols by name, or by a number 0-255 in plain decimal; the names listed once. */
static void test_proto_numbers(void **state)
{
	static const struct { const char *s; int want; } cases[] = {
		{ "tcp", 6 }, { "esp", 50 }, { "vrrp", 112 }, { "sctp", 132 }, { "0", 0 },
		{ "47", 47 }, { "255", 255 }, { "256", -1 }, { "050", -1 }, { "+5", -1 },
		{ "-1", -1 }, { "", -1 }, { "4a", -1 }, { "1000", -1 }, { "ESP", -1 }, { "any", -1 },
	};
	char names[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (proto_number(cases[i].s) != cases[i].want)
			fail_msg("proto_number(\"%s\") = %d, want %d", cases[i].s,
				 proto_number(cases[i].s), cases[i].want);
	assert_string_equal(proto_name(50), "esp");
	assert_null(proto_name(41));
	proto_names(names, sizeof(names));
	assert_string_equal(names, "tcp, udp, icmp, icmpv6, sctp, igmp, gre, esp, ah, ospf, vrrp, "
				   "a number 0-255");
	proto_names(names, 12);
	assert_string_equal(names, "tcp, udp, i");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_forms),
		cmocka_unit_test(test_proto_numbers),
		cmocka_unit_test(test_services),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_negation),
		cmocka_unit_test(test_proto_iface),
		cmocka_unit_test(test_forward_family),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_daemon_ha),
		cmocka_unit_test(test_large_file),
		cmocka_unit_test(test_file_grows),
		cmocka_unit_test(test_too_many_port_classes),
		cmocka_unit_test(test_all_errors),
		cmocka_unit_test(test_world_writable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
