// SPDX-License-Identifier: MIT
/*
 * bridged.c - the bridge rules that let switched frames by fwd's hooks,
 * and the note that says when they would matter (include/fwd/bridged.h).
 * Off the packet path: called when hooks are installed or removed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fwd/bridged.h"
#include "fwd/config.h"
#include "fwd/iptsave.h"
#include "fwd/log.h"

#define BRIDGED_MAX_DEL	16	/* copies of one rule deleted before giving up */
#define MARK_TEXT	"0x80000000"

_Static_assert(FWD_BRIDGED_MARK == 0x80000000u, "MARK_TEXT spells FWD_BRIDGED_MARK");

static struct {
	bool known;	/* a call has taken every copy out since start */
	bool in;	/* and this process put them in since */
} B;

#define RULE_ARGS	16

/* fwd's two rules differ only in the frames' protocol. */
static const char *const protos[] = { "IPv4", "IPv6" };
#define NPROTOS		(sizeof(protos) / sizeof(protos[0]))

/* ARGV: TOOL OP (-I, -D) of the rule for frames of PROTO (IPv4, IPv6), NULL-ended. */
static void rule_argv(const char *argv[RULE_ARGS], const char *tool, const char *op,
		      const char *proto)
{
	const char *a[RULE_ARGS] = { tool, "-t", "nat", op, "PREROUTING", "-p", proto,
				     "--pkttype-type", "otherhost", "-j", "mark", "--mark-or",
				     MARK_TEXT, "--mark-target", "CONTINUE", NULL };

	memcpy(argv, a, sizeof(a));
}

static int rule_op(const char *tool, const char *op, const char *proto)
{
	const char *argv[RULE_ARGS];

	rule_argv(argv, tool, op, proto);
	/* posix_spawn takes char *const[] and never writes to it */
	return ipt_run((char *const *)(uintptr_t)argv, -1, -1, true);
}

void bridged_print(FILE *f)
{
	const char *argv[RULE_ARGS];

	fprintf(f, "# ebtables-nft (daemon: bridged: pass)\n");
	for (size_t p = 0; p < NPROTOS; p++) {
		rule_argv(argv, "", "-I", protos[p]);
		for (size_t i = 1; argv[i]; i++)
			fprintf(f, "%s%s", argv[i], argv[i + 1] ? " " : "\n");
	}
}

static bool tool(char *path, size_t len)
{
	return ipt_tool_path("ebtables-nft", path, len) || ipt_tool_path("ebtables", path, len);
}

int bridged_apply(bool pass)
{
	char path[64];
	int r = 0;

	if (!pass && B.known && !B.in)
		return 0;
	if (!tool(path, sizeof(path))) {
		if (pass)
			log_warn("hooks: bridged: pass needs ebtables-nft (Debian's iptables "
				 "package) in /usr/sbin or /sbin; frames bridges switch go to "
				 "the rules");
		return pass ? -ENOENT : 0;
	}
	for (size_t p = 0; p < NPROTOS; p++)
		for (int i = 0; i < BRIDGED_MAX_DEL && rule_op(path, "-D", protos[p]) == 0; i++)
			;
	B.known = true;
	B.in = false;
	for (size_t p = 0; pass && p < NPROTOS && !r; p++) {
		r = rule_op(path, "-I", protos[p]);
		if (r > 0)
			r = -EIO;
	}
	if (r < 0) {
		log_warn("hooks: bridged: pass: %s -t nat -I PREROUTING failed (%s); frames "
			 "bridges switch go to the rules", path, strerror(-r));
		for (size_t p = 0; p < NPROTOS; p++)
			rule_op(path, "-D", protos[p]);
		return r;
	}
	B.in = pass;
	return 0;
}

int bridged_missing(char *what, size_t len)
{
	char path[64];

	if (!B.in || !tool(path, sizeof(path)))
		return 0;
	for (size_t p = 0; p < NPROTOS; p++) {
		if (rule_op(path, "--check", protos[p]) != 1)
			continue;	/* there, or ebtables failed (not a finding) */
		snprintf(what, len, "ebtables -t nat: fwd's rule of PREROUTING that marks "
			 "%s frames for other hosts is gone", protos[p]);
		return 1;
	}
	return 0;
}

/* Does the sysctl-like file PATH read "1"? */
static bool reads_one(const char *path)
{
	char c = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	if (fread(&c, 1, 1, f) != 1)
		c = 0;
	fclose(f);
	return c == '1';
}

/* Does br_netfilter hand bridge NAME's frames to iptables or ip6tables? */
static bool hands_over(const char *name, bool all4, bool all6)
{
	char path[320];

	if (all4 || all6)
		return true;
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge/nf_call_iptables", name);
	if (reads_one(path))
		return true;
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge/nf_call_ip6tables", name);
	return reads_one(path);
}

void bridged_note(bool pass, const char *when)
{
	enum { SHOWN = 8 };
	char names[SHOWN * 4 * 16 + 32] = "", path[320], esc[4 * 256];
	size_t n = 0, pos = 0;
	bool all4, all6;
	struct dirent *e;
	DIR *d;

	if (pass || access("/proc/sys/net/bridge", F_OK))
		return;		/* no br_netfilter: bridges keep their frames */
	all4 = reads_one("/proc/sys/net/bridge/bridge-nf-call-iptables");
	all6 = reads_one("/proc/sys/net/bridge/bridge-nf-call-ip6tables");
	d = opendir("/sys/class/net");
	if (!d)
		return;
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", e->d_name);
		if (e->d_name[0] == '.' || access(path, F_OK) || !hands_over(e->d_name, all4, all6))
			continue;
		if (n++ >= SHOWN || pos >= sizeof(names))
			continue;
		diag_escape(esc, sizeof(esc), e->d_name);
		pos += (size_t)snprintf(names + pos, sizeof(names) - pos, "%s%s", pos ? ", " : "",
					esc);
	}
	closedir(d);
	if (!n)
		return;
	if (n > SHOWN)
		snprintf(names + pos, sizeof(names) - pos, " and %zu more", n - SHOWN);
	log_info("%s: br_netfilter hands the frames that bridge%s %s switch%s between "
		 "%s ports to iptables, so the rules judge traffic between hosts of one "
		 "bridge too; daemon: {bridged: pass} lets it by", when, n > 1 ? "s" : "",
		 names, n > 1 ? "" : "es", n > 1 ? "their" : "its");
}
