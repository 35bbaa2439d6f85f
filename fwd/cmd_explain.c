// SPDX-License-Identifier: MIT
/*
 * cmd_explain.c - `fwd explain` (DESIGN.md section 2): one packet, or one
 * per line of stdin, judged against a rules file without any kernel
 * involvement, or against the running daemon's table (--live). Exit codes:
 * 0 ok, 1 an invalid file or packet, 2 usage or I/O error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "fwd/cmd.h"
#include "fwd/config.h"
#include "fwd/client.h"
#include "fwd/explain.h"
#include "fwd/icmp.h"
#include "fwd/ruleset.h"

#define EXPLAIN_USAGE	"usage: fwd explain [--in IFACE] [--member SET[,SET...]] FILE PROTO SRC DST [type=T] | fwd explain FILE - | fwd explain --live [--socket PATH] PROTO SRC DST [type=T]"

static const char explain_help[] =
	EXPLAIN_USAGE "\n"
	"\n"
	"Judge one packet against FILE without any kernel involvement and print\n"
	"\"VERDICT rule=NAME\", where VERDICT is allow, drop or forward to=ADDR:PORT\n"
	"and NAME is the matching rule, or default.\n"
	"\n"
	"  PROTO     tcp, udp, icmp or icmpv6\n"
	"  SRC, DST  ADDR:PORT or [V6ADDR]:PORT; a bare address for icmp/icmpv6\n"
	"  type=NAME|N[/CODE]  icmp/icmpv6 type (code 0 unless given); without\n"
	"            it the packet carries no type and no icmp_type: rule matches\n"
	"  --in IFACE  the input interface\n"
	"  --member SET[,SET...]  the dynamic sets the source is in\n"
	"\n"
	"Dynamic sets are empty, as when fwd starts, so a rule with src: $SET does\n"
	"not match unless --member (member= on a line) names SET.\n"
	"\n"
	"With -, read one packet per line on stdin (PROTO SRC DST [type=T] [in=IFACE]\n"
	"[member=SET[,SET...]]) and\n"
	"print one line per packet, in order; a bad line prints \"error: TEXT\".\n"
	"Blank lines and lines starting with # are skipped.\n"
	"\n"
	"With --live, the running daemon (at --socket PATH, default\n"
	"" FWD_SOCKET_DEFAULT ") judges the packet against the table in force.\n"
	"\n"
	"Exit status: 0 ok, 1 invalid FILE or packet, 2 usage or I/O error.\n";

/* Options of `fwd explain` besides the positional words. */
struct explain_opt {
	const char *iface;	/* --in */
	const char *member;	/* --member */
	const char *type;	/* type=NAME|N[/CODE] after DST */
};

/* An explain error, which may quote what was typed, escaped as diagnostics are. */
static void explain_error(FILE *f, const char *prefix, const char *err)
{
	char esc[4 * 512];

	diag_escape(esc, sizeof(esc), err);
	fprintf(f, "%s%s\n", prefix, esc);
}

static int explain_one(const struct fwd_config *c, const struct fwd_ruleset *rs, char **w,
		       const struct explain_opt *o)
{
	char ifname[FWD_IFNAMSIZ], err[512], out[256];
	struct fwd_key k;
	uint32_t member = 0;

	if (explain_parse_argv(w[0], w[1], w[2], o->iface, &k, ifname, err, sizeof(err)) ||
	    (o->type && icmp_packet_type(o->type, &k, err, sizeof(err))) ||
	    (o->member && explain_members(c, o->member, &member, err, sizeof(err)))) {
		explain_error(stderr, "fwd explain: ", err);
		return 1;
	}
	k.iface = ruleset_iface_class(rs, ifname);
	explain_verdict(rs, &k, member, out, sizeof(out));
	printf("%s\n", out);
	return 0;
}

/*
 * One packet per stdin line; --in and --member are the defaults for lines
 * without in= or member=.
 */
