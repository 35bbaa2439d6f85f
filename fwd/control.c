// SPDX-License-Identifier: MIT
/*
 * control.c - the control socket: the daemon's side (one thread, one request
 * per connection). Its clients are in fwd/client.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fwd/cmd.h"
#include "fwd/control.h"
#include "fwd/crowdsec.h"
#include "fwd/explain.h"
#include "fwd/queue.h"
#include "fwd/reject.h"
#include "fwd/rollback.h"
#include "fwd/stats.h"
#include "fwd/value.h"

static void stats_json(struct fwd_text *b, struct fwd_state *st, struct fwd_live *l,
		       const struct fwd_totals *t)
{
	const char *sep = "";
	uint64_t ep, eb;

	text_printf(b, "{\"rules\":[");
	for (uint32_t i = 0; i < l->nrules; i++) {
		uint64_t p, by, last;

		stats_rule_totals(l, i, &p, &by, &last);
		early_counts(l->early, i, &ep, &eb);	/* dropped in the kernel: fwd/early.c */
		text_printf(b, "%s{\"name\":\"", i ? "," : "");
		text_json_str(b, l->names[i]);
		text_printf(b, "\",\"action\":\"%s\",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
			  ",\"last_hit\":%" PRIu64 ",\"early\":%" PRIu64 "}",
			  action_name(ruleset_rule(l->rs, i)->action), p + ep, by + eb,
			  clock_unix_time(last), ep);
	}
	early_counts(l->early, FWD_EARLY_DEFAULT, &ep, &eb);
	text_printf(b, "],\"default\":{\"action\":\"%s\",\"packets\":%" PRIu64 ",\"bytes\":%"
		  PRIu64 ",\"early\":%" PRIu64 "},", action_name(ruleset_default(l->rs)),
		  t->dflt_packets + ep, t->dflt_bytes + eb, ep);
	text_printf(b, "\"malformed\":{\"total\":%" PRIu64 ",\"reasons\":{", t->malformed_total);
	for (unsigned r = 1; r < FWD_PKT_NREASONS; r++) {
		if (!t->malformed[r])
			continue;
		text_printf(b, "%s\"%s\":%" PRIu64, sep, packet_reason_name(r), t->malformed[r]);
		sep = ",";
	}
	text_printf(b, "}},\"queue\":{\"queues\":%u,\"received\":%" PRIu64 ",\"enobufs\":%" PRIu64
		  ",\"queue_dropped\":%" PRIu64 ",\"user_dropped\":%" PRIu64
		  ",\"bypassed\":%" PRIu64 ",\"shed\":%" PRIu64 ",\"spoofed\":%" PRIu64
		  ",\"gate_rate\":%" PRIu32
		  ",\"unanswered\":%" PRIu64 ",\"looped\":%" PRIu64 ",\"unseen_iface\":%" PRIu64
		  ",\"errors\":%" PRIu64 ",\"rechecked\":%" PRIu64 "},", st->nworkers, t->received,
		  t->enobufs, t->queue_dropped, t->user_dropped, t->bypassed, t->shed, t->spoofed,
		  t->gate_rate, t->unanswered, t->looped, t->unseen_iface, t->errors, t->rechecked);
	text_printf(b, "\"reloads\":{\"ok\":%" PRIu64 ",\"failed\":%" PRIu64 "},",
		  st->reloads_ok, st->reloads_failed);
	text_printf(b, "\"hooks\":{\"restored\":%" PRIu64 "},", st->hooks_restored);
	char *dj = dyn_stats_json(l->dyn);	/* fwd/knock.c: sets, knocks, scans */

	if (dj)
		text_printf(b, "%s,", dj);
	free(dj);
	dj = crowdsec_stats_json(l);	/* fwd/crowdsec.c */
	if (dj)
		text_printf(b, "%s,", dj);
	free(dj);
	text_printf(b, "\"log\":{\"written\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"suppressed\":%"
		  PRIu64 "}}\n", t->log.written, t->log.dropped, t->log.suppressed);
}

