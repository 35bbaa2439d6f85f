// SPDX-License-Identifier: MIT
/*
 * log.c - the log sink: synchronous daemon messages, and the asynchronous
 * pipeline for packet events (per-worker SPSC rings drained by one logger
 * thread). The packet path only ever calls ring_push() and bucket_take(),
 * which neither lock, allocate nor make a syscall.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "fwd/icmp.h"
#include "fwd/log.h"
#include "fwd/packet.h"
#include "fwd/value.h"

/* ---- ring ---------------------------------------------------------------- */

int ring_init(struct fwd_ring *r, uint32_t capacity)
{
	if (capacity < 2 || (capacity & (capacity - 1)))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->ev = calloc(capacity, sizeof(*r->ev));
	if (!r->ev)
		return -ENOMEM;
	r->mask = capacity - 1;
	return 0;
}

void ring_free(struct fwd_ring *r)
{
	free(r->ev);
	r->ev = NULL;
}

bool ring_push(struct fwd_ring *r, const struct fwd_log_event *ev)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (head - tail > r->mask) {
		uint64_t d = atomic_load_explicit(&r->dropped, memory_order_relaxed);

		atomic_store_explicit(&r->dropped, d + 1, memory_order_relaxed);
		return false;
	}
	r->ev[head & r->mask] = *ev;
	/* Release: the consumer that sees the new head sees the event too. */
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
	return true;
}

bool ring_pop(struct fwd_ring *r, struct fwd_log_event *ev)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t n;

	if (tail == head)
		return false;
	*ev = r->ev[tail & r->mask];
	/* Release: the producer may reuse the slot only after we copied it. */
	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
	n = atomic_load_explicit(&r->popped, memory_order_relaxed);
	atomic_store_explicit(&r->popped, n + 1, memory_order_relaxed);
	return true;
}

/* ---- rate limit ---------------------------------------------------------- */

bool bucket_take(struct fwd_bucket *b, uint64_t now_ms, uint32_t rate, uint32_t burst)
{
	uint64_t cap = (uint64_t)(burst ? burst : 1) * 1000;

	if (!b->primed) {
		b->milli = cap;
		b->last_ms = now_ms;
		b->primed = true;
	}
	if (now_ms > b->last_ms) {
		/* rate tokens per second = rate milli-tokens per millisecond */
		uint64_t add = (now_ms - b->last_ms) * rate;

		b->milli = b->milli + add > cap ? cap : b->milli + add;
		b->last_ms = now_ms;
	}
	if (b->milli < 1000) {
		uint64_t r = atomic_load_explicit(&b->refused, memory_order_relaxed);

		atomic_store_explicit(&b->refused, r + 1, memory_order_relaxed);
		b->suppressed++;
		return false;
	}
	b->milli -= 1000;
	return true;
}

/* ---- formatting ---------------------------------------------------------- */

/* What a log line shows as it is: printable ASCII but its separators. */
static bool log_plain(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '=';
}

size_t log_escape(char *out, size_t outlen, const char *in)
{
	return hex_escape(out, outlen, in, strlen(in), log_plain);
}

static void proto_str(char *out, size_t outlen, unsigned proto)
{
	const char *name = proto_name(proto);

	if (name)
		snprintf(out, outlen, "%s", name);
	else
		snprintf(out, outlen, "%u", proto);
}

struct ev_text {
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	char proto[8], in[4 * FWD_IFNAMSIZ + 1], rule[4 * (FWD_NAME_MAX + 1)], to[64];
	bool ports;
};

static void ev_text(struct ev_text *t, const struct fwd_log_event *ev, const char *ifname)
{
	addr_format(t->src, sizeof(t->src), ev->family, ev->src);
	addr_format(t->dst, sizeof(t->dst), ev->family, ev->dst);
	proto_str(t->proto, sizeof(t->proto), ev->proto);
	if (ifname && *ifname)
		log_escape(t->in, sizeof(t->in), ifname);
	else
		snprintf(t->in, sizeof(t->in), "-");
	log_escape(t->rule, sizeof(t->rule), ev->rule);
	t->to[0] = '\0';
	if (ev->type == FWD_EV_VERDICT && ev->action == FWD_FORWARD)
		target_format(t->to, sizeof(t->to), &ev->to, ev->dport);
	t->ports = ev->type == FWD_EV_VERDICT && ev->sport <= 65535 && ev->dport <= 65535;
}

/* snprintf that never reports more than it wrote. */
static size_t clamp(int n, size_t outlen)
{
	if (n < 0)
		return 0;
	return (size_t)n < outlen ? (size_t)n : outlen - 1;
}

