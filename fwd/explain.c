// SPDX-License-Identifier: MIT
/*
 * explain.c - judge one packet, written the way an operator writes it,
 * against a compiled table. The same code answers `fwd explain`, runs the
 * policy tests of `fwd check`, and serves the control socket's explain, so
 * all three always agree with the packet path's classify().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/explain.h"
#include "fwd/icmp.h"
#include "fwd/ifname.h"
#include "fwd/table.h"
#include "fwd/value.h"

#define LINE_MAX_WORDS	8

struct endpoint {
	unsigned family;
	fwd_u128 addr;
	uint32_t port;		/* FWD_NOPORT when absent */
};

static bool parse_endpoint(const char *s, struct endpoint *e)
{
	e->family = (unsigned)endpoint_parse(s, &e->addr, &e->port);
	return e->family != 0;
}

/* Ports are required for tcp/udp and forbidden for icmp, as on the wire. */
static int check_endpoint(const char *what, const char *s, int proto, struct endpoint *e,
			  char *err, size_t errlen)
{
	bool ports = proto == IPPROTO_TCP || proto == IPPROTO_UDP;

	if (!parse_endpoint(s, e)) {
		snprintf(err, errlen, "invalid %s '%s'; expected ADDR%s", what, s,
			 ports ? ":PORT or [V6]:PORT" : "");
		return -1;
	}
	if (ports && e->port == FWD_NOPORT) {
		snprintf(err, errlen, "%s '%s' needs a port for %s", what, s,
			 proto_name((unsigned)proto));
		return -1;
	}
	if (!ports && e->port != FWD_NOPORT) {
		snprintf(err, errlen, "%s '%s' has a port, but %s carries none", what, s,
			 proto_name((unsigned)proto));
		return -1;
	}
	return 0;
}

static int parse_iface(const char *iface, char ifname[FWD_IFNAMSIZ], char *err, size_t errlen)
{
	size_t len = iface ? strlen(iface) : 0;
	char why[96];

	ifname[0] = '\0';
	if (!iface)
		return 0;
	if (!ifname_valid(iface, len, why, sizeof(why))) {
		snprintf(err, errlen, "invalid interface '%s': %s", iface, why);
		return -1;
	}
	memcpy(ifname, iface, len + 1);
	return 0;
}

static int family_proto(int proto, unsigned family, char *err, size_t errlen)
{
	if (proto == IPPROTO_ICMP && family != 4) {
		snprintf(err, errlen, "icmp is IPv4; use icmpv6 for IPv6 addresses");
		return -1;
	}
	if (proto == IPPROTO_ICMPV6 && family != 6) {
		snprintf(err, errlen, "icmpv6 is IPv6; use icmp for IPv4 addresses");
		return -1;
	}
	return 0;
}

int explain_parse_argv(const char *proto, const char *src, const char *dst,
		       const char *iface, struct fwd_key *k, char ifname[FWD_IFNAMSIZ],
		       char *err, size_t errlen)
{
	struct endpoint s, d;
	int p = proto_number(proto);

	memset(k, 0, sizeof(*k));
	ifname[0] = '\0';
	if (p < 0) {
		char names[128];

		proto_names(names, sizeof(names));
		snprintf(err, errlen, "unknown protocol '%s'; expected one of: %s", proto, names);
		return -1;
	}
	if (check_endpoint("source", src, p, &s, err, errlen) ||
	    check_endpoint("destination", dst, p, &d, err, errlen))
		return -1;
	if (s.family != d.family) {
		snprintf(err, errlen, "source '%s' and destination '%s' are of different families",
			 src, dst);
		return -1;
	}
	if (family_proto(p, s.family, err, errlen) || parse_iface(iface, ifname, err, errlen))
		return -1;
	k->family = (uint8_t)s.family;
	k->proto = (uint8_t)p;
	k->sport = s.port;
	k->dport = d.port;
	k->src = s.addr;
	k->dst = d.addr;
	return 0;
}

