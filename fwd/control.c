// SPDX-License-Identifier: MIT
/*
 * control.c - the control socket: the daemon's side (one thread, one request
 * per connection) and the clients `fwd stats` and `fwd reload`.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
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
#include "fwd/rollback.h"

/* ---- growing string ------------------------------------------------------ */

struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3)))
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *s = realloc(b->s, cap);

		if (!s) {
			b->oom = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
}

/* A JSON string body: quotes, backslashes and control bytes escaped. */
static void sb_json_str(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			sb_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			sb_printf(b, "\\u%04x", c);
		else
			sb_printf(b, "%c", c);
	}
}

/* ---- counters ------------------------------------------------------------ */

static const char *action_name(enum fwd_action a)
{
	return a == FWD_ALLOW ? "allow" : a == FWD_FORWARD ? "forward" : a == FWD_REJECT ? "reject" : "drop";
}

void control_totals(struct fwd_state *st, struct fwd_totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < st->nworkers; i++) {
		struct fwd_wstats *s = &st->workers[i].stats;
		uint64_t qd, ud;

		t->dflt_packets += ctr_get(&s->dflt_packets);
		t->dflt_bytes += ctr_get(&s->dflt_bytes);
		t->received += ctr_get(&s->received);
		t->enobufs += ctr_get(&s->enobufs);
		for (unsigned r = 1; r < FWD_PKT_NREASONS; r++)
			t->malformed[r] += ctr_get(&s->malformed[r]);
		queue_proc_drops(st->workers[i].queue, &qd, &ud);
		t->queue_dropped += qd;
		t->user_dropped += ud;
	}
	for (unsigned r = 1; r < FWD_PKT_NREASONS; r++)
		t->malformed_total += t->malformed[r];
	log_stats(&t->log);
}

void control_rule_totals(const struct fwd_live *l, uint32_t i, uint64_t *p, uint64_t *b,
			 uint64_t *last_ms)
{
	*p = l->carry_packets[i];
	*b = l->carry_bytes[i];
	*last_ms = l->carry_last_ms[i];
	for (unsigned w = 0; w < l->nworkers; w++) {
		uint64_t t = ctr_get(&l->ctr[w][i].last_hit_ms);

		*p += ctr_get(&l->ctr[w][i].packets);
		*b += ctr_get(&l->ctr[w][i].bytes);
		if (t > *last_ms)
			*last_ms = t;
	}
}

uint64_t control_unix_time(uint64_t mono_ms)
{
	struct timespec rt, mono;
	uint64_t now_ms;

	if (!mono_ms)
		return 0;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &mono);
	now_ms = (uint64_t)mono.tv_sec * 1000 + (uint64_t)mono.tv_nsec / 1000000;
	if (mono_ms > now_ms)
		mono_ms = now_ms;
	return (uint64_t)rt.tv_sec - (now_ms - mono_ms) / 1000;
}

