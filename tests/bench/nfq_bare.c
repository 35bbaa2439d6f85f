/* SPDX-License-Identifier: MIT */
/*
 * nfq_bare.c - the classic NFQUEUE loop, the baseline fwd's queue is measured
 * against: bind one queue, copy the headers only, receive, send one NF_ACCEPT
 * verdict per packet. No batching, no parsing, no rules; the shape of
 * libmnl's examples/netfilter/nf-queue.c with the missing-header check added.
 *
 * Usage: nfq_bare [--batch] [--copy BYTES] [--rcvbuf BYTES] QUEUE_NUM
 *   --batch    receive a burst (up to 64 packets, without waiting) and accept
 *              it with one NFQNL_MSG_VERDICT_BATCH, as fwd's workers do
 *   --copy     copy range (default 128: headers only; 65535: whole packets)
 *   --rcvbuf   socket receive buffer (default 8 MiB)
 * The options exist so the benchmark can measure what each of fwd's queue
 * settings buys, one at a time, on a loop that does nothing else.
 * Runs until SIGTERM or SIGINT, then prints "nfq_bare: N packets, E enobufs"
 * on stdout.
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define BARE_COPY_RANGE	128		/* IPv4/IPv6 + TCP/UDP headers */
#define BARE_QMAXLEN	8192		/* as deep as fwd's queue (FWD_QUEUE_MAXLEN) */
#define BARE_RCVBUF	(8 << 20)
#define BARE_MSGBUF	8192		/* one config or verdict message */
#define BARE_RXBUF	(256 << 10)	/* one receive: many packets' headers */
#define BARE_BURST	64		/* --batch: packets per verdict, as FWD_QUEUE_BURST */

