// SPDX-License-Identifier: MIT
/*
 * cmd_check.c - `fwd check` (DESIGN.md section 2): the rules file judged
 * without any kernel involvement, and the loading the offline commands
 * share (cmd.h). Exit codes: 0 ok, 1 an invalid file or failed policy test,
 * 2 usage or I/O error.
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
#include "fwd/ruleset.h"

#define CHECK_USAGE	"usage: fwd check [--print] FILE"

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

int cmd_usage_error(const char *usage, const char *cmd, const char *why)
{
	fprintf(stderr, "fwd %s: %s; %s (try 'fwd %s --help')\n", cmd, why, usage, cmd);
	return 2;
}

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

int cmd_load(const char *cmd, const char *path, unsigned flags, struct fwd_diags *d,
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
 * through the same pipeline as a file; *C and *RS as cmd_load() leaves them.
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
		return cmd_usage_error(CHECK_USAGE, "check", argc < 2 ? "missing FILE" : "too many arguments");
	if (!strcmp(argv[1], "-")) {
		diags_init(&d, "<stdin>");
		rc = load_stdin(&d, &c, &rs);
	} else {
		diags_init(&d, argv[1]);
		rc = cmd_load("check", argv[1], FWD_LOAD_CHECK, &d, &c, &rs);
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