/* Set I of C named NAME (LEN bytes), or -1. */
static int set_index(const struct fwd_config *c, const char *name, size_t len)
{
	for (uint32_t i = 0; i < c->ndynsets; i++)
		if (strlen(c->dynsets[i].name) == len && !strncmp(c->dynsets[i].name, name, len))
			return (int)i;
	return -1;
}

int explain_members(const struct fwd_config *c, const char *list, uint32_t *member,
		    char *err, size_t errlen)
{
	const char *s = list;

	*member = 0;
	do {
		size_t len = strcspn(s, ",");
		int i = set_index(c, s, len);

		if (i < 0) {
			snprintf(err, errlen, "unknown dynamic set '%.*s' in member=%s", (int)len, s,
				 c->ndynsets ? "" : " (the file has no dynamic: sets)");
			return -1;
		}
		*member |= 1u << i;
		s += len;
	} while (*s++ == ',');
	return 0;
}

/* The optional words after DST: type=, in=IFACE and member=SETS, each at most once. */
static int parse_opts(char **w, int n, const char **opt, char *err, size_t errlen)
{
	for (int i = 0; i < n; i++) {
		const char **to = !strncmp(w[i], "in=", 3) ? &opt[0] :
				  !strncmp(w[i], "member=", 7) ? &opt[1] :
				  !strncmp(w[i], "type=", 5) ? &opt[2] : NULL;

		if (!to) {
			snprintf(err, errlen,
				 "unexpected '%s'; expected type=NAME|N[/CODE], in=IFACE or member=SET[,SET...]",
				 w[i]);
			return -1;
		}
		if (*to) {
			snprintf(err, errlen, "'%s': %.*s= given twice", w[i],
				 (int)strcspn(w[i], "="), w[i]);
			return -1;
		}
		*to = strchr(w[i], '=') + 1;
	}
	return 0;
}

