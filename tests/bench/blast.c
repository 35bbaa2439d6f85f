/* SPDX-License-Identifier: MIT */
/*
 * blast.c - the traffic generator of the end-to-end benchmark (tests/bench/e2e.sh).
 *
 *   blast udp DST PORT RATE MS [FLOWS]
 *	64-byte frames (18 bytes of UDP payload) to DST:PORT for MS milliseconds,
 *	paced at RATE packets/s (0: flat out), spread over FLOWS source ports
 *	(default 8) so that flow-hashing can spread them. Prints
 *	"sent N ns T" (T: nanoseconds actually spent sending).
 *   blast ping DST PORT RATE MS
 *	timestamped UDP packets to an echo server at RATE packets/s; the round
 *	trip of each is taken from the kernel's receive timestamp. Prints
 *	"sent N recv M p50 X p90 Y p99 Z max W" in microseconds.
 *   blast connect DST PORT MS [PARALLEL]
 *	TCP connect()/close() loop with PARALLEL connections in flight (default 1);
 *	each close is an abortive one, so no TIME_WAIT piles up in the sender.
 *	Prints "conns N failed F ns T".
 *   blast bulk DST PORT MS
 *	one TCP connection written flat out. Prints "bytes N ns T".
 *   blast tries DST PORT COUNT TIMEOUT_MS [PARALLEL]
 *	COUNT TCP connection attempts, PARALLEL in flight (default 1); one that
 *	is not established within TIMEOUT_MS (SYN retransmits included) counts
 *	as failed. Prints "tries N ok K refused R timeouts T ns X".
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define BLAST_PAYLOAD	18	/* 14 eth + 20 ip + 8 udp + 18 + 4 fcs = 64 */
#define BLAST_BATCH	32
#define BLAST_FLOWS_MAX	64
#define PING_MAX	(1u << 23)
#define CONN_MAX	256

struct target {
	struct sockaddr_in sin;
	uint64_t rate;		/* packets/s, 0: flat out */
	uint64_t ms;
	unsigned n;		/* flows or parallel connections */
};

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* How many packets are due at T for a paced sender that started at T0. */
static uint64_t due(const struct target *t, uint64_t t0, uint64_t now)
{
	return (uint64_t)((unsigned __int128)(now - t0) * t->rate / 1000000000u);
}

