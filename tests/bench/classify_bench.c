// SPDX-License-Identifier: MIT
/*
 * classify_bench.c - lookups per second of classify() and of the linear
 * oracle for 10 / 100 / 1,000 / 10,000 realistic rules, compile time and
 * table memory. Prints a markdown table and writes it to argv[1].
 *
 * Rules are mostly tcp/udp with a dport or a small range, half with a src
 * CIDR, some IPv6, some `in:`, some negations, loaded through
 * config_parse(). Packets are drawn from the rules' own values (and some at
 * random), 64K distinct keys walked in order, so many hit rules and the
 * caches see a realistic spread; every result is summed into a volatile.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fwd/ruleset.h"
#include "benchgen.h"
#include "oracle.h"

#define NPKT 65536

static struct fwd_config *make_rules(int n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct fwd_diags d;
	struct fwd_config *c;

	if (!f)
		abort();
	fputs("version: 1\ndefault: drop\nrules:\n", f);
	for (int i = 0; i < n; i++)
		bench_put_rule(f, i);
	if (fclose(f))
		abort();
	diags_init(&d, "bench");
	c = config_parse(text, len, &d);
	if (!c) {
		fprintf(stderr, "bench ruleset rejected:\n%s", d.text ? d.text : "");
		exit(1);
	}
	diags_free(&d);
	free(text);
	return c;
}

static const char *const ifnames[] = { "eth0", "eth1", "wan0", "lo" };

/* A packet aimed at a random rule, or (1 in 4) anywhere. */
static void make_packet(const struct fwd_config *c, const struct fwd_ruleset *rs,
			struct fwd_key *k, const char **ifname)
{
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
	*ifname = ifnames[bench_below(4)];
	k->iface = ruleset_iface_class(rs, *ifname);
}

static volatile long sink;

static double rate_classify(const struct fwd_ruleset *rs, const struct fwd_key *keys, long n)
{
	double t0 = bench_now();
	long s = 0;

	for (long i = 0; i < n; i++)
		s += classify(rs, &keys[i & (NPKT - 1)]);
	sink += s;
	return (double)n / (bench_now() - t0);
}

static double rate_oracle(const struct fwd_config *c, const struct fwd_key *keys,
			  const char *const *ifn, long n)
{
	double t0 = bench_now();
	long s = 0;

	for (long i = 0; i < n; i++)
		s += oracle_classify(c, &keys[i & (NPKT - 1)], ifn[i & (NPKT - 1)]);
	sink += s;
	return (double)n / (bench_now() - t0);
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * The host's speed drifts, in steps of a second or less, so the classify()
 * rates of all sizes are taken close together: each round measures the
 * sizes in order and then in reverse (a linear drift reaches every size
 * alike), and a size's rate in that round is the mean of its two. The
 * ratio of two sizes is also taken within each round, and its median over
 * the rounds reported beside the ratio of the medians. The oracle, a
 * thousand times slower at 10,000 rules, is measured in rounds of its own.
 */
#define ROUNDS		21
#define OROUNDS		5
#define LOOKUPS		(8L * NPKT)

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), dcmp);
	return v[n / 2];
}

/* One table size: its rules, table, packets, and each round's rates. */
struct row {
	int nrules;
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_key *keys;
	const char **ifn;
	double rc[ROUNDS], ro[OROUNDS];
	double cls, orc, compile_ms, hit;
	size_t mem;
};

static void setup_row(struct row *row, int nrules)
{
	double t0;
	long hits = 0;

	row->nrules = nrules;
	row->c = make_rules(nrules);
	t0 = bench_now();
	row->rs = ruleset_compile(row->c);
	row->compile_ms = (bench_now() - t0) * 1e3;
	row->keys = calloc(NPKT, sizeof(*row->keys));
	row->ifn = calloc(NPKT, sizeof(*row->ifn));
	if (!row->rs || !row->keys || !row->ifn)
		abort();
	for (int i = 0; i < NPKT; i++) {
		make_packet(row->c, row->rs, &row->keys[i], &row->ifn[i]);
		hits += classify(row->rs, &row->keys[i]) >= 0;
	}
	row->mem = ruleset_memory(row->rs);
	row->hit = 100.0 * (double)hits / NPKT;
}