int explain_parse(const char *line, const struct fwd_config *c, struct fwd_key *k,
		  char ifname[FWD_IFNAMSIZ], uint32_t *member, char *err, size_t errlen)
{
	char buf[1024], *w[LINE_MAX_WORDS], *save = NULL;
	const char *opt[3] = { NULL, NULL, NULL };	/* in=, member=, type= */
	int n = 0;

	*member = 0;
	if (strlen(line) >= sizeof(buf)) {
		snprintf(err, errlen, "line too long");
		return -1;
	}
	strcpy(buf, line);
	for (char *t = strtok_r(buf, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
		if (n == LINE_MAX_WORDS)
			break;
		w[n++] = t;
	}
	if (n < 3 || n > 6) {
		snprintf(err, errlen,
			 "expected 'PROTO SRC DST [type=NAME|N[/CODE]] [in=IFACE] [member=SET[,SET...]]', got '%s'",
			 line);
		return -1;
	}
	if (parse_opts(w + 3, n - 3, opt, err, errlen) ||
	    explain_parse_argv(w[0], w[1], w[2], opt[0], k, ifname, err, errlen) ||
	    (opt[2] && icmp_packet_type(opt[2], k, err, errlen)))
		return -1;
	if (opt[1] && !c) {
		snprintf(err, errlen, "member= is for offline explain");
		return -1;
	}
	return opt[1] ? explain_members(c, opt[1], member, err, errlen) : 0;
}

void explain_format(const struct fwd_ruleset *rs, const struct fwd_key *k, int idx,
		    char *out, size_t outlen)
{
	const struct fwd_rule_info *ri;
	char to[INET6_ADDRSTRLEN + 16];

	if (idx < 0) {
		snprintf(out, outlen, "%s rule=default",
			 action_name(ruleset_default(rs)));
		return;
	}
	ri = ruleset_rule(rs, (uint32_t)idx);
	switch (ri->action) {
	case FWD_FORWARD:
		target_format(to, sizeof(to), &ri->to, k->dport);
		snprintf(out, outlen, "forward to=%s rule=%s", to, ri->name);
		break;
	case FWD_ALLOW:
		snprintf(out, outlen, "allow rule=%s", ri->name);
		break;
	case FWD_REJECT:
		snprintf(out, outlen, "reject rule=%s", ri->name);
		break;
	default:
		snprintf(out, outlen, "drop rule=%s", ri->name);
		break;
	}
}

struct member_arg {
	const struct fwd_ruleset *rs;
	uint32_t member;
};

static bool member_ok(const struct fwd_rule_info *ri, uint32_t member)
{
	return ri->dyn_set < 0 || (member >> ri->dyn_set & 1);
}

static bool member_rule_ok(const void *arg, uint32_t i)
{
	const struct member_arg *m = arg;

	return member_ok(ruleset_rule(m->rs, i), m->member);
}

/*
 * classify() takes `src: $SET` for any source; as dyn_resolve() does on the
 * packet path, a rule whose set does not hold the source gives way to the
 * next matching rule whose set does (or that has none).
 */
static int resolve_offline(const struct fwd_ruleset *rs, const struct fwd_key *k, int idx,
			   uint32_t member)
{
	struct member_arg m = { rs, member };

	if (idx < 0 || member_ok(ruleset_rule(rs, (uint32_t)idx), member))
		return idx;
	return ruleset_next_match(rs, k, idx, NULL, member_rule_ok, &m);
}

int explain_verdict(const struct fwd_ruleset *rs, const struct fwd_key *k, uint32_t member,
		    char *out, size_t outlen)
{
	int i = resolve_offline(rs, k, classify(rs, k), member);

	if (i == -ENOMEM)
		snprintf(out, outlen, "error: out of memory");
	else
		explain_format(rs, k, i, out, outlen);
	return i;
}

/*
 * Does the verdict line GOT ("forward to=A:P rule=N") satisfy EXPECT
 * ("forward", "forward to=A:P", "forward N", "forward to=A:P N")? Targets are
 * compared after formatting, so "[2001:db8:0::5]:80" equals "[2001:db8::5]:80".
 */
static bool expect_matches(const char *expect, const char *got)
{
	char e[1024], g[1024], *ew[4], *gw[4], *s1 = NULL, *s2 = NULL;
	int ne = 0, ng = 0, i = 1;

	if (strlen(expect) >= sizeof(e) || strlen(got) >= sizeof(g))
		return false;
	strcpy(e, expect);
	strcpy(g, got);
	for (char *t = strtok_r(e, " \t", &s1); t && ne < 4; t = strtok_r(NULL, " \t", &s1))
		ew[ne++] = t;
	for (char *t = strtok_r(g, " ", &s2); t && ng < 4; t = strtok_r(NULL, " ", &s2))
		gw[ng++] = t;
	if (ne == 0 || ng < 2 || strcmp(ew[0], gw[0]))
		return false;
	if (i < ne && !strncmp(ew[i], "to=", 3)) {
		struct endpoint x, y;

		if (ng < 3 || !parse_endpoint(ew[i] + 3, &x) || !parse_endpoint(gw[1] + 3, &y) ||
		    x.family != y.family || x.addr != y.addr || x.port != y.port)
			return false;
		i++;
	}
	if (i < ne && strcmp(ew[i], strchr(gw[ng - 1], '=') + 1))
		return false;
	return true;
}

static bool run_test(const struct fwd_config *c, const struct fwd_test *t,
		     const struct fwd_ruleset *rs, struct fwd_diags *d)
{
	char ifname[FWD_IFNAMSIZ], err[256], got[256];
	struct fwd_key k;
	uint32_t member;

	if (explain_parse(t->packet, c, &k, ifname, &member, err, sizeof(err))) {
		diag_error(d, t->pos, "invalid test packet '%s': %s", t->packet, err);
		return false;
	}
	k.iface = ruleset_iface_class(rs, ifname);
	explain_verdict(rs, &k, member, got, sizeof(got));
	if (expect_matches(t->expect, got))
		return true;
	diag_error(d, t->pos, "test failed: '%s' gives '%s', expected '%s'", t->packet, got,
		   t->expect);
	return false;
}

unsigned explain_run_tests(const struct fwd_config *c, const struct fwd_ruleset *rs,
			   struct fwd_diags *d)
{
	unsigned failed = 0;

	for (uint32_t i = 0; i < c->ntests; i++)
		failed += !run_test(c, &c->tests[i], rs, d);
	return failed;
}