static int udp_connected(const struct target *t)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&t->sin, sizeof(t->sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int mode_udp(const struct target *t)
{
	static char payload[BLAST_PAYLOAD] = "fwd-e2e-benchmark";
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
	struct mmsghdr m[BLAST_BATCH];
	int fds[BLAST_FLOWS_MAX];
	uint64_t t0, end, now, sent = 0, want;
	unsigned i, flow = 0;
	int n;

	for (i = 0; i < t->n; i++) {
		fds[i] = udp_connected(t);
		if (fds[i] < 0) {
			perror("blast: udp socket");
			return 1;
		}
	}
	memset(m, 0, sizeof(m));
	for (i = 0; i < BLAST_BATCH; i++) {
		m[i].msg_hdr.msg_iov = &iov;
		m[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = now_ns(CLOCK_MONOTONIC);
	end = t0 + t->ms * 1000000u;
	for (now = t0; now < end; now = now_ns(CLOCK_MONOTONIC)) {
		want = BLAST_BATCH;
		if (t->rate) {
			want = due(t, t0, now) - sent;
			if (want == 0) {
				/* Sleep until the next packet is due; short gaps just spin. */
				uint64_t next = t0 + (sent + 1) * 1000000000u / t->rate;

				if (next > now + 20000)
					sleep_until(next);
				continue;
			}
			if (want > BLAST_BATCH)
				want = BLAST_BATCH;
		}
		n = sendmmsg(fds[flow], m, (unsigned)want, 0);
		if (n > 0)
			sent += (uint64_t)n;
		flow = (flow + 1) % t->n;
	}
	printf("sent %llu ns %llu\n", (unsigned long long)sent,
	       (unsigned long long)(now_ns(CLOCK_MONOTONIC) - t0));
	return 0;
}

struct ping_msg {
	uint64_t seq;
	uint64_t tx_ns;		/* CLOCK_REALTIME, the clock of SO_TIMESTAMPNS */
	char pad[BLAST_PAYLOAD > 16 ? BLAST_PAYLOAD - 16 : 1];
};

/* Drain every echo that is waiting; store its round trip in RTT[]. */
static uint64_t ping_drain(int fd, uint64_t *rtt, uint64_t nrtt, uint64_t cap)
{
	char ctl[CMSG_SPACE(sizeof(struct timespec))];
	struct ping_msg pm;
	struct iovec iov = { .iov_base = &pm, .iov_len = sizeof(pm) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	struct timespec ts;
	uint64_t rx;

	for (;;) {
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		if (recvmsg(fd, &mh, MSG_DONTWAIT) != (ssize_t)sizeof(pm))
			return nrtt;
		rx = 0;
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				memcpy(&ts, CMSG_DATA(c), sizeof(ts));
				rx = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
			}
		}
		if (!rx)
			rx = now_ns(CLOCK_REALTIME);
		if (nrtt < cap && rx >= pm.tx_ns)
			rtt[nrtt++] = rx - pm.tx_ns;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_us(const uint64_t *v, uint64_t n, double p)
{
	if (!n)
		return 0;
	return (double)v[(uint64_t)(p * (double)(n - 1))] / 1000.0;
}

static int mode_ping(const struct target *t)
{
	struct ping_msg pm = { 0 };
	struct pollfd pfd;
	uint64_t t0, end, now, sent = 0, nrtt = 0, cap, *rtt;
	int fd, one = 1;

	cap = t->rate * t->ms / 1000u + 1;
	if (!t->rate || cap > PING_MAX) {
		fprintf(stderr, "blast: ping needs a rate and at most %u packets\n", PING_MAX);
		return 2;
	}
	rtt = calloc(cap, sizeof(*rtt));
	fd = udp_connected(t);
	if (!rtt || fd < 0) {
		perror("blast: ping");
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	t0 = now_ns(CLOCK_MONOTONIC);
	end = t0 + t->ms * 1000000u;
	for (now = t0; now < end; now = now_ns(CLOCK_MONOTONIC)) {
		while (sent < due(t, t0, now)) {
			pm.seq = sent++;
			pm.tx_ns = now_ns(CLOCK_REALTIME);
			send(fd, &pm, sizeof(pm), 0);
		}
		nrtt = ping_drain(fd, rtt, nrtt, cap);
		poll(&pfd, 1, 0);
		if (!(pfd.revents & POLLIN))
			sleep_until(t0 + (sent + 1) * 1000000000u / t->rate);
	}
	/* Late echoes still count. */
	usleep(50000);
	nrtt = ping_drain(fd, rtt, nrtt, cap);
	qsort(rtt, nrtt, sizeof(*rtt), cmp_u64);
	printf("sent %llu recv %llu p50 %.1f p90 %.1f p99 %.1f max %.1f\n",
	       (unsigned long long)sent, (unsigned long long)nrtt, pct_us(rtt, nrtt, 0.50),
	       pct_us(rtt, nrtt, 0.90), pct_us(rtt, nrtt, 0.99), pct_us(rtt, nrtt, 1.0));
	free(rtt);
	close(fd);
	return 0;
}

/* A non-blocking connect in flight; -1 when socket() itself failed. */
static int conn_start(const struct target *t)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&t->sin, sizeof(t->sin)) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Close with RST: the sender's ports are free again at once. */
static void conn_abort(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static int mode_connect(const struct target *t)
{
	struct pollfd pfd[CONN_MAX];
	uint64_t t0, end, ok = 0, failed = 0;
	unsigned i;
	int err;
	socklen_t len;

	for (i = 0; i < t->n; i++)
		pfd[i] = (struct pollfd){ .fd = conn_start(t), .events = POLLOUT };
	t0 = now_ns(CLOCK_MONOTONIC);
	end = t0 + t->ms * 1000000u;
	while (now_ns(CLOCK_MONOTONIC) < end) {
		poll(pfd, t->n, 100);	/* a failed socket() (fd -1) is retried below */
		for (i = 0; i < t->n; i++) {
			if (pfd[i].fd >= 0 && !pfd[i].revents)
				continue;
			err = 0;
			len = sizeof(err);
			if (pfd[i].fd >= 0) {
				getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
				conn_abort(pfd[i].fd);
			}
			if (pfd[i].fd >= 0 && !err)
				ok++;
			else
				failed++;
			pfd[i].fd = conn_start(t);
		}
	}
	for (i = 0; i < t->n; i++)
		if (pfd[i].fd >= 0)
			conn_abort(pfd[i].fd);
	printf("conns %llu failed %llu ns %llu\n", (unsigned long long)ok,
	       (unsigned long long)failed, (unsigned long long)(now_ns(CLOCK_MONOTONIC) - t0));
	return 0;
}

/* One attempt of mode_tries: its socket and when it started. */
struct attempt {
	int fd;
	uint64_t t0;
};

/* Ends attempt A: counts it as ok, refused or timed out, and frees its slot. */
static void attempt_end(struct attempt *a, bool timeout, uint64_t *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (!timeout && a->fd >= 0)
		getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	c[timeout ? 2 : err || a->fd < 0 ? 1 : 0]++;
	if (a->fd >= 0)
		conn_abort(a->fd);
	a->fd = -1;
	a->t0 = 0;
}

static int mode_tries(const struct target *t)
{
	struct attempt a[CONN_MAX];
	struct pollfd pfd[CONN_MAX];
	uint64_t t0 = now_ns(CLOCK_MONOTONIC), started = 0, c[3] = { 0, 0, 0 };
	uint64_t limit = t->ms * 1000000u;
	unsigned i, busy;

	for (i = 0; i < t->n; i++)
		a[i] = (struct attempt){ .fd = -1 };
	do {
		uint64_t now = now_ns(CLOCK_MONOTONIC);

		busy = 0;
		for (i = 0; i < t->n; i++) {
			if (!a[i].t0 && started < t->rate) {
				a[i] = (struct attempt){ .fd = conn_start(t), .t0 = now };
				started++;
			}
			pfd[i] = (struct pollfd){ .fd = a[i].t0 ? a[i].fd : -1, .events = POLLOUT };
			busy += a[i].t0 != 0;
		}
		poll(pfd, t->n, 10);
		now = now_ns(CLOCK_MONOTONIC);
		for (i = 0; i < t->n; i++)
			if (a[i].t0 && (pfd[i].revents || a[i].fd < 0))
				attempt_end(&a[i], false, c);
			else if (a[i].t0 && now - a[i].t0 > limit)
				attempt_end(&a[i], true, c);
	} while (busy || started < t->rate);
	printf("tries %llu ok %llu refused %llu timeouts %llu ns %llu\n",
	       (unsigned long long)started, (unsigned long long)c[0], (unsigned long long)c[1],
	       (unsigned long long)c[2], (unsigned long long)(now_ns(CLOCK_MONOTONIC) - t0));
	return 0;
}

static int mode_bulk(const struct target *t)
{
	static char buf[1 << 17];
	uint64_t t0, end, bytes = 0;
	ssize_t n;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&t->sin, sizeof(t->sin)) < 0) {
		perror("blast: bulk connect");
		return 1;
	}
	t0 = now_ns(CLOCK_MONOTONIC);
	end = t0 + t->ms * 1000000u;
	while (now_ns(CLOCK_MONOTONIC) < end) {
		n = write(fd, buf, sizeof(buf));
		if (n < 0) {
			perror("blast: bulk write");
			break;
		}
		bytes += (uint64_t)n;
	}
	close(fd);
	printf("bytes %llu ns %llu\n", (unsigned long long)bytes,
	       (unsigned long long)(now_ns(CLOCK_MONOTONIC) - t0));
	return 0;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || end == s || v > max) {
		fprintf(stderr, "blast: bad number '%s'\n", s);
		return false;
	}
	*out = v;
	return true;
}

/* DST PORT, then RATE unless the mode has none, then MS, then an optional count. */
static bool parse_target(int argc, char **argv, bool has_rate, unsigned n_default,
			 unsigned n_max, struct target *t)
{
	int need = has_rate ? 6 : 5;
	uint64_t port, n = n_default;
	int i = 4;

	if (argc != need && argc != need + 1) {
		fprintf(stderr, "usage: blast udp|ping DST PORT RATE MS [N]; "
			"blast connect|bulk DST PORT MS [N]; blast tries DST PORT COUNT MS [N]\n");
		return false;
	}
	memset(t, 0, sizeof(*t));
	t->sin.sin_family = AF_INET;
	if (inet_pton(AF_INET, argv[2], &t->sin.sin_addr) != 1) {
		fprintf(stderr, "blast: bad IPv4 address '%s'\n", argv[2]);
		return false;
	}
	if (!parse_u64(argv[3], 65535, &port) || port == 0)
		return false;
	t->sin.sin_port = htons((uint16_t)port);
	if (has_rate && !parse_u64(argv[i++], 100000000, &t->rate))
		return false;
	if (!parse_u64(argv[i++], 3600000, &t->ms))
		return false;
	if (argc == need + 1 && (!parse_u64(argv[i], n_max, &n) || n == 0))
		return false;
	t->n = (unsigned)n;
	return true;
}

int main(int argc, char **argv)
{
	struct target t;
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "udp"))
		return parse_target(argc, argv, true, 8, BLAST_FLOWS_MAX, &t) ? mode_udp(&t) : 2;
	if (!strcmp(mode, "ping"))
		return parse_target(argc, argv, true, 1, 1, &t) ? mode_ping(&t) : 2;
	if (!strcmp(mode, "connect"))
		return parse_target(argc, argv, false, 1, CONN_MAX, &t) ? mode_connect(&t) : 2;
	if (!strcmp(mode, "tries"))
		return parse_target(argc, argv, true, 1, CONN_MAX, &t) ? mode_tries(&t) : 2;
	if (!strcmp(mode, "bulk"))
		return parse_target(argc, argv, false, 1, 1, &t) ? mode_bulk(&t) : 2;
	fprintf(stderr, "blast: unknown mode '%s' (udp, ping, connect, tries, bulk)\n", mode);
	return 2;
}