/* The table's queue line, then a line for each of its exceptional counters that moved. */
static void stats_queue_lines(struct fwd_text *b, const struct fwd_state *st,
			      const struct fwd_totals *t)
{
	text_printf(b, "queue:      %u queues, received %" PRIu64 ", enobufs %" PRIu64
		  ", queue_dropped %" PRIu64 ", user_dropped %" PRIu64 "\n", st->nworkers,
		  t->received, t->enobufs, t->queue_dropped, t->user_dropped);
	if (st->hooks.fail == FWD_FAIL_OPEN || t->bypassed)
		text_printf(b, "bypassed:   %" PRIu64 " accepted without a verdict (fail: open, "
			    "queue full)\n", t->bypassed);
	if (t->shed || t->gate_rate)
		text_printf(b, "shed:       %" PRIu64 " dropped before the queue at overload (gate %s)\n",
			    t->shed, t->gate_rate ? "closed" : "open");
	if (st->hooks.rpfilter != FWD_RPF_OFF || t->spoofed)
		text_printf(b, "spoofed:    %" PRIu64 " dropped before the queue: no route back to the "
			    "source%s (rpfilter: %s)\n", t->spoofed,
			    st->hooks.rpfilter == FWD_RPF_LOOSE ? "" : " through its interface",
			    rpfilter_names[st->hooks.rpfilter]);
	if (t->unanswered)
		text_printf(b, "unanswered: %" PRIu64 " rejected without an answer (over %u answers/s a "
			    "queue, or not sendable)\n", t->unanswered, FWD_REJECT_RATE);
	if (t->looped)
		text_printf(b, "looped:     %" PRIu64 " came back from a repeat verdict without its "
			    "mark: accepted (see fwd(8) HOOKS)\n", t->looped);
	if (t->unseen_iface)
		text_printf(b, "unseen:     %" PRIu64 " from a link fwd had no name for yet: %s "
			    "(fail: %s)\n", t->unseen_iface,
			    st->hooks.fail == FWD_FAIL_OPEN ? "accepted" : "dropped",
			    fail_names[st->hooks.fail]);
	if (t->errors)
		text_printf(b, "errors:     %" PRIu64 " failed receives, or verdicts not sent or "
			    "refused (their packets wait in the kernel's queue)\n", t->errors);
	if (t->rechecked)
		text_printf(b, "rechecked:  %" PRIu64 " established connections of blocked sources "
			    "queued again (see fwd(8) BLOCKED SOURCES)\n", t->rechecked);
}

static void stats_table(struct fwd_text *b, struct fwd_state *st, struct fwd_live *l,
			const struct fwd_totals *t)
{
	int w = 7;	/* strlen("default") */
	uint64_t ep, eb;

	for (uint32_t i = 0; i < l->nrules; i++)
		if ((int)strlen(l->names[i]) > w)
			w = (int)strlen(l->names[i]);
	text_printf(b, "%-*s  %-7s  %12s  %14s  %12s\n", w, "rule", "action", "packets", "bytes",
		    "early");
	for (uint32_t i = 0; i < l->nrules; i++) {
		uint64_t p, by, last;

		stats_rule_totals(l, i, &p, &by, &last);
		early_counts(l->early, i, &ep, &eb);	/* dropped in the kernel: fwd/early.c */
		text_printf(b, "%-*s  %-7s  %12" PRIu64 "  %14" PRIu64 "  %12" PRIu64 "\n", w,
			  l->names[i], action_name(ruleset_rule(l->rs, i)->action), p + ep, by + eb,
			  ep);
	}
	early_counts(l->early, FWD_EARLY_DEFAULT, &ep, &eb);
	text_printf(b, "%-*s  %-7s  %12" PRIu64 "  %14" PRIu64 "  %12" PRIu64 "\n\n", w,
		  "default", action_name(ruleset_default(l->rs)), t->dflt_packets + ep,
		  t->dflt_bytes + eb, ep);
	text_printf(b, "malformed:  %" PRIu64 "\n", t->malformed_total);
	for (unsigned r = 1; r < FWD_PKT_NREASONS; r++)
		if (t->malformed[r])
			text_printf(b, "  %-14s %" PRIu64 "\n", packet_reason_name(r), t->malformed[r]);
	stats_queue_lines(b, st, t);
	text_printf(b, "reloads:    ok %" PRIu64 ", failed %" PRIu64 "\n", st->reloads_ok,
		  st->reloads_failed);
	if (st->hooks_restored)
		text_printf(b, "hooks:      restored %" PRIu64 " times after another tool took "
			    "them away\n", st->hooks_restored);
	text_printf(b, "log:        written %" PRIu64 ", dropped %" PRIu64 ", suppressed %" PRIu64
		  "\n", t->log.written, t->log.dropped, t->log.suppressed);
	char *dt = dyn_stats_text(l->dyn);	/* fwd/knock.c */

	if (dt)
		text_printf(b, "%s", dt);
	free(dt);
	dt = crowdsec_stats_text(l);	/* fwd/crowdsec.c */
	if (dt)
		text_printf(b, "%s", dt);
	free(dt);
}