/*
 * A line built by appending, for the verdict lines a busy gateway logs most:
 * one snprintf() with a dozen arguments costs as much as the rest of the
 * logger's work on the line. What does not fit is cut, as snprintf() would.
 */
struct line {
	char *buf;
	size_t cap, len;		/* cap >= 1; buf[len] is NUL */
};

static void put_mem(struct line *l, const char *s, size_t n)
{
	if (n > l->cap - 1 - l->len)
		n = l->cap - 1 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

static void put_str(struct line *l, const char *s)
{
	put_mem(l, s, strlen(s));
}

static void put_uint(struct line *l, unsigned v)
{
	char d[10];
	size_t i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put_mem(l, d + i, sizeof(d) - i);
}

/* "fwd: ACTION rule=R[ to=T] in=I proto=P src=S[ spt=N] dst=D[ dpt=N]" */
static size_t format_verdict_kv(char *out, size_t outlen, const struct fwd_log_event *ev,
				const struct ev_text *t)
{
	struct line l = { .buf = out, .cap = outlen };
	uint8_t it, ic;

	put_str(&l, "fwd: ");
	put_str(&l, action_name(ev->action));
	put_str(&l, " rule=");
	put_str(&l, t->rule);
	if (*t->to) {
		put_str(&l, " to=");
		put_str(&l, t->to);
	}
	put_str(&l, " in=");
	put_str(&l, t->in);
	put_str(&l, " proto=");
	put_str(&l, t->proto);
	put_str(&l, " src=");
	put_str(&l, t->src);
	if (t->ports) {
		put_str(&l, " spt=");
		put_uint(&l, ev->sport);
	}
	put_str(&l, " dst=");
	put_str(&l, t->dst);
	if (t->ports) {
		put_str(&l, " dpt=");
		put_uint(&l, ev->dport);
	}
	if (ev->type == FWD_EV_VERDICT && icmp_of_key(ev->sport, &it, &ic)) {
		put_str(&l, " type=");
		put_uint(&l, it);
		put_str(&l, " code=");
		put_uint(&l, ic);
	}
	return l.len;
}

/* What a knock door opens, as `open: {port:}` says it: "2222/tcp", or "all". */
static void door_str(char *out, size_t outlen, const struct fwd_log_event *ev)
{
	char proto[8];

	proto_str(proto, sizeof(proto), ev->proto);
	if (ev->dport)
		snprintf(out, outlen, "%u/%s", ev->dport, proto);
	else
		snprintf(out, outlen, "all");
}

/* A limit's packet: " dpt=N" (JSON: ,"dest_port":N) where it has ports. */
static void dpt_str(char *out, size_t outlen, const struct fwd_log_event *ev, bool json)
{
	*out = '\0';
	if (ev->dport > 65535)
		return;
	if (json)
		snprintf(out, outlen, ",\"dest_port\":%u", ev->dport);
	else
		snprintf(out, outlen, " dpt=%u", ev->dport);
}

size_t log_format_kv(char *out, size_t outlen, const struct fwd_log_event *ev,
		     const char *ifname)
{
	struct ev_text t;
	char x[32];
	int n;

	if (!outlen)
		return 0;
	ev_text(&t, ev, ifname);
	if (ev->type == FWD_EV_SCAN) {
		n = snprintf(out, outlen, "fwd: scan src=%s ports=%u window=%us set=%s", t.src,
			     ev->dport, ev->sport, t.rule);
	} else if (ev->type == FWD_EV_KNOCK) {
		door_str(x, sizeof(x), ev);
		n = snprintf(out, outlen, "fwd: knock name=%s src=%s dst=%s open=%s timeout=%us",
			     t.rule, t.src, t.dst, x, ev->sport);
	} else if (ev->type == FWD_EV_LIMIT) {
		dpt_str(x, sizeof(x), ev, false);
		n = snprintf(out, outlen, "fwd: limit rule=%s src=%s dst=%s proto=%s%s timeout=%us",
			     t.rule, t.src, t.dst, t.proto, x, ev->sport);
	} else if (ev->type == FWD_EV_MALFORMED)
		n = snprintf(out, outlen, "fwd: malformed reason=%s in=%s proto=%s src=%s dst=%s",
			     packet_reason_name(ev->reason), t.in, t.proto, t.src, t.dst);
	else
		return format_verdict_kv(out, outlen, ev, &t);
	return clamp(n, outlen);
}

/* JSON string body: escape quotes, backslashes and every non-printable byte. */
static size_t json_str(char *out, size_t outlen, const char *in)
{
	size_t o = 0;

	for (; *in && o + 7 < outlen; in++) {
		unsigned char c = (unsigned char)*in;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return o;
}

/*
 * localtime_r() and strftime() cost more than the rest of a logged line, so
 * each thread converts a given second once and only adds the microseconds.
 */
static void json_time(char *out, size_t outlen, const struct timespec *ts)
{
	static _Thread_local struct {
		bool valid;
		time_t sec;
		size_t blen, zlen;
		char base[32], zone[8];
	} c;
	long us = ts->tv_nsec / 1000;

	if (!c.valid || c.sec != ts->tv_sec) {
		struct tm tm;

		localtime_r(&ts->tv_sec, &tm);
		c.blen = strftime(c.base, sizeof(c.base), "%Y-%m-%dT%H:%M:%S", &tm);
		c.zlen = strftime(c.zone, sizeof(c.zone), "%z", &tm);
		c.sec = ts->tv_sec;
		c.valid = true;
	}
	if (outlen < c.blen + 7 + c.zlen + 1 || us < 0 || us > 999999) {
		snprintf(out, outlen, "%s.%06ld%s", c.base, us, c.zone);
		return;
	}
	memcpy(out, c.base, c.blen);
	out += c.blen;
	*out++ = '.';
	for (int i = 5; i >= 0; i--, us /= 10)
		out[i] = (char)('0' + us % 10);
	memcpy(out + 6, c.zone, c.zlen + 1);
}

size_t log_format_json(char *out, size_t outlen, const struct fwd_log_event *ev,
		       const char *ifname, const struct timespec *ts)
{
	struct ev_text t;
	char when[48], in[4 * FWD_IFNAMSIZ + 1], rule[6 * (FWD_NAME_MAX + 1)];
	char spt[48] = "", dpt[32] = "", extra[128] = "";
	uint8_t it, ic;

	ev_text(&t, ev, ifname);
	json_time(when, sizeof(when), ts);
	json_str(in, sizeof(in), ifname ? ifname : "");
	json_str(rule, sizeof(rule), ev->rule);
	if (ev->type == FWD_EV_SCAN)
		return clamp(snprintf(out, outlen, "{\"timestamp\":\"%s\",\"event_type\":\"scan\","
				      "\"src_ip\":\"%s\",\"ports\":%u,\"window\":%u,\"set\":\"%s\"}",
				      when, t.src, ev->dport, ev->sport, rule), outlen);
	if (ev->type == FWD_EV_KNOCK) {
		door_str(extra, sizeof(extra), ev);
		return clamp(snprintf(out, outlen, "{\"timestamp\":\"%s\",\"event_type\":\"knock\","
				      "\"src_ip\":\"%s\",\"dest_ip\":\"%s\",\"knock\":\"%s\","
				      "\"open\":\"%s\",\"timeout\":%u}",
				      when, t.src, t.dst, rule, extra, ev->sport), outlen);
	}
	if (ev->type == FWD_EV_LIMIT) {
		dpt_str(dpt, sizeof(dpt), ev, true);
		return clamp(snprintf(out, outlen, "{\"timestamp\":\"%s\",\"event_type\":\"limit\","
				      "\"src_ip\":\"%s\",\"dest_ip\":\"%s\"%s,\"proto\":\"%s\","
				      "\"rule\":\"%s\",\"timeout\":%u}",
				      when, t.src, t.dst, dpt, t.proto, rule, ev->sport), outlen);
	}
	if (t.ports) {
		snprintf(spt, sizeof(spt), ",\"src_port\":%u", ev->sport);
		snprintf(dpt, sizeof(dpt), ",\"dest_port\":%u", ev->dport);
	} else if (ev->type == FWD_EV_VERDICT && icmp_of_key(ev->sport, &it, &ic)) {
		/* EVE's names */
		snprintf(spt, sizeof(spt), ",\"icmp_type\":%u,\"icmp_code\":%u", it, ic);
	}
	if (ev->type == FWD_EV_MALFORMED)
		snprintf(extra, sizeof(extra), ",\"reason\":\"%s\"",
			 packet_reason_name(ev->reason));
	else if (*t.to)
		snprintf(extra, sizeof(extra), ",\"to\":\"%s\"", t.to);
	return clamp(snprintf(out, outlen,
			      "{\"timestamp\":\"%s\",\"event_type\":\"%s\",\"src_ip\":\"%s\"%s"
			      ",\"dest_ip\":\"%s\"%s,\"proto\":\"%s\",\"action\":\"%s\",\"rule\":\"%s\""
			      ",\"in_iface\":\"%s\"%s}",
			      when, ev->type == FWD_EV_MALFORMED ? "malformed" : "verdict",
			      t.src, spt, t.dst, dpt, t.proto,
			      action_name(ev->action),
			      ev->type == FWD_EV_MALFORMED ? "malformed" : rule, in, extra),
		     outlen);
}

size_t log_format_suppressed(char *out, size_t outlen, enum fwd_logfmt fmt,
			     const struct fwd_log_event *ev, const struct timespec *ts)
{
	char rule[6 * (FWD_NAME_MAX + 1)], when[48];
	unsigned long long n = (unsigned long long)ev->suppressed;

	if (fmt == FWD_FMT_KV) {
		log_escape(rule, sizeof(rule), ev->rule);
		return clamp(snprintf(out, outlen, "fwd: suppressed %llu events rule=%s", n, rule),
			     outlen);
	}
	json_str(rule, sizeof(rule), ev->rule);
	json_time(when, sizeof(when), ts);
	return clamp(snprintf(out, outlen,
			      "{\"timestamp\":\"%s\",\"event_type\":\"suppressed\",\"rule\":\"%s\","
			      "\"count\":%llu}", when, rule, n), outlen);
}

/* ---- sink ---------------------------------------------------------------- */

/*
 * Lines for stderr or a file are gathered in L.out and written with one
 * write() per drain of the rings (or when it fills), not one per line.
 */
#define LOG_OUTBUF	(64 * 1024)
#define LOG_LINE_MAX	8192		/* longest line written, timestamp included */

static struct {
	pthread_mutex_t lock;		/* the sink: fd, format, syslog */
	enum fwd_logsink sink;		/* resolved: never FWD_SINK_DEFAULT */
	enum fwd_logfmt fmt;
	char *file;
	int fd;				/* stderr or the file */
	int syslog_fd;			/* connected to /dev/log; -1: connect again */
	_Atomic uint64_t written;
	_Atomic uint64_t suppressed;
	_Atomic uint64_t undelivered;	/* lines the sink refused */
	/* logger thread */
	pthread_t thread;
	bool running;
	_Atomic bool stop;
	unsigned nrings;
	struct fwd_ring *rings;
	struct fwd_log_top top;		/* under lock */
	bool cut;			/* under lock: the sink has part of a line */
	size_t outlen;			/* under lock: bytes waiting in out */
	char out[LOG_OUTBUF];
} L = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.sink = FWD_SINK_STDERR,
	.fd = 2,
	.syslog_fd = -1,
};

/*
 * The log file is never a link (O_NOFOLLOW: a link planted where the file
 * was rotated away would have fwd append to its target). A file fwd creates
 * gets mode FWD_LOG_FILE_MODE whatever the umask; an existing one keeps the
 * mode its owner gave it.
 */
static int open_file(const char *path)
{
	const int fl = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW;
	int fd = open(path, fl | O_CREAT | O_EXCL, FWD_LOG_FILE_MODE);

	if (fd >= 0) {
		fchmod(fd, FWD_LOG_FILE_MODE);
		return fd;
	}
	if (errno != EEXIST)
		return -1;
	return open(path, fl);
}

/* Count the lines of L.out from OFF on as undelivered. */
static void count_lost(size_t off)
{
	uint64_t lost = 0;

	for (size_t i = off; i < L.outlen; i++)
		lost += L.out[i] == '\n';
	atomic_fetch_add_explicit(&L.undelivered, lost, memory_order_relaxed);
}

/*
 * Does the sink take a write within WAIT_MS? A file always does; a pipe,
 * socket or terminal whose reader has stopped reading does not, and then
 * the lines are dropped (counted) rather than the writer held with L.lock
 * until it reads again: that held `fwd stats`, reload and SIGTERM.
 */
static bool sink_ready(int fd, int wait_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	return poll(&p, 1, wait_ms) == 1 && (p.revents & POLLOUT);
}

/*
 * How many of the LEN bytes at P go in one write: whole lines, PIPE_BUF
 * bytes at the most (what a pipe that polls writable takes without
 * waiting), or a single longer line.
 */
static size_t chunk_len(const char *p, size_t len)
{
	size_t n = 0;

	while (n < len && n < PIPE_BUF) {
		const char *nl = memchr(p + n, '\n', len - n);
		size_t end = nl ? (size_t)(nl - p) + 1 : len;

		if (end > PIPE_BUF && n)
			break;
		n = end;
	}
	return n;
}

/* The longest one line of more than PIPE_BUF bytes waits for a slow reader. */
#define LOG_LONG_WAIT_MS	250

/*
 * Under L.lock: the LEN bytes at P (whole lines) to the sink, in writes of
 * at most PIPE_BUF bytes, each once the sink takes it: a chunk of lines
 * that fits one write goes at once or not at all, a longer line waits up to
 * LOG_LONG_WAIT_MS in all for a reader that is slow, not stopped. False
 * when not all went; a line cut short is ended before the next write.
 */
static bool write_lines(const char *p, size_t len)
{
	uint64_t end = clock_coarse_ms() + LOG_LONG_WAIT_MS;
	bool long_line = len > PIPE_BUF;

	if (L.cut) {
		if (!sink_ready(L.fd, 0) || write(L.fd, "\n", 1) != 1)
			return false;
		L.cut = false;
	}
	while (len) {
		uint64_t now = clock_coarse_ms();
		int wait = long_line && now < end ? (int)(end - now) : 0;
		ssize_t n;

		if (!sink_ready(L.fd, wait))
			break;
		n = write(L.fd, p, len < PIPE_BUF ? len : PIPE_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		L.cut = p[n - 1] != '\n';
		p += n;
		len -= (size_t)n;
	}
	return !len;
}

/* Under L.lock: FD is the sink from now on (a line cut on another stays so). */
static void sink_fd(int fd)
{
	if (fd != L.fd)
		L.cut = false;
	L.fd = fd;
}

/* Under L.lock: write what emit() gathered to the sink, or count it lost. */
static void flush_out(void)
{
	size_t off = 0;

	while (off < L.outlen) {
		size_t n = chunk_len(L.out + off, L.outlen - off);

		/* a log write that fails has nowhere to be reported: count its lines */
		if (!write_lines(L.out + off, n)) {
			count_lost(off);
			break;
		}
		off += n;
	}
	L.outlen = 0;
}

/* ---- syslog ---- */

/*
 * fwd speaks to /dev/log itself rather than through glibc's syslog(): that
 * one blocks in send() while the syslog daemon reads nothing, and loses
 * lines without a word where nothing listens. Here every datagram is sent
 * with MSG_DONTWAIT under L.lock, a line the daemon does not take is counted
 * undelivered, and a socket whose daemon went away is connected again at
 * the next line.
 */
#define SYSLOG_PATH	"/dev/log"

/* A datagram socket connected to /dev/log, or -errno. */
static int syslog_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = SYSLOG_PATH };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int e;

	if (fd < 0)
		return -errno;
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return fd;
	e = -errno;
	close(fd);
	return e;
}

