// SPDX-License-Identifier: MIT
/*
 * scale_bench.c - fwd at the sizes of big rule sets and blocklists:
 * 100,000 rules of classify_bench's kind, and one rule using a set of
 * 1,000,000 IPv4 and IPv6 prefixes read from a file. For each: the wall
 * time and peak RSS of `fwd check` on the file (a process of its own,
 * measured by wait4()), the compile time and table memory in this process,
 * and classify() lookups per second (median of ROUNDS). Prints a markdown
 * table and writes it to argv[1]; argv[2] is the fwd binary (default: the
 * fwd beside this program's directory, build/fwd). For
 * tests/bench/reload_mem.sh: `scale_bench --rules PATH` only writes the
 * 100,000-rule file to PATH, `scale_bench --table PATH` prints the memory of
 * PATH's compiled table in MiB.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "fwd/ruleset.h"
#include "benchgen.h"

#define NPKT	65536
#define ROUNDS	9
#define LOOKUPS	(16L * NPKT)
#define NRULES	100000
#define NPREFIX	1000000

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static FILE *create(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(1);
	}
	return f;
}

static void write_rules(const char *path)
{
	FILE *f = create(path);

	fprintf(f, "version: 1\ndefault: drop\nrules:\n");
	for (int i = 0; i < NRULES; i++)
		bench_put_rule(f, i);
	fclose(f);
}

/* 70% IPv4 prefixes of /16 to /32, 30% IPv6 /32 to /64, as a .netset. */
static void write_set(const char *dir)
{
	static const int len4[] = { 32, 32, 32, 24, 24, 22, 20, 16 };
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/drop.netset", dir);
	f = create(path);
	fprintf(f, "# %d prefixes, FireHOL style; ; comments as in Spamhaus DROP\n", NPREFIX);
	for (int i = 0; i < NPREFIX; i++) {
		if (bench_below(10) < 7) {
			int l = len4[bench_below(8)];
			uint32_t a = (bench_below(1u << 16) << 16 | bench_below(1u << 16)) &
				     (l == 32 ? ~0u : ~((1u << (32 - l)) - 1));

			fprintf(f, "%u.%u.%u.%u/%d\n", a >> 24, a >> 16 & 255, a >> 8 & 255,
				a & 255, l);
		} else {
			fprintf(f, "2001:%x:%x::/48 ; SBL%d\n", bench_below(65536), bench_below(65536), i);
		}
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/set.yaml", dir);
	f = create(path);
	fprintf(f, "version: 1\ndefault: allow\nsets:\n  drop-list: {file: drop.netset}\n"
		   "rules:\n  - name: blocklist\n    src: $drop-list\n    action: drop\n"
		   "  - name: ssh\n    proto: tcp\n    dport: 22\n    action: allow\n");
	fclose(f);
}

/* `fwd check PATH` in a process of its own: its wall time and peak RSS. */
static void time_check(const char *fwd, const char *path, double *secs, double *wall,
		       double *mib)
{
	struct rusage ru;
	double t0 = bench_now();
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(fwd, fwd, "check", path, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "scale_bench: %s check %s failed\n", fwd, path);
		exit(1);
	}
	*wall = bench_now() - t0;
	*secs = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
		(double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
	*mib = (double)ru.ru_maxrss / 1024;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static volatile long sink;

static double rate(const struct fwd_ruleset *rs, const struct fwd_key *keys)
{
	double r[ROUNDS];

	for (int i = 0; i < ROUNDS; i++) {
		double t0 = cpu_now();
		long s = 0;

		for (long n = 0; n < LOOKUPS; n++)
			s += classify(rs, &keys[n & (NPKT - 1)]);
		sink += s;
		r[i] = (double)LOOKUPS / (cpu_now() - t0);
	}
	qsort(r, ROUNDS, sizeof(*r), dcmp);
	return r[ROUNDS / 2];
}

/* Packets aimed at rules, as classify_bench.c's make_packet(), or anywhere. */
static void rule_packet(const struct fwd_config *c, const struct fwd_ruleset *rs,
			struct fwd_key *k)
{
	static const char *const ifnames[] = { "eth0", "eth1", "wan0", "lo" };
	const struct fwd_rule *r = &c->rules[bench_below(c->nrules)];
	bool aim = bench_below(4);

	memset(k, 0, sizeof(*k));
	k->family = (r->present & FWD_F_SRC) && r->src.n6 && !r->src.n4 ? 6 : 4;
	k->proto = aim ? (r->protos[0] & 0x40 ? 6 : 17) : (bench_below(2) ? 6 : 17);
	k->sport = 1024 + bench_below(60000);
	k->dport = aim ? r->dport.r[0].lo + bench_below(r->dport.r[0].hi - r->dport.r[0].lo + 1)
		       : bench_below(65536);
	if (k->family == 4)
		k->src = aim && r->src.n4 ? r->src.v4[0].lo + bench_below(256) : 0x0a000000u + bench_below(1u << 24);
	else
		k->src = r->src.n6 ? r->src.v6[0].lo + bench_below(1000) : 0;
	k->dst = k->family == 4 ? 0xc0a80000u + bench_below(65536) : (fwd_u128)0x20010db8u << 96;
	k->iface = ruleset_iface_class(rs, ifnames[bench_below(4)]);
}

/* Half from the set's own ranges, half anywhere; 70% IPv4. */
static void set_packet(const struct fwd_config *c, struct fwd_key *k)
{
	const struct fwd_addrset *s = &c->rules[0].src;

	memset(k, 0, sizeof(*k));
	k->proto = bench_below(2) ? 6 : 17;
	k->sport = 1024 + bench_below(60000);
	k->dport = bench_below(2) ? 22 : bench_below(65536);
	k->family = bench_below(10) < 7 ? 4 : 6;
	if (k->family == 4)
		k->src = bench_below(2) ? s->v4[bench_below(s->n4)].lo : (fwd_u128)(bench_below(1u << 16) << 16 |
									bench_below(1u << 16));
	else
		k->src = bench_below(2) ? s->v6[bench_below(s->n6)].lo + bench_below(1000)
				  : (fwd_u128)0x2001u << 112 | (fwd_u128)bench_below(1u << 31) << 80;
	k->dst = k->family == 4 ? 0xc0a80001u : (fwd_u128)0x20010db8u << 96;
}

struct result {
	const char *what;
	double check_s, check_wall, check_mib, compile_ms, mem_mib, rate, hit;
	double t_s, t_mib, t_rate;		/* targets */
};

static void measure(const char *fwd, const char *path, bool set, struct result *res)
{
	struct fwd_diags d;
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_key *keys = calloc(NPKT, sizeof(*keys));
	long hits = 0;
	double t0;

	time_check(fwd, path, &res->check_s, &res->check_wall, &res->check_mib);
	diags_init(&d, path);
	c = config_load(path, &d);
	t0 = cpu_now();
	rs = c ? ruleset_compile(c) : NULL;
	res->compile_ms = (cpu_now() - t0) * 1e3;
	if (!rs || !keys) {
		fprintf(stderr, "scale_bench: %s rejected:\n%s", path, d.text ? d.text : "");
		exit(1);
	}
	for (int i = 0; i < NPKT; i++) {
		if (set)
			set_packet(c, &keys[i]);
		else
			rule_packet(c, rs, &keys[i]);
		hits += classify(rs, &keys[i]) == 0;
	}
	res->hit = 100.0 * (double)hits / NPKT;
	res->mem_mib = (double)ruleset_memory(rs) / (1 << 20);
	res->rate = rate(rs, keys);
	ruleset_free(rs);
	config_free(c);
	diags_free(&d);
	free(keys);
}

static void print_table(FILE *f, const struct result *r, int n)
{
	fprintf(f, "| table | `fwd check` CPU (wall) | its peak RSS | compile (in process) "
		   "| table memory | classify lookups/s | targets |\n");
	fprintf(f, "|-------|----------:|----------:|----------:|----------:|----------:|--------|\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "| %s | %.2f s (%.2f s) | %.0f MiB | %.0f ms | %.1f MiB | %.1f M | "
			   "< %.0f s, < %.0f MiB, >= %.0f M/s: %s |\n",
			r[i].what, r[i].check_s, r[i].check_wall, r[i].check_mib, r[i].compile_ms,
			r[i].mem_mib,
			r[i].rate / 1e6, r[i].t_s, r[i].t_mib, r[i].t_rate / 1e6,
			r[i].check_s < r[i].t_s && r[i].check_mib < r[i].t_mib &&
			r[i].rate >= r[i].t_rate ? "met" : "MISSED");
	fprintf(f, "\nTimes are CPU time (user + system for `fwd check`, this thread's for compile "
		   "and lookups), so that a shared host's other load does not count; wall time in "
		   "brackets.\nlookups/s: median of %d rounds of %ld lookups over %d keys; the "
		   "blocklist's keys are half from its own prefixes (%.0f%% hit it).\n",
		ROUNDS, LOOKUPS, NPKT, r[n - 1].hit);
}

static int print_table_memory(const char *path)
{
	struct fwd_diags d;
	struct fwd_config *c;
	struct fwd_ruleset *rs;

	diags_init(&d, path);
	c = config_load(path, &d);
	rs = c ? ruleset_compile(c) : NULL;
	if (!rs) {
		fprintf(stderr, "scale_bench: %s rejected:\n%s", path, d.text ? d.text : "");
		return 1;
	}
	printf("%.1f\n", (double)ruleset_memory(rs) / (1 << 20));
	ruleset_free(rs);
	config_free(c);
	diags_free(&d);
	return 0;
}

int main(int argc, char **argv)
{
	struct result res[2] = {
		{ .what = "100,000 rules", .t_s = 2, .t_mib = 256, .t_rate = 15e6 },
		{ .what = "1,000,000-prefix set file, one rule", .t_s = 2, .t_mib = 128,
		  .t_rate = 20e6 },
	};
	char dir[] = "/tmp/fwd-scale.XXXXXX", path[600], fwd[600];
	FILE *f;

	if (argc == 3 && !strcmp(argv[1], "--rules")) {
		write_rules(argv[2]);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--table"))
		return print_table_memory(argv[2]);
	if (argc > 2) {
		snprintf(fwd, sizeof(fwd), "%s", argv[2]);
	} else {
		const char *slash = strrchr(argv[0], '/');

		snprintf(fwd, sizeof(fwd), "%.*s/../fwd", slash ? (int)(slash - argv[0]) : 1,
			 slash ? argv[0] : ".");
	}
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/rules.yaml", dir);
	write_rules(path);
	measure(fwd, path, false, &res[0]);
	write_set(dir);
	snprintf(path, sizeof(path), "%s/set.yaml", dir);
	measure(fwd, path, true, &res[1]);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (getenv("SCALE_KEEP"))
		fprintf(stderr, "scale_bench: files kept in %s\n", dir);
	else if (system(path))
		fprintf(stderr, "scale_bench: could not remove %s\n", dir);
	print_table(stdout, res, 2);
	if (argc > 1) {
		f = fopen(argv[1], "w");
		if (!f) {
			perror(argv[1]);
			return 1;
		}
		print_table(f, res, 2);
		fclose(f);
	}
	return 0;
}
