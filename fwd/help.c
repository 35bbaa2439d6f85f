// SPDX-License-Identifier: MIT
/*
 * help.c - `fwd COMMAND --help` for the commands whose option parser only
 * knows a usage line. check, explain, apply and confirm print their own.
 */
#include <stdio.h>
#include <string.h>

#include "fwd/cmd.h"
#include "fwd/control.h"

static const struct {
	const char *cmd, *text;
} helps[] = {
	{ "run",
	  "usage: fwd run [-c FILE] [--foreground] [--queues N] [--queue-num BASE]\n"
	  "               [--socket PATH] [--pidfile PATH] [--state-file PATH]\n"
	  "               [--no-hooks] [--no-seccomp]\n"
	  "\n"
	  "Run the firewall: load FILE (default /etc/fwd/rules.yaml), install the\n"
	  "kernel hooks, judge queued packets until SIGTERM, then remove the hooks.\n"
	  "SIGQUIT stops for a restart: the hooks stay, and until the next fwd the\n"
	  "kernel drops what they queue (fail: open accepts it). SIGHUP reloads FILE\n"
	  "(an invalid file keeps the old rules), SIGUSR1 reopens the log file,\n"
	  "SIGUSR2 writes the stats to the log.\n"
	  "\n"
	  "  -c, --config FILE  the rules file\n"
	  "  --foreground       log to stderr unless the file names a sink (default: syslog)\n"
	  "  --queues N         worker queues, 1..1024 (default: daemon.queues, or one per CPU)\n"
	  "  --queue-num BASE   first NFQUEUE number, 0..65535\n"
	  "  --socket PATH      control socket (default " FWD_SOCKET_DEFAULT ")\n"
	  "  --pidfile PATH     write the process id there\n"
	  "  --state-file PATH  keep the dynamic sets' members there from a stop to the\n"
	  "                     next start (the file is then removed)\n"
	  "  --no-hooks         install no iptables rules; print the ones fwd would install\n"
	  "  --no-seccomp       do not install fwd's system call filter\n"
	  "\n"
	  "Under systemd (Type=notify) fwd reports READY=1, RELOADING=1 and WATCHDOG=1.\n"
	  "Exit status: 0 stopped cleanly, 1 start-up failed, 2 usage error or FILE unreadable.\n" },
	{ "stats",
	  "usage: fwd stats [--socket PATH] [--json]\n"
	  "\n"
	  "Print the running daemon's counters: packets and bytes per rule and for the\n"
	  "default, malformed packets by reason, queue drops, reloads, and the log's\n"
	  "lines written, dropped and suppressed by the rate limit.\n"
	  "\n"
	  "  --socket PATH  the daemon's control socket (default " FWD_SOCKET_DEFAULT ")\n"
	  "  --json         one JSON object instead of the table\n"
	  "\n"
	  "Exit status: 0 ok, 2 usage error or no daemon at PATH.\n" },
	{ "reload",
	  "usage: fwd reload [--socket PATH]\n"
	  "\n"
	  "Have the running daemon reload its rules file and print the outcome. An\n"
	  "invalid file is refused with its diagnostics and the old rules stay.\n"
	  "(`systemctl reload fwd` checks the file, then sends SIGHUP.)\n"
	  "\n"
	  "  --socket PATH  the daemon's control socket (default " FWD_SOCKET_DEFAULT ")\n"
	  "\n"
	  "Exit status: 0 reloaded, 1 refused, 2 usage error or no daemon at PATH.\n" },
	{ "top",
	  "usage: fwd top [--socket PATH] [--once]\n"
	  "\n"
	  "A live view of the running daemon, refreshed every second: rules by packets\n"
	  "per second, and the heaviest dropped destination ports and sources, each\n"
	  "row labelled with its protocol and address family (tcp4, udp6, ...).\n"
	  "q quits.\n"
	  "\n"
	  "  --socket PATH  the daemon's control socket (default " FWD_SOCKET_DEFAULT ")\n"
	  "  --once         print one screen and exit (no terminal needed)\n"
	  "\n"
	  "Exit status: 0 ok, 2 usage error or no daemon at PATH.\n" },
	{ "block",
	  "usage: fwd block [--socket PATH] [--set NAME] [--for DURATION] ADDR[/LEN]\n"
	  "\n"
	  "Put ADDR (an IPv4 or IPv6 address, or a prefix) into a dynamic set that a\n"
	  "drop or reject rule uses, in the running daemon: its new connections are\n"
	  "dropped, and in the stateful mode its established ones go back to the rules\n"
	  "too. The block lasts the set's timeout, or DURATION (30s, 10m, 1h, 1d; at\n"
	  "most 7 days); fwd unblock lifts it. It outlives a restart when fwd runs with\n"
	  "--state-file (as the systemd unit has it).\n"
	  "\n"
	  "  --socket PATH  the daemon's control socket (default " FWD_SOCKET_DEFAULT ")\n"
	  "  --set NAME     the set (needed when several sets block)\n"
	  "  --for DURATION how long, instead of the set's timeout\n"
	  "\n"
	  "Exit status: 0 blocked, 1 refused (no such set, it blocks nothing, several\n"
	  "block, or not an address), 2 usage error or no daemon at PATH.\n" },
	{ "unblock",
	  "usage: fwd unblock [--socket PATH] ADDR\n"
	  "\n"
	  "Remove ADDR (an IPv4 or IPv6 address) from every dynamic set of the running\n"
	  "daemon, e.g. a source the scan detector blocked by mistake.\n"
	  "\n"
	  "  --socket PATH  the daemon's control socket (default " FWD_SOCKET_DEFAULT ")\n"
	  "\n"
	  "Exit status: 0 removed, 1 refused (ADDR in no set, or not an address),\n"
	  "2 usage error or no daemon at PATH.\n" },
	{ "unhook",
	  "usage: fwd unhook\n"
	  "\n"
	  "Remove fwd's chains and jumps from this network namespace, as a clean stop\n"
	  "does, when no fwd is left to do it: after a crash, or after a stop for a\n"
	  "restart (SIGQUIT, systemctl restart) whose start then failed. Until then\n"
	  "the kernel drops what the hooks queue (fail: closed).\n"
	  "\n"
	  "Exit status: 0 removed, 1 refused (a fwd runs in this network namespace:\n"
	  "stop it instead), 2 usage error, not root, or iptables failed.\n" },
	{ "version",
	  "usage: fwd version\n"
	  "\n"
	  "Print fwd's version (also: fwd --version).\n"
	  "\n"
	  "Exit status: 0.\n" },
};

int cmd_help(const char *cmd)
{
	for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
		if (!strcmp(cmd, helps[i].cmd)) {
			fputs(helps[i].text, stdout);
			return 0;
		}
	return -1;
}