static void syslog_disconnect(void)
{
	if (L.syslog_fd >= 0)
		close(L.syslog_fd);
	L.syslog_fd = -1;
}

/*
 * Under L.lock: "<PRI>Mmm dd hh:mm:ss fwd[PID]: " as glibc's syslog() writes
 * it (RFC 3164), the facility daemon. The time is formatted once a second.
 */
static size_t syslog_head(char *out, size_t outlen, int prio)
{
	static time_t sec = -1;
	static char stamp[32];
	time_t now = time(NULL);

	if (now != sec) {
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%b %e %T", &tm);
		sec = now;
	}
	return clamp(snprintf(out, outlen, "<%d>%s fwd[%d]: ", LOG_DAEMON | prio, stamp,
			      (int)getpid()), outlen);
}

/* Under L.lock: one line to syslog, never waiting. False: counted undelivered. */
static bool syslog_send(int prio, const char *line, size_t len)
{
	char head[64];
	struct iovec iov[2] = { { .iov_base = head }, { .iov_base = (void *)(uintptr_t)line,
							   .iov_len = len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	if (L.syslog_fd < 0)
		L.syslog_fd = syslog_connect();
	if (L.syslog_fd >= 0) {
		iov[0].iov_len = syslog_head(head, sizeof(head), prio);
		if (sendmsg(L.syslog_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return true;
		/* a full queue keeps the socket; a daemon gone (ECONNREFUSED) does not */
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EMSGSIZE &&
		    errno != ENOBUFS)
			syslog_disconnect();
	}
	atomic_fetch_add_explicit(&L.undelivered, 1, memory_order_relaxed);
	return false;
}

/* Under L.lock: switch to C's sink. */
static int apply_conf(const struct fwd_log_conf *c)
{
	enum fwd_logsink sink = c->sink;
	int fd = 2;

	if (sink == FWD_SINK_DEFAULT)
		sink = c->foreground ? FWD_SINK_STDERR : FWD_SINK_SYSLOG;
	if (sink == FWD_SINK_SYSLOG) {
		int sfd = syslog_connect();

		if (sfd < 0) {
			/* said on stderr, where the lines go from now on */
			fprintf(stderr, "fwd: cannot log to syslog: " SYSLOG_PATH ": %s; "
				"logging to stderr\n", strerror(-sfd));
			sink = FWD_SINK_STDERR;
		}
		syslog_disconnect();
		L.syslog_fd = sfd;
	}
	if (sink == FWD_SINK_FILE) {
		if (!c->file)
			return -EINVAL;
		fd = open_file(c->file);
		if (fd < 0)
			return -errno;
	}
	flush_out();
	if (L.fd > 2)
		close(L.fd);
	free(L.file);
	L.file = c->file && sink == FWD_SINK_FILE ? strdup(c->file) : NULL;
	sink_fd(fd);
	if (sink != FWD_SINK_SYSLOG)
		syslog_disconnect();
	L.sink = sink;
	L.fmt = c->fmt;
	return 0;
}

int log_open(const struct fwd_log_conf *c)
{
	int err;

	pthread_mutex_lock(&L.lock);
	err = apply_conf(c);
	pthread_mutex_unlock(&L.lock);
	return err;
}

int log_configure(const struct fwd_log_conf *c)
{
	return log_open(c);
}

void log_reopen(void)
{
	pthread_mutex_lock(&L.lock);
	if (L.sink == FWD_SINK_FILE && L.file) {
		int fd = open_file(L.file);

		if (fd >= 0) {
			flush_out();
			if (L.fd > 2)
				close(L.fd);
			sink_fd(fd);
		}
	}
	pthread_mutex_unlock(&L.lock);
}

void log_close(void)
{
	pthread_mutex_lock(&L.lock);
	flush_out();
	if (L.fd > 2)
		close(L.fd);
	sink_fd(2);
	free(L.file);
	L.file = NULL;
	syslog_disconnect();
	L.sink = FWD_SINK_STDERR;
	pthread_mutex_unlock(&L.lock);
}

/*
 * Under L.lock: one line to the sink. Files get a timestamp in front. Lines
 * for stderr or a file wait in L.out until the caller's flush_out(). False:
 * syslog did not take the line (counted undelivered).
 */
static bool emit(int prio, const char *line, size_t len)
{
	char *buf;
	size_t off = 0;

	if (L.sink == FWD_SINK_SYSLOG) {
		/* the header says "fwd[pid]: " already */
		if (L.fmt == FWD_FMT_KV && len >= 5 && !strncmp(line, "fwd: ", 5)) {
			line += 5;
			len -= 5;
		}
		return syslog_send(prio, line, len);
	}
	if (LOG_OUTBUF - L.outlen < LOG_LINE_MAX)
		flush_out();
	buf = L.out + L.outlen;
	if (L.sink == FWD_SINK_FILE && L.fmt == FWD_FMT_KV) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		json_time(buf, 64, &ts);
		off = strlen(buf);
		buf[off++] = ' ';
	}
	if (len > LOG_LINE_MAX - off - 1)
		len = LOG_LINE_MAX - off - 1;
	memcpy(buf + off, line, len);
	off += len;
	buf[off++] = '\n';
	L.outlen += off;
	return true;
}

/* Under L.lock: one line longer than emit() takes, LEN bytes with its newline. */
static void write_long(const char *line, size_t len)
{
	if (len + 1 < LOG_LINE_MAX) {
		emit(LOG_INFO, line, len - 1);
		flush_out();
		return;
	}
	flush_out();
	if (!write_lines(line, len))
		atomic_fetch_add_explicit(&L.undelivered, 1, memory_order_relaxed);
}

__attribute__((format(printf, 3, 0)))
static void vlog(int prio, const char *level, const char *fmt, va_list ap)
{
	char msg[4000], js[4096], line[sizeof(js) + 256];
	char *p, *nl;
	bool first = true;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	pthread_mutex_lock(&L.lock);
	if (L.fmt == FWD_FMT_JSON && L.sink != FWD_SINK_SYSLOG) {
		struct timespec ts;
		char when[48];

		clock_gettime(CLOCK_REALTIME, &ts);
		json_time(when, sizeof(when), &ts);
		json_str(js, sizeof(js), msg);
		snprintf(line, sizeof(line),
			 "{\"timestamp\":\"%s\",\"event_type\":\"message\",\"level\":\"%s\","
			 "\"message\":\"%s\"}", when, level, js);
		emit(prio, line, strlen(line));
		flush_out();
		pthread_mutex_unlock(&L.lock);
		return;
	}
	/* One message may span lines (reload diagnostics): the first is prefixed. */
	for (p = msg; *p; p = nl ? nl + 1 : p + strlen(p)) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (*p || first) {
			int n = snprintf(line, sizeof(line), "%s%s", first ? "fwd: " : "", p);

			emit(prio, line, clamp(n, sizeof(line)));
		}
		first = false;
		if (!nl)
			break;
	}
	flush_out();
	pthread_mutex_unlock(&L.lock);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, "info", fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, "warning", fmt, ap);
	va_end(ap);
}