static void stats_json(struct sbuf *b, struct fwd_state *st, struct fwd_live *l,
		       const struct fwd_totals *t)
{
	const char *sep = "";

	sb_printf(b, "{\"rules\":[");
	for (uint32_t i = 0; i < l->nrules; i++) {
		uint64_t p, by, last;

		control_rule_totals(l, i, &p, &by, &last);
		sb_printf(b, "%s{\"name\":\"", i ? "," : "");
		sb_json_str(b, l->names[i]);
		sb_printf(b, "\",\"action\":\"%s\",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
			  ",\"last_hit\":%" PRIu64 "}", action_name(ruleset_rule(l->rs, i)->action), p,
			  by, control_unix_time(last));
	}
	sb_printf(b, "],\"default\":{\"action\":\"%s\",\"packets\":%" PRIu64 ",\"bytes\":%"
		  PRIu64 "},", action_name(ruleset_default(l->rs)), t->dflt_packets,
		  t->dflt_bytes);
	sb_printf(b, "\"malformed\":{\"total\":%" PRIu64 ",\"reasons\":{", t->malformed_total);
	for (unsigned r = 1; r < FWD_PKT_NREASONS; r++) {
		if (!t->malformed[r])
			continue;
		sb_printf(b, "%s\"%s\":%" PRIu64, sep, packet_reason_name(r), t->malformed[r]);
		sep = ",";
	}
	sb_printf(b, "}},\"queue\":{\"queues\":%u,\"received\":%" PRIu64 ",\"enobufs\":%" PRIu64
		  ",\"queue_dropped\":%" PRIu64 ",\"user_dropped\":%" PRIu64 "},",
		  st->nworkers, t->received, t->enobufs, t->queue_dropped, t->user_dropped);
	sb_printf(b, "\"reloads\":{\"ok\":%" PRIu64 ",\"failed\":%" PRIu64 "},",
		  st->reloads_ok, st->reloads_failed);
	char *dj = dyn_stats_json(l->dyn);	/* fwd/knock.c: sets, knocks, scans */

	if (dj)
		sb_printf(b, "%s,", dj);
	free(dj);
	dj = crowdsec_stats_json(l);	/* fwd/crowdsec.c */
	if (dj)
		sb_printf(b, "%s,", dj);
	free(dj);
	sb_printf(b, "\"log\":{\"written\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"suppressed\":%"
		  PRIu64 "}}\n", t->log.written, t->log.dropped, t->log.suppressed);
}

static void stats_table(struct sbuf *b, struct fwd_state *st, struct fwd_live *l,
			const struct fwd_totals *t)
{
	int w = 7;	/* strlen("default") */

	for (uint32_t i = 0; i < l->nrules; i++)
		if ((int)strlen(l->names[i]) > w)
			w = (int)strlen(l->names[i]);
	sb_printf(b, "%-*s  %-7s  %12s  %14s\n", w, "rule", "action", "packets", "bytes");
	for (uint32_t i = 0; i < l->nrules; i++) {
		uint64_t p, by, last;

		control_rule_totals(l, i, &p, &by, &last);
		sb_printf(b, "%-*s  %-7s  %12" PRIu64 "  %14" PRIu64 "\n", w, l->names[i],
			  action_name(ruleset_rule(l->rs, i)->action), p, by);
	}
	sb_printf(b, "%-*s  %-7s  %12" PRIu64 "  %14" PRIu64 "\n\n", w, "default",
		  action_name(ruleset_default(l->rs)), t->dflt_packets, t->dflt_bytes);
	sb_printf(b, "malformed:  %" PRIu64 "\n", t->malformed_total);
	for (unsigned r = 1; r < FWD_PKT_NREASONS; r++)
		if (t->malformed[r])
			sb_printf(b, "  %-14s %" PRIu64 "\n", packet_reason_name(r), t->malformed[r]);
	sb_printf(b, "queue:      %u queues, received %" PRIu64 ", enobufs %" PRIu64
		  ", queue_dropped %" PRIu64 ", user_dropped %" PRIu64 "\n", st->nworkers,
		  t->received, t->enobufs, t->queue_dropped, t->user_dropped);
	sb_printf(b, "reloads:    ok %" PRIu64 ", failed %" PRIu64 "\n", st->reloads_ok,
		  st->reloads_failed);
	sb_printf(b, "log:        written %" PRIu64 ", dropped %" PRIu64 ", suppressed %" PRIu64
		  "\n", t->log.written, t->log.dropped, t->log.suppressed);
	char *dt = dyn_stats_text(l->dyn);	/* fwd/knock.c */

	if (dt)
		sb_printf(b, "%s", dt);
	free(dt);
	dt = crowdsec_stats_text(l);	/* fwd/crowdsec.c */
	if (dt)
		sb_printf(b, "%s", dt);
	free(dt);
}

