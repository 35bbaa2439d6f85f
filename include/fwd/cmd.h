/* SPDX-License-Identifier: MIT */
/*
 * cmd.h - the subcommands of the fwd binary. Each takes argc/argv with
 * argv[0] being the subcommand's name and returns the process exit code:
 * 0 ok, 1 a negative answer (invalid file, failed test), 2 usage or I/O error.
 */
#ifndef FWD_CMD_H
#define FWD_CMD_H

int cmd_check(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_block(int argc, char **argv);	/* fwd/client.c */
int cmd_unblock(int argc, char **argv);	/* fwd/client.c */
int cmd_apply(int argc, char **argv);	/* fwd/apply.c */
int cmd_confirm(int argc, char **argv);	/* fwd/apply.c */
int cmd_unhook(int argc, char **argv);	/* fwd/unhook.c */
/* Print CMD's --help (fwd/help.c) and return 0; -1 when CMD prints its own. */
int cmd_help(const char *cmd);

/* Shared by check and explain (fwd/cmd_check.c). */
struct fwd_diags;
struct fwd_config;
struct fwd_ruleset;
/* "fwd CMD: WHY; USAGE (try 'fwd CMD --help')" on stderr; returns 2. */
int cmd_usage_error(const char *usage, const char *cmd, const char *why);
/*
 * Load and compile PATH through ruleset_load() (FLAGS), after checking it is
 * a readable regular file; prints the diagnostics, sorted there. Returns the
 * exit code on failure (2: I/O or memory, 1: invalid), else 0.
 */
int cmd_load(const char *cmd, const char *path, unsigned flags, struct fwd_diags *d,
	     struct fwd_config **c, struct fwd_ruleset **rs);

#endif
