// SPDX-License-Identifier: MIT
/*
 * metrics.c - Prometheus text exposition of fwd's counters
 * (include/fwd/metrics.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fwd/control.h"
#include "fwd/crowdsec.h"
#include "fwd/metrics.h"
#include "fwd/stats.h"
#include "fwd/value.h"
#include "fwd/wfile.h"

size_t metrics_label_escape(char *out, size_t outlen, const char *in)
{
	size_t o = 0;

	for (; *in; in++) {
		char c = *in, esc = c == '\\' ? '\\' : c == '"' ? '"' : c == '\n' ? 'n' : 0;

		if (esc) {
			if (o + 2 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = esc;
		} else {
			if (o + 1 >= outlen)
				break;
			out[o++] = c;
		}
	}
	out[o] = '\0';
	return o;
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The three per-rule families, each with its HELP/TYPE once. */
static void rule_metrics(FILE *f, const struct fwd_live *l)
{
	static const char *const names[] = {
		"fwd_rule_packets_total", "fwd_rule_bytes_total", "fwd_rule_last_hit_seconds",
	};
	static const char *const types[] = { "counter", "counter", "gauge" };
	static const char *const helps[] = {
		"Packets judged by the rule.", "Bytes of the packets judged by the rule.",
		"Unix time of the rule's last packet; 0 for never.",
	};
	char rule[4 * (FWD_NAME_MAX + 1)];

	for (int m = 0; m < 3; m++) {
		head(f, names[m], types[m], helps[m]);
		for (uint32_t i = 0; i < l->nrules; i++) {
			uint64_t p, b, last, v, ep, eb;

			stats_rule_totals(l, i, &p, &b, &last);
			early_counts(l->early, i, &ep, &eb);	/* fwd/early.c */
			v = m == 0 ? p + ep : m == 1 ? b + eb : clock_unix_time(last);
			metrics_label_escape(rule, sizeof(rule), l->names[i]);
			fprintf(f, "%s{rule=\"%s\",action=\"%s\"} %" PRIu64 "\n", names[m], rule,
				action_name(ruleset_rule(l->rs, i)->action), v);
		}
	}
}

