/* SPDX-License-Identifier: MIT */
/*
 * spoof.c - a bounded flood of TCP SYNs from spoofed sources, for the flood
 * tests (tests/e2e/test_flood_*.sh) and the SYN-flood row of the benchmark.
 *
 *   spoof DST PORTLO PORTHI RATE MS SRC/LEN
 *	SYNs to DST at a port drawn from PORTLO..PORTHI, each from a source
 *	drawn at random from SRC/LEN (so every packet is, nearly always, a
 *	new source), paced at RATE packets/s (0: flat out) for MS
 *	milliseconds, never more than RATE * MS / 1000 packets, or until
 *	SIGTERM. Prints "sent N ns T sources S" (S: 2^(32-LEN), the sources
 *	it draws from).
 *
 * A raw socket (CAP_NET_RAW): run it in a namespace the test made, toward a
 * gateway of that test only.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define BATCH	64
#define PKT_LEN	40	/* IPv4 20 + TCP 20 */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	return sum;
}

/* One SYN from SRC to DST:DPORT (network order addresses) into P. */
static void build(uint8_t *p, uint32_t src, uint32_t dst, uint16_t dport)
{
	uint8_t ph[12];
	uint16_t sport = (uint16_t)(1024 + rnd() % 60000), c;
	uint32_t seq = rnd();

	memset(p, 0, PKT_LEN);
	p[0] = 0x45;
	p[3] = PKT_LEN;
	p[8] = 64;
	p[9] = IPPROTO_TCP;
	memcpy(p + 12, &src, 4);
	memcpy(p + 16, &dst, 4);
	c = csum_fold(csum_add(0, p, 20));
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
	p[20] = (uint8_t)(sport >> 8);
	p[21] = (uint8_t)sport;
	p[22] = (uint8_t)(dport >> 8);
	p[23] = (uint8_t)dport;
	memcpy(p + 24, &seq, 4);
	p[32] = 5 << 4;		/* data offset */
	p[33] = 0x02;		/* SYN */
	p[34] = 0xff;		/* window */
	memcpy(ph, &src, 4);
	memcpy(ph + 4, &dst, 4);
	ph[8] = 0;
	ph[9] = IPPROTO_TCP;
	ph[10] = 0;
	ph[11] = 20;
	c = csum_fold(csum_add(csum_add(0, ph, 12), p + 20, 20));
	p[36] = (uint8_t)(c >> 8);
	p[37] = (uint8_t)c;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static uint8_t buf[BATCH][PKT_LEN];
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct in_addr net;
	uint64_t rate, ms, total, sent = 0, t0, end;
	unsigned lo, hi, len;
	uint32_t base, hostmask;
	char *slash;
	int fd;

	if (argc != 7 || !(slash = strchr(argv[6], '/'))) {
		fprintf(stderr, "usage: spoof DST PORTLO PORTHI RATE MS SRC/LEN\n");
		return 2;
	}
	*slash = 0;
	lo = (unsigned)atoi(argv[2]);
	hi = (unsigned)atoi(argv[3]);
	rate = strtoull(argv[4], NULL, 10);
	ms = strtoull(argv[5], NULL, 10);
	len = (unsigned)atoi(slash + 1);
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1 || inet_pton(AF_INET, argv[6], &net) != 1 ||
	    !lo || hi < lo || hi > 65535 || len < 8 || len > 32) {
		fprintf(stderr, "spoof: bad arguments\n");
		return 2;
	}
	hostmask = len == 32 ? 0 : 0xffffffffu >> len;
	base = ntohl(net.s_addr) & ~hostmask;
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		fprintf(stderr, "spoof: raw socket: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_term);
	rng ^= (uint64_t)getpid() << 32 ^ now_ns();
	total = rate ? rate * ms / 1000 : UINT64_MAX;
	t0 = now_ns();
	end = t0 + ms * 1000000u;
	for (uint64_t now = t0; now < end && sent < total && !stop; now = now_ns()) {
		uint64_t due = rate ? (now - t0) * rate / 1000000000u : sent + BATCH;
		unsigned n = due > sent ? (unsigned)(due - sent < BATCH ? due - sent : BATCH) : 0;
		int r;

		if (!n) {
			struct timespec ts = { 0, 50000 };

			nanosleep(&ts, NULL);
			continue;
		}
		for (unsigned i = 0; i < n; i++) {
			uint32_t src = htonl(base | (rnd() & hostmask));
			uint16_t port = (uint16_t)(lo + rnd() % (hi - lo + 1));

			build(buf[i], src, to.sin_addr.s_addr, port);
			iov[i] = (struct iovec){ buf[i], PKT_LEN };
			msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &to, .msg_namelen = sizeof(to),
								.msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		r = sendmmsg(fd, msg, n, 0);
		if (r > 0)
			sent += (unsigned)r;
	}
	printf("sent %llu ns %llu sources %llu\n", (unsigned long long)sent,
	       (unsigned long long)(now_ns() - t0), (unsigned long long)hostmask + 1);
	close(fd);
	return 0;
}