void log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, "error", fmt, ap);
	va_end(ap);
}

/* ---- logger thread ------------------------------------------------------- */

/* Space-saving: a missing key replaces the lightest entry and inherits its count. */
static void top_add(struct fwd_top_entry *e, const struct fwd_top_entry *key, uint64_t n)
{
	struct fwd_top_entry *min = &e[0];

	for (unsigned i = 0; i < FWD_TOP_N; i++) {
		if (e[i].count && e[i].family == key->family && e[i].proto == key->proto &&
		    e[i].port == key->port && e[i].addr == key->addr) {
			e[i].count += n;
			return;
		}
		if (e[i].count < min->count)
			min = &e[i];
	}
	*min = (struct fwd_top_entry){ .count = min->count + n, .family = key->family,
				       .proto = key->proto, .port = key->port,
				       .addr = key->addr };
}

/* Under L.lock: count a logged drop (suppressed ones too) in the sketches. */
static void top_count(const struct fwd_log_event *ev)
{
	struct fwd_top_entry k = { .family = ev->family, .proto = ev->proto };
	uint64_t n = 1 + ev->suppressed;
	uint8_t it, ic;

	if (ev->type != FWD_EV_VERDICT || ev->action != FWD_DROP)
		return;
	/* the events a bucket suppressed were of the same rule: weight this one */
	/* ICMP: the type and code in sport (fwd/icmp.h) stand where ports do */
	k.port = ev->dport <= 65535 ? ev->dport : ev->sport;
	if (k.port <= 65535 || icmp_of_key(k.port, &it, &ic))
		top_add(L.top.ports, &k, n);
	k.port = 0;
	k.addr = ev->src;
	top_add(L.top.srcs, &k, n);
}

