/* SPDX-License-Identifier: MIT */
/*
 * sink.c - the far end of the end-to-end benchmark (tests/bench/e2e.sh).
 *
 *   sink udp PORT      count UDP packets (recvmmsg); print the count
 *   sink echo PORT     send every UDP packet back to its sender
 *   sink accept PORT   TCP listener: accept and close; print the count
 *   sink drain PORT    TCP listener: read every connection to EOF; print bytes
 *
 * Each mode prints "ready" on stdout once its socket is bound, runs until
 * SIGTERM or SIGINT, then prints its count on a line of its own.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#define SINK_BATCH	64
#define SINK_PKTMAX	2048
#define SINK_RCVBUF	(32 << 20)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * A socket bound to PORT on every address. The receive timeout lets the loops
 * see the stop flag even when a signal lands just before a blocking call.
 */
static int sink_socket(int type, unsigned port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
	int one = 1, rcvbuf = SINK_RCVBUF;
	int fd;

	fd = socket(AF_INET, type, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Best effort: a deep buffer so the sink is never the one losing packets. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4096) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Packets, or echoes, in batches of SINK_BATCH. */
static unsigned long long sink_udp(int fd, bool echo)
{
	static char buf[SINK_BATCH][SINK_PKTMAX];
	struct sockaddr_in from[SINK_BATCH];
	struct mmsghdr m[SINK_BATCH];
	struct iovec iov[SINK_BATCH];
	unsigned long long count = 0;
	int i, n;

	while (!stop) {
		for (i = 0; i < SINK_BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			m[i].msg_hdr = (struct msghdr){
				.msg_name = &from[i], .msg_namelen = sizeof(from[i]),
				.msg_iov = &iov[i], .msg_iovlen = 1,
			};
		}
		n = recvmmsg(fd, m, SINK_BATCH, MSG_WAITFORONE, NULL);
		if (n <= 0)
			continue;
		count += (unsigned long long)n;
		if (!echo)
			continue;
		for (i = 0; i < n; i++)
			iov[i].iov_len = m[i].msg_len;
		sendmmsg(fd, m, (unsigned)n, 0);
	}
	return count;
}

static unsigned long long sink_accept(int fd)
{
	unsigned long long count = 0;
	int c;

	while (!stop) {
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		count++;
		close(c);
	}
	return count;
}

/* Bulk receiver for when iperf3 is missing: one connection after the other. */
static unsigned long long sink_drain(int fd)
{
	static char buf[1 << 18];
	unsigned long long bytes = 0;
	ssize_t n;
	int c;

	while (!stop) {
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		while (!stop) {
			n = read(c, buf, sizeof(buf));
			if (n > 0)
				bytes += (unsigned long long)n;
			else if (n == 0 || (errno != EAGAIN && errno != EINTR))
				break;
		}
		close(c);
	}
	return bytes;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long long count;
	unsigned long port;
	const char *mode;
	char *end;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: sink udp|echo|accept|drain PORT\n");
		return 2;
	}
	mode = argv[1];
	errno = 0;
	port = strtoul(argv[2], &end, 10);
	if (errno || *end || end == argv[2] || port == 0 || port > 65535) {
		fprintf(stderr, "sink: bad port '%s'\n", argv[2]);
		return 2;
	}
	if (strcmp(mode, "udp") && strcmp(mode, "echo") && strcmp(mode, "accept") &&
	    strcmp(mode, "drain")) {
		fprintf(stderr, "sink: unknown mode '%s'\n", mode);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);	/* no SA_RESTART: calls return on a signal */
	sigaction(SIGINT, &sa, NULL);

	fd = sink_socket(mode[0] == 'u' || mode[0] == 'e' ? SOCK_DGRAM : SOCK_STREAM,
			 (unsigned)port);
	if (fd < 0) {
		fprintf(stderr, "sink: port %lu: %s\n", port, strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	if (!strcmp(mode, "udp") || !strcmp(mode, "echo"))
		count = sink_udp(fd, mode[0] == 'e');
	else if (!strcmp(mode, "accept"))
		count = sink_accept(fd);
	else
		count = sink_drain(fd);
	printf("%llu\n", count);
	close(fd);
	return 0;
}
