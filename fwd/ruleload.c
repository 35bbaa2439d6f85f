// SPDX-License-Identifier: MIT
/*
 * ruleload.c - the one load pipeline (include/fwd/ruleset.h): read and
 * check a rules file, compile it, and with FWD_LOAD_CHECK find the shadowed
 * rules and run the policy tests. `fwd check`, `fwd apply`, `fwd run` and
 * a reload all come here, so they print one file's messages alike: the
 * diagnostics sorted once, by line.
 */
#include <errno.h>

#include "fwd/explain.h"
#include "fwd/gateway.h"
#include "fwd/ruleset.h"

/* Compile C (NULL: it did not load) and check it as FLAGS say; the common tail. */
static int finish(struct fwd_config *c, unsigned flags, struct fwd_diags *d,
		  struct fwd_config **cp, struct fwd_ruleset **rsp)
{
	struct fwd_ruleset *rs = c ? ruleset_compile(c) : NULL;
	int e = 0;

	*cp = NULL;
	*rsp = NULL;
	if (c && !rs) {
		diag_error(d, (struct fwd_pos){ 0, 0 }, "cannot compile the rules: out of memory");
		e = -ENOMEM;
	} else if (!c) {
		e = -EINVAL;
	} else if (flags & FWD_LOAD_CHECK) {
		ruleset_shadows(rs, c, d);
		if (explain_run_tests(c, rs, d))
			e = -EINVAL;
		gateway_nd_check(c, rs, d);
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
	return finish(config_load(path, d), flags, d, cp, rsp);
}

int ruleset_load_text(const char *buf, size_t len, unsigned flags, struct fwd_diags *d,
		      struct fwd_config **cp, struct fwd_ruleset **rsp)
{
	return finish(config_parse(buf, len, d), flags, d, cp, rsp);
}