static int top_cmp(const void *a, const void *b)
{
	const struct fwd_top_entry *x = a, *y = b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

void log_top(struct fwd_log_top *t)
{
	pthread_mutex_lock(&L.lock);
	*t = L.top;
	pthread_mutex_unlock(&L.lock);
	qsort(t->ports, FWD_TOP_N, sizeof(t->ports[0]), top_cmp);
	qsort(t->srcs, FWD_TOP_N, sizeof(t->srcs[0]), top_cmp);
}

/*
 * The logger's interface names: if_indextoname() opens a socket, asks with an
 * ioctl and closes it again, which would cost more than the rest of the line.
 * An entry is looked up again after a second, so a renamed interface shows.
 */
#define IFCACHE_SLOTS	32
static struct {
	uint32_t index;
	uint64_t at_ms;
	char name[IF_NAMESIZE];
} ifcache[IFCACHE_SLOTS];		/* logger thread only */

static void ifname_of(char *out, uint32_t ifindex)
{
	uint64_t now = clock_coarse_ms();
	unsigned i = ifindex % IFCACHE_SLOTS;

	if (ifcache[i].index != ifindex || now - ifcache[i].at_ms >= 1000) {
		if (!if_indextoname(ifindex, ifcache[i].name))
			snprintf(ifcache[i].name, sizeof(ifcache[i].name), "if%u", ifindex);
		ifcache[i].index = ifindex;
		ifcache[i].at_ms = now;
	}
	memcpy(out, ifcache[i].name, IF_NAMESIZE);
}

/* Under L.lock: format one event into the sink's buffer. */
static void write_event(const struct fwd_log_event *ev)
{
	char line[1024], ifname[IF_NAMESIZE] = "";
	struct timespec ts;
	size_t n;
	int prio = ev->type == FWD_EV_MALFORMED ? LOG_WARNING : LOG_NOTICE;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ev->ifindex)
		ifname_of(ifname, ev->ifindex);
	/* ev->suppressed weights the sketches; log_suppressed() reports them. */
	top_count(ev);
	if (L.fmt == FWD_FMT_JSON)
		n = log_format_json(line, sizeof(line), ev, ifname, &ts);
	else
		n = log_format_kv(line, sizeof(line), ev, ifname);
	if (emit(prio, line, n))
		atomic_fetch_add_explicit(&L.written, 1, memory_order_relaxed);
}