/* The drops of each rule (and the default) fwd's hooks made before the queue. */
static void early_metrics(FILE *f, const struct fwd_live *l)
{
	char rule[4 * (FWD_NAME_MAX + 1)];
	const struct fwd_early *e = l->early;

	head(f, "fwd_early_dropped_packets_total", "counter",
	     "Packets fwd's hooks dropped before the queue, by rule (counted in the rule's too).");
	for (uint32_t i = 0; e && i < e->nwho; i++) {
		const struct fwd_early_who *w = &e->who[i];

		metrics_label_escape(rule, sizeof(rule), w->rule == FWD_EARLY_DEFAULT ? "default" :
				     w->name);
		fprintf(f, "fwd_early_dropped_packets_total{rule=\"%s\"} %" PRIu64 "\n", rule,
			w->carry_packets + w->now_packets);
	}
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	head(f, name, "counter", help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

static void other_metrics(FILE *f, const struct fwd_state *st, const struct fwd_live *l,
			  const struct fwd_totals *t)
{
	uint64_t ep, eb;

	early_counts(l->early, FWD_EARLY_DEFAULT, &ep, &eb);
	head(f, "fwd_default_packets_total", "counter", "Packets no rule matched.");
	fprintf(f, "fwd_default_packets_total{action=\"%s\"} %" PRIu64 "\n",
		action_name(ruleset_default(l->rs)), t->dflt_packets + ep);
	head(f, "fwd_default_bytes_total", "counter", "Bytes of the packets no rule matched.");
	fprintf(f, "fwd_default_bytes_total{action=\"%s\"} %" PRIu64 "\n",
		action_name(ruleset_default(l->rs)), t->dflt_bytes + eb);
	head(f, "fwd_malformed_total", "counter", "Packets fwd could not parse, by reason.");
	for (unsigned r = 1; r < FWD_PKT_NREASONS; r++)
		fprintf(f, "fwd_malformed_total{reason=\"%s\"} %" PRIu64 "\n",
			packet_reason_name(r), t->malformed[r]);
	counter(f, "fwd_queue_received_total", "Packets received from the queues.", t->received);
	counter(f, "fwd_queue_enobufs_total", "Receive buffer overruns (ENOBUFS).", t->enobufs);
	counter(f, "fwd_queue_dropped_total", "Packets the kernel dropped: queue full.",
		t->queue_dropped);
	counter(f, "fwd_user_dropped_total", "Packets the kernel dropped: socket buffer full.",
		t->user_dropped);
	counter(f, "fwd_bypassed_total",
		"Packets the kernel accepted without a verdict (fail: open, queue full).",
		t->bypassed);
	counter(f, "fwd_shed_total",
		"Packets dropped before the queue while it overflowed (the overload gate).",
		t->shed);
	counter(f, "fwd_spoofed_total",
		"New packets dropped before the queue whose source does not route back "
		"(daemon: rpfilter).",
		t->spoofed);
	counter(f, "fwd_rechecked_connections_total",
		"Established connections of sources that joined a blocking set, queued again.",
		t->rechecked);
	counter(f, "fwd_reject_unanswered_total",
		"Packets rejected without an answer: over the answers a queue sends a second, "
		"or the answer not sendable.",
		t->unanswered);
	counter(f, "fwd_repeat_looped_total",
		"Packets back from a repeat verdict without its mark bit: accepted.",
		t->looped);
	counter(f, "fwd_unseen_iface_total",
		"Packets from a link fwd had no name for yet: judged as fail: says.",
		t->unseen_iface);
	counter(f, "fwd_queue_errors_total",
		"Failed receives, and verdicts not sent or refused by the kernel.", t->errors);
	head(f, "fwd_gate_rate", "gauge",
	     "Packets per second the overload gate lets into the queue; 0: open.");
	fprintf(f, "fwd_gate_rate %" PRIu32 "\n", t->gate_rate);
	head(f, "fwd_reloads_total", "counter", "Rule reloads, by result.");
	fprintf(f, "fwd_reloads_total{result=\"ok\"} %" PRIu64 "\n", st->reloads_ok);
	fprintf(f, "fwd_reloads_total{result=\"failed\"} %" PRIu64 "\n", st->reloads_failed);
	counter(f, "fwd_hooks_restored_total",
		"Times fwd put its kernel hooks back after another tool took them away.",
		st->hooks_restored);
	counter(f, "fwd_log_events_written_total", "Log lines written for packet events.",
		t->log.written);
	counter(f, "fwd_log_events_dropped_total", "Log events dropped by a full ring.",
		t->log.dropped);
	counter(f, "fwd_log_events_suppressed_total", "Log events suppressed by the rate limit.",
		t->log.suppressed);
	head(f, "fwd_rules", "gauge", "Rules in the running table.");
	fprintf(f, "fwd_rules %" PRIu32 "\n", l->nrules);
	head(f, "fwd_queues", "gauge", "Queues fwd serves.");
	fprintf(f, "fwd_queues %u\n", st->nworkers);
}

char *metrics_render(struct fwd_state *st)
{
	struct fwd_totals t;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	bool bad;

	if (!f)
		return NULL;
	pthread_mutex_lock(&st->lock);
	stats_totals(st, &t);
	if (!st->no_hooks)
		early_sample(st->live->early);
	rule_metrics(f, st->live);
	early_metrics(f, st->live);
	other_metrics(f, st, st->live, &t);
	crowdsec_metrics(f, st->live);
	pthread_mutex_unlock(&st->lock);
	bad = ferror(f);
	if (fclose(f) || bad) {
		free(text);
		return NULL;
	}
	return text;
}

int metrics_write(struct fwd_state *st, const char *path)
{
	char *text = metrics_render(st);
	int e;

	if (!text)
		return -ENOMEM;
	e = file_replace(path, text, strlen(text), FWD_METRICS_FILE_MODE, false);
	free(text);
	return e;
}
