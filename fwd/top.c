// SPDX-License-Identifier: MIT
/*
 * top.c - `fwd top`: a live view of the running daemon, redrawn every
 * second from its "top" control request (include/fwd/control.h): verdicts
 * per second, the busiest rules, the top dropped ports and sources, queue
 * health. 'q', Ctrl-C or Ctrl-\ quits; --once draws one frame (two samples
 * a second apart) and exits.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fwd/cmd.h"
#include "fwd/client.h"
#include "fwd/config.h"
#include "fwd/icmp.h"
#include "fwd/value.h"

#define TOP_SHOWN	10

/* A rule of a sample; its name and action point into the sample's text. */
struct top_rule {
	const char *name, *action;
	uint64_t packets;
	double rate;
};

/*
 * One answer to "top", parsed. Every rule of the table is in it, however
 * many (100,000 rules: a few MB of text), so the busiest can be found.
 */
struct sample {
	uint64_t received, enobufs, queue_dropped, user_dropped, dflt;
	unsigned queues;
	char *text;			/* the answer; rules[] point into it */
	struct top_rule *rules;
	size_t nrules, cap;
	char talkers[2][TOP_SHOWN][96];		/* ports, sources */
	unsigned ntalkers[2];
	double t;
};

/* The protocol's name, "ip" for one fwd has no name for. */
static const char *top_proto(unsigned p)
{
	const char *n = proto_name(p);

	return n ? n : "ip";
}

/* "rule NAME ACTION PACKETS", split in place: false when LINE is not one. */
static bool parse_rule(struct sample *s, char *line)
{
	char *save = NULL, *name, *action, *n, *end;
	struct top_rule *r;

	if (strncmp(line, "rule ", 5))
		return false;
	name = strtok_r(line + 5, " ", &save);
	action = strtok_r(NULL, " ", &save);
	n = strtok_r(NULL, " ", &save);
	if (!name || !action || !n)
		return false;
	if (s->nrules == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct top_rule *v = realloc(s->rules, cap * sizeof(*v));

		if (!v)
			return true;	/* the rules so far still show */
		s->rules = v;
		s->cap = cap;
	}
	r = &s->rules[s->nrules];
	r->name = name;
	r->action = action;
	r->packets = strtoull(n, &end, 10);
	r->rate = 0;
	s->nrules += !*end;
	return true;
}

static void parse_line(struct sample *s, char *line)
{
	char dflt[8], addr[64];
	unsigned proto, port, family = 0;
	uint8_t it, ic;
	uint64_t n;

	if (sscanf(line, "queue %u received %" SCNu64 " enobufs %" SCNu64 " queue_dropped %"
		   SCNu64 " user_dropped %" SCNu64, &s->queues, &s->received, &s->enobufs,
		   &s->queue_dropped, &s->user_dropped) == 5)
		return;
	if (sscanf(line, "default %7s %" SCNu64, dflt, &s->dflt) == 2)
		return;
	if (parse_rule(s, line))
		return;
	if (s->ntalkers[0] < TOP_SHOWN &&
	    sscanf(line, "port %u %u %" SCNu64 " %u", &proto, &port, &n, &family) >= 3) {
		/* one row per protocol and family: label both ("udp6/53") */
		char label[40];

		if (icmp_of_key(port, &it, &ic))	/* ICMP: type and code (fwd/icmp.h) */
			snprintf(label, sizeof(label), "%s type=%u code=%u",
				 port >= FWD_ICMP6_BASE ? "icmpv6" : "icmp", it, ic);
		else if (family == 4 || family == 6)
			snprintf(label, sizeof(label), "%s%u/%u", top_proto(proto), family, port);
		else
			snprintf(label, sizeof(label), "%s/%u", top_proto(proto), port);
		snprintf(s->talkers[0][s->ntalkers[0]++], 96, "%-12s %12" PRIu64, label, n);
		return;
	}
	proto = 256;
	if (s->ntalkers[1] < TOP_SHOWN &&
	    sscanf(line, "src %63s %" SCNu64 " %u", addr, &n, &proto) >= 2)
		/* one row per protocol: the address shows the family */
		snprintf(s->talkers[1][s->ntalkers[1]++], 96, "%-39s %-4s %12" PRIu64, addr,
			 proto < 256 ? top_proto(proto) : "", n);
}

static int take(const char *path, struct sample *s)
{
	char *out = NULL, *line, *save = NULL;
	int e = client_request(path, "top\n", &out);
	struct top_rule *rules = s->rules;
	size_t cap = s->cap;

	if (e) {
		client_perror("fwd", path, e);
		return -1;
	}
	if (!strncmp(out, "error:", 6)) {
		fprintf(stderr, "fwd: the daemon at %s: %s", path, out);
		free(out);
		return -1;
	}
	free(s->text);
	memset(s, 0, sizeof(*s));
	s->rules = rules;	/* kept for the next answer */
	s->cap = cap;
	s->text = out;
	s->t = (double)clock_mono_us() / 1e6;
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		parse_line(s, line);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct top_rule *)a)->name, ((const struct top_rule *)b)->name);
}

static int by_rate(const void *a, const void *b)
{
	const struct top_rule *x = a, *y = b;

	if (x->rate != y->rate)
		return x->rate < y->rate ? 1 : -1;
	return x->packets < y->packets ? 1 : x->packets > y->packets ? -1 : 0;
}