bool log_json_object(const char *type, const char *json)
{
	struct timespec ts;
	char when[48], *line;
	size_t n = strlen(json);
	int len;

	pthread_mutex_lock(&L.lock);
	if (L.fmt != FWD_FMT_JSON) {
		pthread_mutex_unlock(&L.lock);
		return false;
	}
	while (n && json[n - 1] == '\n')
		n--;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_time(when, sizeof(when), &ts);
	len = asprintf(&line, "{\"timestamp\":\"%s\",\"event_type\":\"%s\",\"%s\":%.*s}\n",
		       when, type, type, (int)n, json);
	if (len > 0) {
		if (L.sink == FWD_SINK_SYSLOG)
			syslog_send(LOG_INFO, line, (size_t)len - 1);
		else
			write_long(line, (size_t)len);
		free(line);
	}
	pthread_mutex_unlock(&L.lock);
	return true;
}

void log_suppressed(const char *rule, uint64_t n)
{
	struct fwd_log_event ev = { .suppressed = n };
	char line[1024];
	struct timespec ts;
	size_t len = strnlen(rule, FWD_NAME_MAX);

	if (!n)
		return;
	memcpy(ev.rule, rule, len);
	ev.rule[len] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&L.lock);
	len = log_format_suppressed(line, sizeof(line), L.fmt, &ev, &ts);
	emit(LOG_NOTICE, line, len);
	flush_out();
	atomic_fetch_add_explicit(&L.suppressed, n, memory_order_relaxed);
	pthread_mutex_unlock(&L.lock);
}