/* Round R of classify() over all N rows: there and back (see ROUNDS). */
static void measure_round(struct row *rows, int n, int r)
{
	for (int i = 0; i < n; i++)
		rows[i].rc[r] = rate_classify(rows[i].rs, rows[i].keys, LOOKUPS) / 2;
	for (int i = n - 1; i >= 0; i--)
		rows[i].rc[r] += rate_classify(rows[i].rs, rows[i].keys, LOOKUPS) / 2;
}

static void measure_oracle(struct row *row, int r)
{
	row->ro[r] = rate_oracle(row->c, row->keys, row->ifn,
				 row->nrules >= 1000 ? NPKT / 4 : 4L * NPKT);
}

/* The median over the rounds of row A's rate over row B's in the same round. */
static double paired_ratio(const struct row *a, const struct row *b)
{
	double q[ROUNDS];

	for (int r = 0; r < ROUNDS; r++)
		q[r] = a->rc[r] / b->rc[r];
	return median(q, ROUNDS);
}

static void finish_row(struct row *row)
{
	double rc[ROUNDS];

	memcpy(rc, row->rc, sizeof(rc));
	row->cls = median(rc, ROUNDS);
	row->orc = median(row->ro, OROUNDS);
}

static void free_row(struct row *row)
{
	ruleset_free(row->rs);
	config_free(row->c);
	free(row->keys);
	free(row->ifn);
}

static void print_table(FILE *f, const struct row *rows, int n, double paired)
{
	fprintf(f, "| rules | classify lookups/s | oracle lookups/s | speed-up | packets hitting a rule "
		   "| compile ms | table memory |\n");
	fprintf(f, "|------:|-------------------:|-----------------:|---------:|------:|-----------:"
		   "|-------------:|\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "| %d | %.1f M | %.2f M | %.0fx | %.0f%% | %.1f | %.2f MiB |\n",
			rows[i].nrules, rows[i].cls / 1e6, rows[i].orc / 1e6,
			rows[i].cls / rows[i].orc, rows[i].hit, rows[i].compile_ms,
			(double)rows[i].mem / (1 << 20));
	fprintf(f, "\nclassify(): medians of %d rounds, each measuring every size on its way there "
		   "and back; oracle: medians of %d.\n%d rules / %d rules: %.2fx paired (median of "
		   "the rounds' own ratios), %.2fx of the medians\n(target >= 0.50x).\n",
		ROUNDS, OROUNDS, rows[n - 1].nrules, rows[0].nrules, paired,
		rows[n - 1].cls / rows[0].cls);
}

int main(int argc, char **argv)
{
	static const int sizes[] = { 10, 100, 1000, 10000 };
	struct row rows[4];
	double paired;
	FILE *f;

	for (int i = 0; i < 4; i++)
		setup_row(&rows[i], sizes[i]);
	for (int r = 0; r < ROUNDS; r++)
		measure_round(rows, 4, r);
	for (int r = 0; r < OROUNDS; r++)
		for (int i = 0; i < 4; i++)
			measure_oracle(&rows[i], r);
	paired = paired_ratio(&rows[3], &rows[0]);
	for (int i = 0; i < 4; i++) {
		finish_row(&rows[i]);
		free_row(&rows[i]);
	}
	print_table(stdout, rows, 4, paired);
	if (argc > 1) {
		f = fopen(argv[1], "w");
		if (!f) {
			perror(argv[1]);
			return 1;
		}
		print_table(f, rows, 4, paired);
		fclose(f);
	}
	return 0;
}