char *control_stats(struct fwd_state *st, bool json)
{
	struct fwd_text b = { 0 };
	struct fwd_totals t;

	pthread_mutex_lock(&st->lock);
	stats_totals(st, &t);
	if (!st->no_hooks && early_sample(st->live->early))
		log_warn("stats: cannot read the kernel's counts of %s", FWD_HOOKS_EARLY_CHAIN);
	if (json)
		stats_json(&b, st, st->live, &t);
	else
		stats_table(&b, st, st->live, &t);
	pthread_mutex_unlock(&st->lock);
	return text_take(&b);
}

/*
 * The "top" answer: one record a line, space-separated, names escaped (no
 * spaces), for `fwd top` to parse without a JSON reader. Every rule is in
 * it, and its packets count those FWD-EARLY dropped in the kernel, as
 * `fwd stats` counts them.
 */
char *control_top(struct fwd_state *st)
{
	struct fwd_text b = { 0 };
	struct fwd_totals t;
	struct fwd_log_top top;
	struct fwd_live *l;
	char name[4 * (FWD_NAME_MAX + 1)], addr[64];
	uint64_t ep, eb;

	log_top(&top);
	pthread_mutex_lock(&st->lock);
	stats_totals(st, &t);
	l = st->live;
	if (!st->no_hooks && early_sample(l->early))
		log_warn("top: cannot read the kernel's counts of %s", FWD_HOOKS_EARLY_CHAIN);
	text_printf(&b, "queue %u received %" PRIu64 " enobufs %" PRIu64 " queue_dropped %" PRIu64
		  " user_dropped %" PRIu64 "\n", st->nworkers, t.received, t.enobufs,
		  t.queue_dropped, t.user_dropped);
	early_counts(l->early, FWD_EARLY_DEFAULT, &ep, &eb);
	text_printf(&b, "default %s %" PRIu64 "\n", action_name(ruleset_default(l->rs)),
		  t.dflt_packets + ep);
	for (uint32_t i = 0; i < l->nrules; i++) {
		uint64_t p, by, last;

		stats_rule_totals(l, i, &p, &by, &last);
		early_counts(l->early, i, &ep, &eb);
		log_escape(name, sizeof(name), l->names[i]);
		text_printf(&b, "rule %s %s %" PRIu64 "\n", name,
			  action_name(ruleset_rule(l->rs, i)->action), p + ep);
	}
	pthread_mutex_unlock(&st->lock);
	for (unsigned i = 0; i < FWD_TOP_N && top.ports[i].count; i++)
		text_printf(&b, "port %u %u %" PRIu64 " %u\n", top.ports[i].proto, top.ports[i].port,
			  top.ports[i].count, top.ports[i].family);
	for (unsigned i = 0; i < FWD_TOP_N && top.srcs[i].count; i++) {
		addr_format(addr, sizeof(addr), top.srcs[i].family, top.srcs[i].addr);
		text_printf(&b, "src %s %" PRIu64 " %u\n", addr, top.srcs[i].count, top.srcs[i].proto);
	}
	return text_take(&b);
}

/* ---- server -------------------------------------------------------------- */

static struct {
	struct fwd_state *st;
	int fd;
	int wake[2];		/* written to stop the thread */
	pthread_t thread;
	bool running;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
} C = { .fd = -1, .wake = { -1, -1 } };