/* Up to 256 events of each ring, written with one lock and (mostly) one write. */
static unsigned drain(void)
{
	struct fwd_log_event ev;
	unsigned n = 0;

	pthread_mutex_lock(&L.lock);
	for (unsigned i = 0; i < L.nrings; i++)
		for (unsigned k = 0; k < 256 && ring_pop(&L.rings[i], &ev); k++, n++)
			write_event(&ev);
	flush_out();
	pthread_mutex_unlock(&L.lock);
	return n;
}

/*
 * Verdicts come first. With a queue per CPU the logger shares a CPU with a
 * worker, so it runs LOGGER_NICER nice levels below the process (the nice
 * value is per thread on Linux): the scheduler lets the worker run when both
 * want the CPU, and a logger that falls behind fills its rings, which drop
 * and count.
 */
#define LOGGER_NICER	5

static void lower_priority(void)
{
	id_t tid = (id_t)gettid();
	int nice;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, tid);
	if (errno) {
		log_warn("cannot read the logger's priority: %s", strerror(errno));
		return;
	}
	nice = nice + LOGGER_NICER > 19 ? 19 : nice + LOGGER_NICER;
	if (setpriority(PRIO_PROCESS, tid, nice))
		log_warn("cannot lower the logger's priority: %s", strerror(errno));
}

