// SPDX-License-Identifier: MIT
/* Placeholders for the daemon's commands until run.c and control.c land. */
#include <stdio.h>

#include "fwd/cmd.h"

static int not_yet(const char *name)
{
	fprintf(stderr, "fwd %s: not built yet\n", name);
	return 2;
}

int cmd_run(int argc, char **argv) { (void)argc; (void)argv; return not_yet("run"); }
int cmd_stats(int argc, char **argv) { (void)argc; (void)argv; return not_yet("stats"); }
int cmd_reload(int argc, char **argv) { (void)argc; (void)argv; return not_yet("reload"); }
int cmd_check(int argc, char **argv) { (void)argc; (void)argv; return not_yet("check"); }
int cmd_explain(int argc, char **argv) { (void)argc; (void)argv; return not_yet("explain"); }
