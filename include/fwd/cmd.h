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

#endif