static void *logger_main(void *arg)
{
	const struct timespec nap = { .tv_nsec = 10 * 1000 * 1000 };

	(void)arg;
	/* Named, so that top -H and the benchmark can tell the threads apart. */
	pthread_setname_np(pthread_self(), "fwd-log");
	lower_priority();
	while (!atomic_load(&L.stop))
		if (!drain())
			nanosleep(&nap, NULL);
	while (drain())
		;
	return NULL;
}

int log_start(unsigned nrings, uint32_t capacity)
{
	int err;

	L.rings = calloc(nrings, sizeof(*L.rings));
	if (!L.rings)
		return -ENOMEM;
	for (unsigned i = 0; i < nrings; i++) {
		err = ring_init(&L.rings[i], capacity);
		if (err)
			goto out_free_rings;
		L.nrings = i + 1;
	}
	atomic_store(&L.stop, false);
	err = -pthread_create(&L.thread, NULL, logger_main, NULL);
	if (err)
		goto out_free_rings;
	L.running = true;
	return 0;

out_free_rings:
	for (unsigned i = 0; i < L.nrings; i++)
		ring_free(&L.rings[i]);
	free(L.rings);
	L.rings = NULL;
	L.nrings = 0;
	return err;
}

struct fwd_ring *log_ring(unsigned i)
{
	return i < L.nrings ? &L.rings[i] : NULL;
}

void log_stop(void)
{
	if (L.running) {
		atomic_store(&L.stop, true);
		pthread_join(L.thread, NULL);
		L.running = false;
	}
	for (unsigned i = 0; i < L.nrings; i++)
		ring_free(&L.rings[i]);
	free(L.rings);
	L.rings = NULL;
	L.nrings = 0;
}

void log_stats(struct fwd_log_stats *s)
{
	s->written = atomic_load_explicit(&L.written, memory_order_relaxed);
	s->suppressed = atomic_load_explicit(&L.suppressed, memory_order_relaxed);
	s->dropped = atomic_load_explicit(&L.undelivered, memory_order_relaxed);
	for (unsigned i = 0; i < L.nrings; i++)
		s->dropped += atomic_load_explicit(&L.rings[i].dropped, memory_order_relaxed);
}
