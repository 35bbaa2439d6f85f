// SPDX-License-Identifier: MIT
/*
 * main.c - the map of the program: one table of subcommands, each in a file
 * of its own.
 */
#include <stdio.h>
#include <string.h>

#include "fwd/cmd.h"

#ifndef FWD_VERSION
#define FWD_VERSION "0.1.0"
#endif

static int cmd_version(int argc, char **argv);

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
} subcommands[] = {
	{ "run", cmd_run, "run [-c FILE] [--foreground] [--queues N] [--queue-num BASE] [--socket PATH] [--pidfile PATH] [--state-file PATH] [--no-hooks] [--no-seccomp]" },
	{ "check", cmd_check, "check FILE" },
	{ "explain", cmd_explain, "explain [--in IFACE] [--member SETS] FILE PROTO SRC DST | explain FILE - | explain --live PROTO SRC DST" },
	{ "stats", cmd_stats, "stats [--socket PATH] [--json]" },
	{ "reload", cmd_reload, "reload [--socket PATH]" },
	{ "top", cmd_top, "top [--socket PATH] [--once]" },
	{ "block", cmd_block, "block [--socket PATH] [--set NAME] [--for DURATION] ADDR[/LEN]" },
	{ "unblock", cmd_unblock, "unblock [--socket PATH] ADDR" },
	{ "apply", cmd_apply, "apply [--socket PATH] [-c LIVEFILE] NEWFILE [--confirm DURATION]" },
	{ "confirm", cmd_confirm, "confirm [--socket PATH]" },
	{ "unhook", cmd_unhook, "unhook" },
	{ "version", cmd_version, "version" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: fwd COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  fwd %s\n", subcommands[i].usage);
	fprintf(f, "\nEvery command takes --help.\n");
}

static int cmd_version(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: fwd version\n");
		return 2;
	}
	printf("fwd %s\n", FWD_VERSION);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version"))
		return cmd_version(1, argv + 1);
	if (argc == 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) &&
	    !cmd_help(argv[1]))
		return 0;
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "fwd: unknown command '%s'; try 'fwd --help'\n", argv[1]);
	return 2;
}