struct bare {
	struct mnl_socket *nl;
	uint32_t queue;
	unsigned long long packets;
	unsigned long long enobufs;
	bool batch;
	unsigned copy;
	int rcvbuf;
	uint32_t last_id;		/* --batch: highest id of the burst */
	unsigned burst;			/* --batch: packets since the last verdict */
	char vbuf[BARE_MSGBUF];
	char rxbuf[BARE_RXBUF];
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Send one configuration message and read the kernel's acknowledgement. */
static int bare_config(struct bare *b, struct nlmsghdr *nlh)
{
	char buf[BARE_MSGBUF];
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(b->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(b->nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	if (mnl_cb_run(buf, (size_t)n, 0, mnl_socket_get_portid(b->nl), NULL, NULL) < 0)
		return -errno;
	return 0;
}

/* Bind the queue, ask for headers only and a deep queue. */
static int bare_bind(struct bare *b)
{
	char buf[BARE_MSGBUF];
	struct nlmsghdr *nlh;
	int one = 1, rcvbuf = b->rcvbuf;
	int err;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, b->queue);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	err = bare_config(b, nlh);
	if (err)
		return err;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, b->queue);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, (int)b->copy);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, BARE_QMAXLEN);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
	err = bare_config(b, nlh);
	if (err)
		return err;

	/* Best effort: a bigger buffer and no ENOBUFS reports, as any real reader does. */
	setsockopt(mnl_socket_get_fd(b->nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	setsockopt(mnl_socket_get_fd(b->nl), SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	return 0;
}

/* One packet: accept it with its own verdict message, right now. */
static int bare_packet(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	const struct nfqnl_msg_packet_hdr *ph;
	struct bare *b = data;
	struct nlmsghdr *v;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	if (b->batch) {
		/* ids rise within a queue: one batch verdict covers up to the last */
		b->last_id = ntohl(ph->packet_id);
		b->burst++;
		b->packets++;
		return MNL_CB_OK;
	}

	v = nfq_nlmsg_put(b->vbuf, NFQNL_MSG_VERDICT, b->queue);
	nfq_nlmsg_verdict_put(v, (int)ntohl(ph->packet_id), NF_ACCEPT);
	if (mnl_socket_sendto(b->nl, v, v->nlmsg_len) < 0)
		return MNL_CB_ERROR;
	b->packets++;
	return MNL_CB_OK;
}

/* --batch: accept every packet up to the burst's last id in one message. */
static int bare_flush(struct bare *b)
{
	struct nlmsghdr *v;

	if (!b->burst)
		return 0;
	v = nfq_nlmsg_put(b->vbuf, b->burst > 1 ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT,
			  b->queue);
	nfq_nlmsg_verdict_put(v, (int)b->last_id, NF_ACCEPT);
	b->burst = 0;
	return mnl_socket_sendto(b->nl, v, v->nlmsg_len) < 0 ? -errno : 0;
}

/* --batch: after a blocking receive, take what else is queued, without waiting. */
static int bare_drain(struct bare *b, unsigned int portid)
{
	ssize_t n;

	while (b->burst < BARE_BURST) {
		n = recv(mnl_socket_get_fd(b->nl), b->rxbuf, sizeof(b->rxbuf), MSG_DONTWAIT);
		if (n <= 0)
			break;
		if (mnl_cb_run(b->rxbuf, (size_t)n, 0, portid, bare_packet, b) < 0)
			return -errno;
	}
	return bare_flush(b);
}

static int bare_loop(struct bare *b)
{
	unsigned int portid = mnl_socket_get_portid(b->nl);
	ssize_t n;
	int err;

	while (!stop) {
		n = mnl_socket_recvfrom(b->nl, b->rxbuf, sizeof(b->rxbuf));
		if (n < 0) {
			if (errno == ENOBUFS) {
				b->enobufs++;
				continue;
			}
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (mnl_cb_run(b->rxbuf, (size_t)n, 0, portid, bare_packet, b) < 0)
			return -errno;
		if (b->batch) {
			err = bare_drain(b, portid);
			if (err)
				return err;
		}
	}
	return 0;
}

/* A decimal number in [MIN, MAX], or exit with the bad value quoted. */
static unsigned long bare_num(const char *what, const char *s, unsigned long min,
			      unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max) {
		fprintf(stderr, "nfq_bare: bad %s '%s' (%lu..%lu)\n", what, s, min, max);
		exit(2);
	}
	return v;
}

static void bare_usage(void)
{
	fprintf(stderr, "usage: nfq_bare [--batch] [--copy BYTES] [--rcvbuf BYTES] QUEUE_NUM\n");
	exit(2);
}

static void bare_args(struct bare *b, int argc, char **argv)
{
	int i;

	b->copy = BARE_COPY_RANGE;
	b->rcvbuf = BARE_RCVBUF;
	for (i = 1; i < argc - 1; i++) {
		if (!strcmp(argv[i], "--batch"))
			b->batch = true;
		else if (!strcmp(argv[i], "--copy") && i + 2 < argc)
			b->copy = (unsigned)bare_num("copy range", argv[++i], 1, 0xffff);
		else if (!strcmp(argv[i], "--rcvbuf") && i + 2 < argc)
			b->rcvbuf = (int)bare_num("rcvbuf", argv[++i], 4096, 1 << 30);
		else
			bare_usage();
	}
	if (i != argc - 1)
		bare_usage();
	b->queue = (uint32_t)bare_num("queue number", argv[argc - 1], 0, 65535);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	static struct bare b;
	int err;

	bare_args(&b, argc, argv);
	/* No SA_RESTART: the blocking receive must return on a signal. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	b.nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!b.nl || mnl_socket_bind(b.nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		fprintf(stderr, "nfq_bare: netlink socket: %s\n", strerror(errno));
		return 1;
	}
	err = bare_bind(&b);
	if (err) {
		fprintf(stderr, "nfq_bare: bind queue %u: %s\n", b.queue, strerror(-err));
		mnl_socket_close(b.nl);
		return 1;
	}
	fprintf(stderr, "nfq_bare: ready on queue %u\n", b.queue);
	err = bare_loop(&b);
	printf("nfq_bare: %llu packets, %llu enobufs\n", b.packets, b.enobufs);
	mnl_socket_close(b.nl);
	if (err) {
		fprintf(stderr, "nfq_bare: receive: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