char *control_stats(struct fwd_state *st, bool json)
{
	struct sbuf b = { 0 };
	struct fwd_totals t;

	pthread_mutex_lock(&st->lock);
	control_totals(st, &t);
	if (json)
		stats_json(&b, st, st->live, &t);
	else
		stats_table(&b, st, st->live, &t);
	pthread_mutex_unlock(&st->lock);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/*
 * The "top" answer: one record a line, space-separated, names escaped (no
 * spaces), for `fwd top` to parse without a JSON reader.
 */
char *control_top(struct fwd_state *st)
{
	struct sbuf b = { 0 };
	struct fwd_totals t;
	struct fwd_log_top top;
	struct fwd_live *l;
	char name[4 * (FWD_NAME_MAX + 1)], addr[64];

	log_top(&top);
	pthread_mutex_lock(&st->lock);
	control_totals(st, &t);
	l = st->live;
	sb_printf(&b, "queue %u received %" PRIu64 " enobufs %" PRIu64 " queue_dropped %" PRIu64
		  " user_dropped %" PRIu64 "\n", st->nworkers, t.received, t.enobufs,
		  t.queue_dropped, t.user_dropped);
	sb_printf(&b, "default %s %" PRIu64 "\n", action_name(ruleset_default(l->rs)),
		  t.dflt_packets);
	for (uint32_t i = 0; i < l->nrules; i++) {
		uint64_t p, by, last;

		control_rule_totals(l, i, &p, &by, &last);
		log_escape(name, sizeof(name), l->names[i]);
		sb_printf(&b, "rule %s %s %" PRIu64 "\n", name,
			  action_name(ruleset_rule(l->rs, i)->action), p);
	}
	pthread_mutex_unlock(&st->lock);
	for (unsigned i = 0; i < FWD_TOP_N && top.ports[i].count; i++)
		sb_printf(&b, "port %u %u %" PRIu64 " %u\n", top.ports[i].proto, top.ports[i].port,
			  top.ports[i].count, top.ports[i].family);
	for (unsigned i = 0; i < FWD_TOP_N && top.srcs[i].count; i++) {
		log_addr_str(addr, sizeof(addr), top.srcs[i].family, top.srcs[i].addr);
		sb_printf(&b, "src %s %" PRIu64 " %u\n", addr, top.srcs[i].count, top.srcs[i].proto);
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
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

static void write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/*
 * Connections waiting for their request line. The thread never blocks on
 * one client: it reads whatever each has sent (MSG_DONTWAIT) and answers a
 * line once it is complete, so clients that connect and hang, or trickle,
 * cost a slot until their deadline and nothing else.
 */
#define CONN_SLOTS	64
#define CONN_TIMEOUT_MS	2000

struct conn {
	int fd;			/* -1: free */
	uint64_t deadline;	/* CLOCK_MONOTONIC ms */
	size_t len;
	char buf[FWD_CONTROL_MAX + 2];
};

static uint64_t conn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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

static void answer_reload(int fd)
{
	struct fwd_diags d;
	char line[64];
	int n;

	diags_init(&d, C.st->config_path);
	n = live_reload(C.st, &d);
	if (n >= 0) {
		snprintf(line, sizeof(line), "ok: %d rules\n", n);
		write_all(fd, line, strlen(line));
	} else if (d.text && d.len) {
		write_all(fd, d.text, d.len);
	} else {
		write_all(fd, "error: reload failed\n", 21);
	}
	diags_free(&d);
}

/*
 * "explain PROTO SRC DST [in=IFACE]": judge one packet against the table in
 * force and the daemon's real dynamic sets (so no member=). The lock keeps
 * the live state from being replaced meanwhile; the workers never take it.
 */
static void answer_explain(int fd, const char *line)
{
	char ifname[FWD_IFNAMSIZ], err[160], out[320];
	struct fwd_live *l;
	struct fwd_key k;
	uint32_t member;
	int i;

	if (explain_parse(line, NULL, &k, ifname, &member, err, sizeof(err))) {
		snprintf(out, sizeof(out), "error: %s\n", err);
	} else {
		pthread_mutex_lock(&C.st->lock);
		l = C.st->live;
		k.iface = ruleset_iface_class(l->rs, ifname);
		i = dyn_resolve_ctl(l->dyn, l->rs, &k, classify(l->rs, &k), log_now_ms());
		if (i == -ENOMEM)
			snprintf(out, sizeof(out) - 1, "error: out of memory");
		else
			explain_format(l->rs, &k, i, out, sizeof(out) - 1);
		pthread_mutex_unlock(&C.st->lock);
		strcat(out, "\n");
	}
	write_all(fd, out, strlen(out));
}

/*
 * A rollback that cannot be verified (fwd/rollback.c) is answered with an
 * error and logged as a refused request: the log never says that something
 * was rolled back that was not, and nothing is reloaded.
 */
static bool rollback_refused(int fd, const char *prev, const char *esc)
{
	char why[256], out[320];

	if (!rollback_verify(fd, C.st->config_path, prev, why, sizeof(why)))
		return false;
	log_warn("refused a rollback request naming %s: %s", esc, why);
	snprintf(out, sizeof(out), "error: rollback refused: %s\n", why);
	write_all(fd, out, strlen(out));
	return true;
}

/*
 * "rollback SECONDS PREVFILE": the watcher of `fwd apply` (fwd/apply.c) has
 * put PREVFILE back as the rules file because nobody confirmed; say so in
 * the daemon's log, where the operator looks, then reload as "reload" does.
 */
static void answer_rollback(int fd, const char *arg)
{
	char esc[FWD_CONTROL_MAX * 4 + 1];
	unsigned secs;
	int off = 0;

	if (sscanf(arg, "%u %n", &secs, &off) != 1 || !off || !arg[off]) {
		const char *e = "error: expected 'rollback SECONDS PREVFILE'\n";

		write_all(fd, e, strlen(e));
		return;
	}
	log_escape(esc, sizeof(esc), arg + off);
	if (rollback_refused(fd, arg + off, esc))
		return;
	log_warn("apply not confirmed in %us, rolled back to %s", secs, esc);
	answer_reload(fd);
}

/*
 * "confirmed SECONDS LIVEFILE": `fwd confirm` reached the watcher of `fwd
 * apply` in time; the daemon's log says so, as it says a rollback.
 */
static void answer_confirmed(int fd, const char *arg)
{
	char esc[FWD_CONTROL_MAX * 4 + 1];
	unsigned secs;
	int off = 0;

	if (sscanf(arg, "%u %n", &secs, &off) != 1 || !off || !arg[off]) {
		const char *e = "error: expected 'confirmed SECONDS LIVEFILE'\n";

		write_all(fd, e, strlen(e));
		return;
	}
	log_escape(esc, sizeof(esc), arg + off);
	log_info("apply confirmed within %us: %s stays in force", secs, esc);
	write_all(fd, "ok\n", 3);
}

/* Answer REQ on FD; NULL: the client sent no acceptable request. */
static void serve(int fd, const char *req)
{
	struct timeval tv = { .tv_sec = 2 };
	char *out;

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (!req) {
		const char *e = "error: expected one request line of at most 256 bytes\n";

		write_all(fd, e, strlen(e));
		return;
	}
	if (!strcmp(req, "stats") || !strcmp(req, "stats json")) {
		out = control_stats(C.st, req[5] != '\0');
		if (out)
			write_all(fd, out, strlen(out));
		else
			write_all(fd, "error: out of memory\n", 21);
		free(out);
	} else if (!strcmp(req, "top")) {
		out = control_top(C.st);
		if (out)
			write_all(fd, out, strlen(out));
		else
			write_all(fd, "error: out of memory\n", 21);
		free(out);
	} else if (!strcmp(req, "reload")) {
		answer_reload(fd);
	} else if (!strncmp(req, "explain ", 8)) {
		answer_explain(fd, req + 8);
	} else if (!strncmp(req, "rollback ", 9)) {
		answer_rollback(fd, req + 9);
	} else if (!strncmp(req, "confirmed ", 10)) {
		answer_confirmed(fd, req + 10);
	} else if (!strncmp(req, "unblock ", 8)) {
		char ans[128];

		dyn_control_unblock(C.st, req + 8, ans, sizeof(ans));
		write_all(fd, ans, strlen(ans));
	} else {
		char e[FWD_CONTROL_MAX + 64], esc[FWD_CONTROL_MAX * 4 + 1];

		log_escape(esc, sizeof(esc), req);
		snprintf(e, sizeof(e), "error: unknown request '%.200s'\n", esc);
		write_all(fd, e, strlen(e));
	}
}

static void conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
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
}

/* Answer C when its request is complete or its time is up. */
static void conn_step(struct conn *c, uint64_t now, bool readable)
{
	int r = readable ? conn_read(c) : 0;

	if (!r && now < c->deadline)
		return;
	serve(c->fd, r > 0 ? c->buf : NULL);
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
		uint64_t now = conn_now_ms(), next = UINT64_MAX;
		unsigned n = 2;
		int to;

		p[0] = (struct pollfd){ .fd = C.fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = C.wake[0], .events = POLLIN };
		for (unsigned i = 0; i < CONN_SLOTS; i++) {
			/* An unused entry (fd -1) is ignored by poll(). */
			p[n++] = (struct pollfd){ .fd = cs[i].fd, .events = POLLIN | POLLRDHUP };
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
		now = conn_now_ms();
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

int control_sockaddr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
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
	int fd, e = control_sockaddr(&sa, path);

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

/* ---- clients ------------------------------------------------------------- */

/* Send REQ to the daemon at PATH; the answer in *OUT (malloc'd). 0 or -errno. */
int control_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, e = control_sockaddr(&sa, path);

	if (e)
		return e;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

static int request(const char *path, const char *req, char **out)
{
	struct sbuf b = { 0 };
	char buf[4096];
	ssize_t n;
	int fd = control_connect(path);

	if (fd < 0)
		return fd;
	write_all(fd, req, strlen(req));
	shutdown(fd, SHUT_WR);
	sb_printf(&b, "%s", "");
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sb_printf(&b, "%.*s", (int)n, buf);
	close(fd);
	if (b.oom) {
		free(b.s);
		return -ENOMEM;
	}
	*out = b.s;
	return 0;
}

static const struct option client_opts[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Parse [--socket PATH] [--json]; exit code for usage errors, or -1 to go on. */
static int client_args(int argc, char **argv, const char *usage, bool json_ok,
		       const char **path, bool *json)
{
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:h", client_opts, NULL)) != -1) {
		if (c == 's') {
			*path = optarg;
		} else if (c == 'j' && json_ok) {
			*json = true;
		} else if (c == 'h') {
			printf("usage: %s\n", usage);
			return 0;
		} else {
			fprintf(stderr, "usage: %s\n", usage);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "fwd: unexpected argument '%s'; usage: %s\n", argv[optind], usage);
		return 2;
	}
	return -1;
}

int control_request(const char *path, const char *req, char **out)
{
	return request(path, req, out);
}

static int ask(const char *path, const char *req, char **out)
{
	int e = request(path, req, out);

	if (e)
		fprintf(stderr, "fwd: cannot reach the daemon at %s: %s\n", path, strerror(-e));
	return e;
}

int cmd_stats(int argc, char **argv)
{
	const char *path = FWD_SOCKET_DEFAULT;
	bool json = false;
	char *out = NULL;
	int rc = client_args(argc, argv, "fwd stats [--socket PATH] [--json]", true, &path, &json);

	if (rc >= 0)
		return rc;
	if (ask(path, json ? "stats json\n" : "stats\n", &out))
		return 2;
	rc = strncmp(out, "error:", 6) ? 0 : 1;
	fputs(out, rc ? stderr : stdout);
	free(out);
	return rc;
}

int cmd_reload(int argc, char **argv)
{
	const char *path = FWD_SOCKET_DEFAULT;
	bool json = false;
	char *out = NULL;
	int rc = client_args(argc, argv, "fwd reload [--socket PATH]", false, &path, &json);

	if (rc >= 0)
		return rc;
	if (ask(path, "reload\n", &out))
		return 2;
	rc = strncmp(out, "ok:", 3) ? 1 : 0;
	fputs(out, rc ? stderr : stdout);
	free(out);
	return rc;
}