/*
 * Connections waiting for their request line, or for their answer to be
 * taken. The thread never blocks on one client: it reads whatever each has
 * sent (MSG_DONTWAIT), answers a line once it is complete into the
 * connection's own buffer, and sends that as the client reads it. A client
 * that connects and hangs, trickles, or never reads its answer costs a slot
 * until its deadline and nothing else; one cut off there finds its answer
 * without the final newline, which `fwd` reports as an error.
 */
#define CONN_SLOTS	64
#define CONN_TIMEOUT_MS	2000	/* to send a request line, and to read the answer */

struct conn {
	int fd;			/* -1: free */
	uint64_t deadline;	/* CLOCK_MONOTONIC ms */
	bool answered;		/* OUT holds the answer: send it, then close */
	struct fwd_text out;
	size_t sent;
	size_t len;
	char buf[FWD_CONTROL_MAX + 2];
};

/* Add LEN bytes of S to C's answer. */
static void reply(struct conn *c, const char *s, size_t len)
{
	text_printf(&c->out, "%.*s", (int)len, s);
}

static void reply_str(struct conn *c, const char *s)
{
	reply(c, s, strlen(s));
}


/*
 * Read what C's peer sent so far: 1 when C->buf holds a whole request line
 * (newline and CR removed), 0 to wait for more, -1 when it is too long or
 * the peer left without one.
 */
static int conn_read(struct conn *c)
{
	size_t cap = sizeof(c->buf);

	while (c->len < cap - 1) {
		ssize_t n = recv(c->fd, c->buf + c->len, cap - 1 - c->len, MSG_DONTWAIT);
		char *nl;

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
		if (n <= 0)
			break;
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			*nl = '\0';
			c->len = (size_t)(nl - c->buf);
			if (c->len && c->buf[c->len - 1] == '\r')
				c->buf[--c->len] = '\0';
			return 1;
		}
	}
	c->buf[c->len] = '\0';
	/* A request without its newline is accepted when the peer shut down. */
	return c->len && c->len < cap - 1 ? 1 : -1;
}

static void answer_reload(struct conn *c)
{
	struct fwd_diags d;
	char line[64];
	int n;

	diags_init(&d, C.st->config_path);
	n = live_reload(C.st, &d);
	if (n >= 0) {
		snprintf(line, sizeof(line), "ok: %d rules\n", n);
		reply_str(c, line);
		if (d.text && d.len)	/* settings that wait for a restart */
			reply(c, d.text, d.len);
	} else if (d.text && d.len) {
		reply(c, d.text, d.len);
	} else {
		reply_str(c, "error: reload failed\n");
	}
	diags_free(&d);
}

/*
 * "explain PROTO SRC DST [in=IFACE]": judge one packet against the table in
 * force and the daemon's real dynamic sets (so no member=). The lock keeps
 * the live state from being replaced meanwhile; the workers never take it.
 */
static void answer_explain(struct conn *c, const char *line)
{
	char ifname[FWD_IFNAMSIZ], err[160], esc[4 * sizeof(err)], out[sizeof(esc) + 16];
	struct fwd_live *l;
	struct fwd_key k;
	uint32_t member;
	int i;

	if (explain_parse(line, NULL, &k, ifname, &member, err, sizeof(err))) {
		diag_escape(esc, sizeof(esc), err);
		snprintf(out, sizeof(out), "error: %s\n", esc);
	} else {
		pthread_mutex_lock(&C.st->lock);
		l = C.st->live;
		k.iface = ruleset_iface_class(l->rs, ifname);
		i = dyn_resolve_ctl(l->dyn, l->rs, &k, classify(l->rs, &k), clock_coarse_ms());
		if (i == -ENOMEM)
			snprintf(out, sizeof(out) - 1, "error: out of memory");
		else
			explain_format(l->rs, &k, i, out, sizeof(out) - 1);
		pthread_mutex_unlock(&C.st->lock);
		strcat(out, "\n");
	}
	reply_str(c, out);
}

/*
 * A rollback or confirmation that cannot be verified (fwd/rollback.c) is
 * answered with an error and logged as a refused request: the log never
 * says that something was rolled back or confirmed that was not, and
 * nothing is reloaded.
 */
