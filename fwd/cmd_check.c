// SPDX-License-Identifier: MIT
/*
 * cmd_check.c - `fwd check` and `fwd explain` (DESIGN.md section 2): the
 * rules file judged without any kernel involvement. Exit codes: 0 ok, 1 an
 * invalid file, packet or failed policy test, 2 usage or I/O error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fwd/cmd.h"
#include "fwd/config.h"
#include "fwd/client.h"
#include "fwd/explain.h"
#include "fwd/icmp.h"
#include "fwd/ruleset.h"

#define CHECK_USAGE	"usage: fwd check [--print] FILE"
#define EXPLAIN_USAGE	"usage: fwd explain [--in IFACE] [--member SET[,SET...]] FILE PROTO SRC DST [type=T] | fwd explain FILE - | fwd explain --live [--socket PATH] PROTO SRC DST [type=T]"

static const char check_help[] =
	CHECK_USAGE "\n"
	"\n"
	"Validate a rules file (- reads standard input): print every problem on stderr as FILE:LINE:COLUMN:\n"
	"error: TEXT (or warning:), run its policy tests, and on success print\n"
	"\"FILE: ok, N rules\" on stdout.\n"
	"\n"
	"  --print  first print the rules as fwd judges them, one per line: sets\n"
	"           expanded, services resolved to ports, ranges normalised (fwd(8))\n"
	"\n"
	"Exit status: 0 valid, 1 invalid or a policy test failed, 2 usage or I/O error.\n";

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

static int usage_error(const char *usage, const char *cmd, const char *why)
{
	fprintf(stderr, "fwd %s: %s; %s (try 'fwd %s --help')\n", cmd, why, usage, cmd);
	return 2;
}

/* Open errors are I/O errors (exit 2), not an invalid file (exit 1). */
/*
 * An unreadable FILE is an I/O error (exit 2), not an invalid one. Opened
 * without blocking and checked to be a regular file, so a FIFO or a device
 * given by mistake is refused instead of hanging the check.
 */
static int readable(const char *cmd, const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	const char *why = NULL;
	struct stat st;

	if (fd < 0) {
		fprintf(stderr, "fwd %s: cannot open '%s': %s\n", cmd, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0)
		why = strerror(errno);
	else if (S_ISDIR(st.st_mode))
		why = "is a directory";
	else if (!S_ISREG(st.st_mode))
		why = "is not a regular file";
	close(fd);
	if (why) {
		fprintf(stderr, "fwd %s: cannot read '%s': %s\n", cmd, path, why);
		return -1;
	}
	return 0;
}

/*
 * Load and compile PATH through ruleset_load() (FLAGS); prints the
 * diagnostics, sorted there. Returns the exit code on failure, else 0.
 */
static int load(const char *cmd, const char *path, unsigned flags, struct fwd_diags *d,
		struct fwd_config **c, struct fwd_ruleset **rs)
{
	int e;

	*c = NULL;
	*rs = NULL;
	if (readable(cmd, path))
		return 2;
	e = ruleset_load(path, flags, d, c, rs);
	if (d->text && d->len)
		fputs(d->text, stderr);
	return e == -ENOMEM ? 2 : e ? 1 : 0;
}

/*
 * `fwd check -`: the rules from standard input, named <stdin> in messages,
 * through the same pipeline as a file; *C and *RS as load() leaves them.
 */
static int load_stdin(struct fwd_diags *d, struct fwd_config **c, struct fwd_ruleset **rs)
{
	char *buf = malloc(FWD_CONFIG_MAX + 1);
	size_t len;
	int e;

	*c = NULL;
	*rs = NULL;
	if (!buf) {
		fprintf(stderr, "fwd check: out of memory\n");
		return 2;
	}
	len = fread(buf, 1, FWD_CONFIG_MAX + 1, stdin);
	if (ferror(stdin) || len > FWD_CONFIG_MAX) {
		fprintf(stderr, "fwd check: <stdin>: %s\n", ferror(stdin) ? strerror(errno) :
			"larger than the largest rules file");
		free(buf);
		return 2;
	}
	e = ruleset_load_text(buf, len, FWD_LOAD_CHECK, d, c, rs);
	free(buf);
	if (d->text && d->len)
		fputs(d->text, stderr);
	return e == -ENOMEM ? 2 : e ? 1 : 0;
}

static int print_rules(const struct fwd_config *c, const struct fwd_ruleset *rs)
{
	char *s = ruleset_print(c, rs);

	if (!s) {
		fprintf(stderr, "fwd check: out of memory\n");
		return -1;
	}
	fputs(s, stdout);
	free(s);
	return 0;
}

int cmd_check(int argc, char **argv)
{
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_diags d;
	bool print = false;
	int rc;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(check_help, stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--print")) {
		print = true;
		argc--;
		argv++;
	}
	for (int i = 1; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "fwd check: unknown option '%s'; %s (try 'fwd check --help')\n",
				argv[i], CHECK_USAGE);
			return 2;
		}
	if (argc != 2)
		return usage_error(CHECK_USAGE, "check", argc < 2 ? "missing FILE" : "too many arguments");
	if (!strcmp(argv[1], "-")) {
		diags_init(&d, "<stdin>");
		rc = load_stdin(&d, &c, &rs);
	} else {
		diags_init(&d, argv[1]);
		rc = load("check", argv[1], FWD_LOAD_CHECK, &d, &c, &rs);
	}
	diags_free(&d);
	if (rc)
		return rc;
	if (print && print_rules(c, rs)) {
		ruleset_free(rs);
		config_free(c);
		return 2;
	}
	printf("%s: ok, %u rule%s", strcmp(argv[1], "-") ? argv[1] : "<stdin>", c->nrules, c->nrules == 1 ? "" : "s");
	if (c->ntests)
		printf(", %u test%s passed", c->ntests, c->ntests == 1 ? "" : "s");
	printf("\n");
	ruleset_free(rs);
	config_free(c);
	return 0;
}

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

/* Split the options off: --in IFACE, --in=IFACE, --help. Returns -1 on bad usage. */
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
		return usage_error(EXPLAIN_USAGE, "explain", "bad option or too many arguments");
	if (live_socket) {
		if (npos != 3)
			return usage_error(EXPLAIN_USAGE, "explain", "--live takes PROTO SRC DST");
		return explain_live(pos, &o);
	}
	if (npos != 4 && !(npos == 2 && !strcmp(pos[1], "-")))
		return usage_error(EXPLAIN_USAGE, "explain", "expected FILE PROTO SRC DST or FILE -");
	if (o.iface && !o.iface[0])
		return usage_error(EXPLAIN_USAGE, "explain", "--in needs an interface name");
	diags_init(&d, pos[0]);
	rc = load("explain", pos[0], 0, &d, &c, &rs);
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