/*
 * Rates of CUR against PREV, rules matched by name (a reload may reorder
 * them); PREV is sorted by name for it. A count lower than before (a rule
 * the reload left out and brought back) gives no rate.
 */
static void rates(struct sample *cur, struct sample *prev)
{
	double dt = cur->t - prev->t > 0.001 ? cur->t - prev->t : 0.001;

	qsort(prev->rules, prev->nrules, sizeof(prev->rules[0]), by_name);
	for (size_t i = 0; i < cur->nrules; i++) {
		struct top_rule *r = &cur->rules[i];
		const struct top_rule *p = bsearch(r, prev->rules, prev->nrules,
						   sizeof(prev->rules[0]), by_name);

		if (p && r->packets >= p->packets)
			r->rate = (double)(r->packets - p->packets) / dt;
	}
	qsort(cur->rules, cur->nrules, sizeof(cur->rules[0]), by_rate);
}

static void draw(FILE *f, const struct sample *cur, const struct sample *prev, bool clear)
{
	double dt = cur->t - prev->t > 0.001 ? cur->t - prev->t : 0.001;
	double vps = cur->received >= prev->received ?
		     (double)(cur->received - prev->received) / dt : 0;

	if (clear)
		fputs("\033[H\033[2J", f);
	fprintf(f, "fwd top - %.0f verdicts/s   (q quits)\n\n", vps);
	fprintf(f, "queue: %u queues, received %" PRIu64 ", enobufs %" PRIu64
		", queue_dropped %" PRIu64 ", user_dropped %" PRIu64 "\n\n", cur->queues,
		cur->received, cur->enobufs, cur->queue_dropped, cur->user_dropped);
	fprintf(f, "%-32s %-8s %12s %14s\n", "RULE", "ACTION", "PKTS/S", "PACKETS");
	for (size_t i = 0; i < cur->nrules && i < TOP_SHOWN; i++)
		fprintf(f, "%-32.32s %-8s %12.0f %14" PRIu64 "\n", cur->rules[i].name,
			cur->rules[i].action, cur->rules[i].rate, cur->rules[i].packets);
	fprintf(f, "%-32s %-8s %12s %14" PRIu64 "\n", "(default)", "", "", cur->dflt);
	fprintf(f, "\nTOP DROPPED PORTS (logged)          TOP DROPPED SOURCES (logged)\n");
	for (unsigned i = 0; i < TOP_SHOWN; i++) {
		if (i >= cur->ntalkers[0] && i >= cur->ntalkers[1])
			break;
		fprintf(f, "%-35s %s\n", i < cur->ntalkers[0] ? cur->talkers[0][i] : "",
			i < cur->ntalkers[1] ? cur->talkers[1][i] : "");
	}
	fflush(f);
}

/*
 * The view runs with the terminal raw, which it must restore however it
 * ends: ISIG is off, so ^C and ^\ come as keys and quit like 'q', and
 * SIGINT or SIGTERM from elsewhere only set top_stop, which ends the loop
 * (poll() returns EINTR) where the terminal is put back.
 */
#define KEY_CTRL_C	0x03
#define KEY_CTRL_BS	0x1c

static volatile sig_atomic_t top_stop;

static void top_on_signal(int sig)
{
	(void)sig;
	top_stop = 1;
}

static void top_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = top_on_signal };	/* no SA_RESTART */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Wait up to MS for a key; true when it was a quitting one, or a signal came. */
static bool quit_key(int ms)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	char c;

	if (top_stop || poll(&p, 1, ms) <= 0)
		return top_stop;
	if (read(0, &c, 1) != 1)
		return top_stop;
	return c == 'q' || c == 'Q' || c == KEY_CTRL_C || c == KEY_CTRL_BS;
}

static const struct option top_opts[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "once", no_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int cmd_top(int argc, char **argv)
{
	static const char usage[] = "fwd top [--socket PATH] [--once]";
	static struct sample a, b;
	struct sample *prev = &a, *cur = &b, *t;
	const char *path = FWD_SOCKET_DEFAULT;
	struct termios old, raw;
	bool once = false, tty;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:h", top_opts, NULL)) != -1) {
		if (c == 's') {
			path = optarg;
		} else if (c == 'o') {
			once = true;
		} else {
			fprintf(c == 'h' ? stdout : stderr, "usage: %s\n", usage);
			return c == 'h' ? 0 : 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "fwd: unexpected argument '%s'; usage: %s\n", argv[optind], usage);
		return 2;
	}
	if (take(path, prev))
		return 2;
	if (once) {
		sleep(1);
		if (take(path, cur))
			return 2;
		rates(cur, prev);
		draw(stdout, cur, prev, false);
		return 0;
	}
	tty = isatty(0) && !tcgetattr(0, &old);
	if (tty) {
		raw = old;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG);
		top_catch_signals();
		tcsetattr(0, TCSANOW, &raw);
	}
	while (!quit_key(1000)) {
		if (take(path, cur))
			break;
		rates(cur, prev);
		draw(stdout, cur, prev, true);
		t = prev;
		prev = cur;
		cur = t;
	}
	if (tty)
		tcsetattr(0, TCSANOW, &old);
	return 0;
}