static bool apply_refused(struct conn *c, bool rollback, const char *file, const char *esc)
{
	const char *what = rollback ? "rollback" : "confirmation";
	char why[256], out[320];

	if (!(rollback ? rollback_verify : confirm_verify)(c->fd, C.st->config_path, file, why,
							    sizeof(why)))
		return false;
	log_warn("refused a %s request naming %s: %s", what, esc, why);
	snprintf(out, sizeof(out), "error: %s refused: %s\n", what, why);
	reply_str(c, out);
	return true;
}

/*
 * "rollback SECONDS PREVFILE": the watcher of `fwd apply` (fwd/apply.c) has
 * put PREVFILE back as the rules file because nobody confirmed; say so in
 * the daemon's log, where the operator looks, then reload as "reload" does.
 */
static void answer_rollback(struct conn *c, const char *arg)
{
	char esc[FWD_CONTROL_MAX * 4 + 1];
	unsigned secs;
	int off = 0;

	if (sscanf(arg, "%u %n", &secs, &off) != 1 || !off || !arg[off]) {
		const char *e = "error: expected 'rollback SECONDS PREVFILE'\n";

		reply_str(c, e);
		return;
	}
	log_escape(esc, sizeof(esc), arg + off);
	if (apply_refused(c, true, arg + off, esc))
		return;
	log_warn("apply not confirmed in %us, rolled back to %s", secs, esc);
	answer_reload(c);
}

/*
 * "confirmed SECONDS LIVEFILE": `fwd confirm` reached the watcher of `fwd
 * apply` in time; the daemon's log says so, as it says a rollback.
 */
static void answer_confirmed(struct conn *c, const char *arg)
{
	char esc[FWD_CONTROL_MAX * 4 + 1];
	unsigned secs;
	int off = 0;

	if (sscanf(arg, "%u %n", &secs, &off) != 1 || !off || !arg[off]) {
		const char *e = "error: expected 'confirmed SECONDS LIVEFILE'\n";

		reply_str(c, e);
		return;
	}
	log_escape(esc, sizeof(esc), arg + off);
	if (apply_refused(c, false, arg + off, esc))
		return;
	log_info("apply confirmed within %us: %s stays in force", secs, esc);
	reply_str(c, "ok\n");
}

/*
 * "block ADDR[/LEN] SET MS" (SET "-": the one set that blocks; MS 0: the
 * set's timeout): the source joins the set, and its established
 * connections go back to the rules (fwd/recheck.c).
 */
static void answer_block(struct conn *c, const char *args)
{
	char what[72], set[FWD_NAME_MAX + 2], msg[160], ans[256], net[INET6_ADDRSTRLEN];
	unsigned long long ms;
	uint64_t for_ms;
	unsigned plen;
	fwd_u128 a;
	int fam, i;

	if (sscanf(args, "%71s %65s %llu", what, set, &ms) != 3 ||
	    !(fam = prefix_parse(what, &a, &plen)) || plen == 0 || ms > FWD_DYN_TIMEOUT_MAX_MS) {
		log_escape(msg, sizeof(msg), args);
		snprintf(ans, sizeof(ans), "error: expected ADDR[/LEN] SET MS, got '%.100s'\n", msg);
		reply_str(c, ans);
		return;
	}
	for_ms = ms;
	pthread_mutex_lock(&C.st->lock);
	i = dyn_block(C.st->live->dyn, strcmp(set, "-") ? set : NULL, (uint8_t)fam, a, plen,
		      &for_ms, clock_coarse_ms(), msg, sizeof(msg));
	if (i >= 0)
		snprintf(set, sizeof(set), "%s", dyn_set_name(C.st->live->dyn, i));
	pthread_mutex_unlock(&C.st->lock);
	if (i < 0) {
		snprintf(ans, sizeof(ans), "error: %s\n", msg);
		reply_str(c, ans);
		return;
	}
	addr_format(net, sizeof(net), (unsigned)fam, a);
	snprintf(msg, sizeof(msg), "%s/%u in %s for %" PRIu64 " s", net, plen, set,
		 (for_ms + 999) / 1000);
	log_info("block: %s (fwd block)", msg);
	snprintf(ans, sizeof(ans), "ok: %s\n", msg);
	reply_str(c, ans);
}

