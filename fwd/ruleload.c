// SPDX-License-Identifier: MIT
/*
 * ruleload.c - the one load pipeline (include/fwd/ruleset.h): read and
 * check a rules file, compile it, and with FWD_LOAD_CHECK find the shadowed
 * rules and run the policy tests (the daemon: the tests alone, so that a
 * file whose tests fail is refused). `fwd check`, `fwd apply`, `fwd run` and
 * a reload all come here, so they print one file's messages alike: the
 * diagnostics sorted once, by line.
 */
#include <errno.h>
#include <stdio.h>

#include "fwd/explain.h"
#include "fwd/gateway.h"
#include "fwd/ruleset.h"

/* Say that the warnings and test results of a file with errors are of part of it. */
static void note_left_out(const struct fwd_config *c, struct fwd_diags *d)
{
	char r[32] = "", t[32] = "";

	if (c->left_rules)
		snprintf(r, sizeof(r), "%u rule%s", c->left_rules, c->left_rules == 1 ? "" : "s");
	if (c->left_tests)
		snprintf(t, sizeof(t), "%u test%s", c->left_tests, c->left_tests == 1 ? "" : "s");
	if (r[0] || t[0])
		diag_note(d, (struct fwd_pos){ 0, 0 },
			  "%s%s%s with errors (or that name such a rule) %s left out of the shadow analysis and the policy tests",
			  r, r[0] && t[0] ? " and " : "", t,
			  c->left_rules + c->left_tests == 1 ? "was" : "were");
}

/*
 * Why the compile failed, from its errno: a file past the classifier's
 * 65535 classes of a field is invalid as it stands (-EINVAL, `fwd check`
 * exits 1); anything else is out of memory.
 */
static int compile_failed(struct fwd_diags *d)
{
	if (errno == ENOSPC) {
		diag_error(d, (struct fwd_pos){ 0, 0 },
			   "cannot compile the rules: more than 65535 distinct port classes (sets "
			   "of rules that match the same source or destination ports) or "
			   "interface classes; merge rules that differ only in their ports into "
			   "one rule with a list of ports, or use fewer distinct port ranges");
		return -EINVAL;
	}
	diag_error(d, (struct fwd_pos){ 0, 0 }, "cannot compile the rules: out of memory");
	return -ENOMEM;
}

#define LOAD_LEAN	(1u << 31)	/* ruleset_load_lean()'s compile: finish()'s flag alone */

/*
 * Compile C and check it as FLAGS say; the common tail. C is NULL when the
 * file did not load; BAD when it loaded only in part (config_load_partial():
 * `fwd check` still runs the shadow analysis and the tests on what loaded,
 * and then fails).
 */
static int finish(struct fwd_config *c, bool bad, unsigned flags, struct fwd_diags *d,
		  struct fwd_config **cp, struct fwd_ruleset **rsp)
{
	struct fwd_ruleset *rs = !c ? NULL : flags & LOAD_LEAN ? ruleset_compile_lean(c)
							      : ruleset_compile(c);
	int e = bad ? -EINVAL : 0;

	*cp = NULL;
	*rsp = NULL;
	if (c && !rs) {
		e = compile_failed(d);
	} else if (!c) {
		e = -EINVAL;
	} else if (flags & FWD_LOAD_CHECK) {
		unsigned n = ruleset_shadows(rs, c, d), failed = explain_run_tests(c, rs, d);

		if (failed)
			e = -EINVAL;
		gateway_nd_check(c, rs, d);
		if (n || failed)
			note_left_out(c, d);
	} else if (flags & FWD_LOAD_TESTS && explain_run_tests(c, rs, d)) {
		e = -EINVAL;
	}
	diags_sort(d);
	if (e) {
		ruleset_free(rs);
		config_free(c);
		return e;
	}
	*cp = c;
	*rsp = rs;
	return 0;
}

int ruleset_load(const char *path, unsigned flags, struct fwd_diags *d,
		 struct fwd_config **cp, struct fwd_ruleset **rsp)
{
	unsigned before = d->errors;
	struct fwd_config *c = flags & FWD_LOAD_CHECK ? config_load_partial(path, d)
						      : config_load(path, d);

	return finish(c, d->errors != before, flags, d, cp, rsp);
}

int ruleset_load_text(const char *buf, size_t len, unsigned flags, struct fwd_diags *d,
		      struct fwd_config **cp, struct fwd_ruleset **rsp)
{
	unsigned before = d->errors;
	struct fwd_config *c = flags & FWD_LOAD_CHECK ? config_parse_partial(buf, len, d)
						      : config_parse(buf, len, d);

	return finish(c, d->errors != before, flags, d, cp, rsp);
}

int ruleset_load_lean(const char *path, struct fwd_diags *d,
		      int (*prep)(const struct fwd_config *c, void *arg), void *arg,
		      struct fwd_config **cp, struct fwd_ruleset **rsp)
{
	unsigned before = d->errors;
	struct fwd_config *c = config_load(path, d);

	if (c && prep(c, arg)) {
		diag_error(d, (struct fwd_pos){ 0, 0 }, "out of memory");
		config_free(c);
		c = NULL;
	}
	return finish(c, d->errors != before, LOAD_LEAN | FWD_LOAD_TESTS, d, cp, rsp);
}