static int explain_batch(const struct fwd_config *c, const struct fwd_ruleset *rs,
			 const struct explain_opt *o)
{
	char ifname[FWD_IFNAMSIZ], err[512], out[256], *line = NULL;
	uint32_t dflt_member = 0;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;

	if (o->member && explain_members(c, o->member, &dflt_member, err, sizeof(err))) {
		explain_error(stderr, "fwd explain: ", err);
		return 1;
	}

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		struct fwd_key k;
		uint32_t member;
		char *s = line + strspn(line, " \t");

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!*s || *s == '#')
			continue;
		if (explain_parse(s, c, &k, ifname, &member, err, sizeof(err))) {
			explain_error(stdout, "error: ", err);
			rc = 1;
			continue;
		}
		if (!ifname[0] && o->iface)
			snprintf(ifname, sizeof(ifname), "%s", o->iface);
		if (!member)
			member = dflt_member;
		k.iface = ruleset_iface_class(rs, ifname);
		explain_verdict(rs, &k, member, out, sizeof(out));
		printf("%s\n", out);
		fflush(stdout);
	}
	free(line);
	return rc;
}

/* Set by --live (and --socket): judge against the running daemon's table. */
static const char *live_socket;

/*
 * `fwd explain --live PROTO SRC DST`: the daemon parses and judges the packet
 * against the table in force, so the answer is the one the packet path gives.
 */
static int explain_live(char **w, const struct explain_opt *o)
{
	char req[FWD_CONTROL_MAX + 1], *out = NULL;
	int n, rc, e;

	n = snprintf(req, sizeof(req), "explain %s %s %s%s%s%s%s%s%s\n", w[0], w[1], w[2],
		     o->type ? " type=" : "", o->type ? o->type : "",
		     o->iface ? " in=" : "", o->iface ? o->iface : "",
		     o->member ? " member=" : "", o->member ? o->member : "");
	if (n < 0 || (size_t)n >= sizeof(req)) {
		fprintf(stderr, "fwd explain: request too long\n");
		return 2;
	}
	e = client_request(live_socket, req, &out);
	if (e) {
		client_perror("fwd explain", live_socket, e);
		return 2;
	}
	rc = strncmp(out, "error:", 6) ? 0 : 1;
	fputs(out, rc ? stderr : stdout);
	free(out);
	return rc;
}

/*
 * Split the options off (--in, --member, --live, --socket) and type= after
 * DST from the positional words. Returns -1 on bad usage.
 */
static int explain_opts(int argc, char **argv, struct explain_opt *o, char **pos, int *npos)
{
	*npos = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--in") && i + 1 < argc)
			o->iface = argv[++i];
		else if (!strncmp(argv[i], "--in=", 5))
			o->iface = argv[i] + 5;
		else if (!strcmp(argv[i], "--member") && i + 1 < argc)
			o->member = argv[++i];
		else if (!strncmp(argv[i], "--member=", 9))
			o->member = argv[i] + 9;
		else if (!strcmp(argv[i], "--live"))
			live_socket = live_socket ? live_socket : FWD_SOCKET_DEFAULT;
		else if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			live_socket = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "--"))
			return -1;
		else if (!strncmp(argv[i], "type=", 5) && *npos >= 3 && !o->type)
			o->type = argv[i] + 5;
		else if (*npos < 4)
			pos[(*npos)++] = argv[i];
		else
			return -1;
	}
	return 0;
}

int cmd_explain(int argc, char **argv)
{
	struct explain_opt o = { 0 };
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_diags d;
	char *pos[4];
	int npos, rc;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(explain_help, stdout);
			return 0;
		}
	if (explain_opts(argc, argv, &o, pos, &npos))
		return cmd_usage_error(EXPLAIN_USAGE, "explain", "bad option or too many arguments");
	if (live_socket) {
		if (npos != 3)
			return cmd_usage_error(EXPLAIN_USAGE, "explain", "--live takes PROTO SRC DST");
		return explain_live(pos, &o);
	}
	if (npos != 4 && !(npos == 2 && !strcmp(pos[1], "-")))
		return cmd_usage_error(EXPLAIN_USAGE, "explain", "expected FILE PROTO SRC DST or FILE -");
	if (o.iface && !o.iface[0])
		return cmd_usage_error(EXPLAIN_USAGE, "explain", "--in needs an interface name");
	diags_init(&d, pos[0]);
	rc = cmd_load("explain", pos[0], 0, &d, &c, &rs);
	if (rc) {
		diags_free(&d);
		return rc;
	}
	rc = npos == 2 ? explain_batch(c, rs, &o) : explain_one(c, rs, pos + 1, &o);
	ruleset_free(rs);
	config_free(c);
	diags_free(&d);
	return rc;
}