/* "unblock ADDR": ADDR out of every dynamic set, knock and scan table. */
static void answer_unblock(struct conn *c, const char *addr)
{
	unsigned removed = 0;
	char ans[128], esc[4 * 64 + 1];
	int e;

	pthread_mutex_lock(&C.st->lock);
	e = dyn_unblock(C.st->live->dyn, addr, &removed, clock_coarse_ms());
	pthread_mutex_unlock(&C.st->lock);
	if (e) {
		snprintf(ans, sizeof(ans), "error: invalid address '%.64s'\n", addr);
	} else {
		snprintf(ans, sizeof(ans), "ok: %u entries removed\n", removed);
		/* as a block is: who lifted one shows in the log */
		log_escape(esc, sizeof(esc), addr);
		log_info("unblock: %.64s: %u entries removed (fwd unblock)", esc, removed);
	}
	reply_str(c, ans);
}

/* Answer REQ into C's buffer; NULL: the client sent no acceptable request. */
static void serve(struct conn *c, const char *req)
{
	char *out;

	if (!req) {
		const char *e = "error: expected one request line of at most 256 bytes\n";

		reply_str(c, e);
		return;
	}
	if (!strcmp(req, "stats") || !strcmp(req, "stats json") || !strcmp(req, "top")) {
		out = req[0] == 't' ? control_top(C.st) : control_stats(C.st, req[5] != '\0');
		reply_str(c, out ? out : "error: out of memory\n");
		free(out);
	} else if (!strcmp(req, "reload")) {
		answer_reload(c);
	} else if (!strncmp(req, "explain ", 8)) {
		answer_explain(c, req + 8);
	} else if (!strncmp(req, "rollback ", 9)) {
		answer_rollback(c, req + 9);
	} else if (!strncmp(req, "confirmed ", 10)) {
		answer_confirmed(c, req + 10);
	} else if (!strncmp(req, "unblock ", 8)) {
		answer_unblock(c, req + 8);
	} else if (!strncmp(req, "block ", 6)) {
		answer_block(c, req + 6);
	} else {
		char e[FWD_CONTROL_MAX + 64], esc[FWD_CONTROL_MAX * 4 + 1];

		log_escape(esc, sizeof(esc), req);
		snprintf(e, sizeof(e), "error: unknown request '%.200s'\n", esc);
		reply_str(c, e);
	}
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	free(c->out.s);
	c->out = (struct fwd_text){ 0 };
	c->sent = 0;
	c->answered = false;
}

/* Send what C's peer takes of its answer now; true when all is sent (or lost). */
static bool conn_write(struct conn *c)
{
	while (c->sent < c->out.len) {
		ssize_t n = send(c->fd, c->out.s + c->sent, c->out.len - c->sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno != EAGAIN && errno != EWOULDBLOCK;
		c->sent += (size_t)n;
	}
	return true;
}

/* Take a new connection; when every slot is taken, the oldest one goes. */
static void conn_accept(struct conn *cs, uint64_t now)
{
	struct conn *c = NULL;
	int fd = accept4(C.fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (unsigned i = 0; i < CONN_SLOTS; i++) {
		if (cs[i].fd < 0) {
			c = &cs[i];
			break;
		}
		if (!c || cs[i].deadline < c->deadline)
			c = &cs[i];
	}
	if (c->fd >= 0)
		conn_close(c);
	c->fd = fd;
	c->len = 0;
	c->deadline = now + CONN_TIMEOUT_MS;
	c->answered = false;
}

/*
 * Answer C when its request is complete or its time is up, then send the
 * answer as the peer takes it, until it is all sent or that time is up too.
 * An answer that could not be built (out of memory) is none: the client
 * says so.
 */
static void conn_step(struct conn *c, uint64_t now, bool ready)
{
	if (!c->answered) {
		int r = ready ? conn_read(c) : 0;

		if (!r && now < c->deadline)
			return;
		serve(c, r > 0 ? c->buf : NULL);
		c->answered = true;
		now = clock_mono_ms();
		c->deadline = now + CONN_TIMEOUT_MS;
		ready = true;
	}
	if (c->out.oom || (ready && conn_write(c)) || now >= c->deadline)
		conn_close(c);
}

static void *control_main(void *arg)
{
	static struct conn cs[CONN_SLOTS];
	struct pollfd p[2 + CONN_SLOTS];

	(void)arg;
	pthread_setname_np(pthread_self(), "fwd-ctl");
	for (unsigned i = 0; i < CONN_SLOTS; i++)
		cs[i].fd = -1;
	for (;;) {
		uint64_t now = clock_mono_ms(), next = UINT64_MAX;
		unsigned n = 2;
		int to;

		p[0] = (struct pollfd){ .fd = C.fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = C.wake[0], .events = POLLIN };
		for (unsigned i = 0; i < CONN_SLOTS; i++) {
			/* An unused entry (fd -1) is ignored by poll(). */
			p[n++] = (struct pollfd){ .fd = cs[i].fd,
						  .events = cs[i].answered ? POLLOUT : POLLIN | POLLRDHUP };
			if (cs[i].fd >= 0 && cs[i].deadline < next)
				next = cs[i].deadline;
		}
		to = next == UINT64_MAX ? -1 : next <= now ? 0 : (int)(next - now);
		if (poll(p, n, to) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		now = clock_mono_ms();
		for (unsigned i = 0; i < CONN_SLOTS; i++)
			if (cs[i].fd >= 0)
				conn_step(&cs[i], now, p[2 + i].revents != 0);
		if (p[0].revents)
			conn_accept(cs, now);
	}
	for (unsigned i = 0; i < CONN_SLOTS; i++)
		if (cs[i].fd >= 0)
			conn_close(&cs[i]);
	return NULL;
}

/* 0 when nobody answers on PATH (and a stale file is gone), else -errno. */
static int claim_path(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int e;

	if (fd < 0)
		return -errno;
	e = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (!e)
		return -EADDRINUSE;
	if (errno == ECONNREFUSED)
		unlink(sa->sun_path);
	return 0;
}

static int listen_on(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd, e = client_sockaddr(&sa, path);

	if (!e)
		e = claim_path(&sa);
	if (e == -EADDRINUSE) {
		snprintf(err, errlen, "another fwd is running: it answers on '%s'", path);
		return e;
	}
	if (e) {
		snprintf(err, errlen, "control socket '%s': %s", path, strerror(-e));
		return e;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0660) < 0 || listen(fd, 16) < 0) {
		e = -errno;
		snprintf(err, errlen, "control socket '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return e;
	}
	return fd;
}

int control_serve(void)
{
	int e = -pthread_create(&C.thread, NULL, control_main, NULL);

	if (!e)
		C.running = true;
	return e;
}

int control_start(struct fwd_state *st, const char *path, char *err, size_t errlen)
{
	int e, fd;

	/* systemd's RuntimeDirectory= makes it; by hand, fwd does. */
	if (!strcmp(path, FWD_SOCKET_DEFAULT) && mkdir(FWD_SOCKET_DIR, 0750) < 0 &&
	    errno != EEXIST) {
		snprintf(err, errlen, "cannot make '%s': %s", FWD_SOCKET_DIR, strerror(errno));
		return -errno;
	}
	fd = listen_on(path, err, errlen);

	if (fd < 0)
		return fd;
	if (pipe2(C.wake, O_CLOEXEC) < 0) {
		e = -errno;
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		goto out_close;
	}
	C.st = st;
	C.fd = fd;
	snprintf(C.path, sizeof(C.path), "%s", path);
	return 0;

out_close:
	close(fd);
	unlink(path);
	C.fd = -1;
	return e;
}

void control_stop(void)
{
	if (C.running) {
		if (write(C.wake[1], "x", 1) < 0)
			pthread_cancel(C.thread);
		pthread_join(C.thread, NULL);
		C.running = false;
	}
	if (C.fd >= 0) {
		close(C.fd);
		unlink(C.path);
		C.fd = -1;
	}
	for (int i = 0; i < 2; i++)
		if (C.wake[i] >= 0)
			close(C.wake[i]);
	C.wake[0] = C.wake[1] = -1;
}
