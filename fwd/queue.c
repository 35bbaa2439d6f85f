// SPDX-License-Identifier: MIT
/*
 * queue.c - NFQUEUE workers: receive a burst, judge each packet against the
 * live table, send all the burst's verdicts in one sendto().
 *
 * The packet path is worker_main() -> handle_msg() -> judge(): it allocates
 * nothing, takes no lock, logs only by pushing into the worker's own ring,
 * and makes no syscall but the socket's recv and sendto (the clock of the
 * log rate limit is read through the vDSO). The one exception is `reject`:
 * its answer is built into a slot of the worker's own burst while judging,
 * and sent after the burst's verdicts, on a non-blocking raw socket, at most
 * FWD_REJECT_RATE a second, so it neither delays a verdict nor waits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <urcu-qsbr.h>

#include "fwd/flow.h"
#include "fwd/hash.h"
#include "fwd/loopguard.h"
#include "fwd/queue.h"
#include "fwd/reject.h"
#include "fwd/value.h"

#define RXBUF_SIZE	(0xffff + 4096)

_Atomic bool fwd_queue_stop;

/* ---- verdict batching ---------------------------------------------------- */

void vbuf_init(struct fwd_vbuf *v, char *buf, size_t cap, uint16_t queue)
{
	v->buf = buf;
	v->cap = cap;
	v->len = 0;
	v->queue = queue;
	v->pending = false;
	v->run_len = 0;
	v->nmsg = 0;
}

/* What put_verdict() writes at the most: the invariant behind FWD_VERDICT_MAX. */
#define VERDICT_MSG_LEN (MNL_ALIGN(sizeof(struct nlmsghdr)) + MNL_ALIGN(sizeof(struct nfgenmsg)) + \
			 MNL_ALIGN(sizeof(struct nlattr) + sizeof(struct nfqnl_msg_verdict_hdr)) + \
			 MNL_ALIGN(sizeof(struct nlattr) + sizeof(uint32_t)))
_Static_assert(VERDICT_MSG_LEN <= FWD_VERDICT_MAX, "a verdict message outgrows FWD_VERDICT_MAX");
_Static_assert(FWD_VBUF_SIZE >= 2 * FWD_VERDICT_MAX, "vbuf_add() needs room for two messages");

/* Room for one more verdict message. */
static bool vbuf_room(const struct fwd_vbuf *v)
{
	return v->cap - v->len >= FWD_VERDICT_MAX;
}

static void put_verdict(struct fwd_vbuf *v, int type, uint32_t id, int verdict, uint32_t mark)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(v->buf + v->len, type, v->queue);

	nfq_nlmsg_verdict_put(nlh, (int)id, verdict);
	if (mark)
		nfq_nlmsg_verdict_put_mark(nlh, mark);
	v->len += nlh->nlmsg_len;
	v->nmsg++;
}

/* Write the pending run: a batch when it holds more than one packet. */
static void flush_run(struct fwd_vbuf *v)
{
	if (!v->pending)
		return;
	put_verdict(v, v->run_len > 1 ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT,
		    v->run_id, v->run_verdict, v->run_mark);
	v->pending = false;
	v->run_len = 0;
}

int vbuf_add(struct fwd_vbuf *v, uint32_t id, int verdict, uint32_t mark)
{
	if (v->pending && v->run_verdict == verdict && v->run_mark == mark) {
		v->run_id = id;
		v->run_len++;
		return 0;
	}
	/* Worst case two messages follow: the pending run and this one. */
	if (v->cap - v->len < 2 * FWD_VERDICT_MAX)
		return -ENOSPC;
	flush_run(v);
	v->pending = true;
	v->run_id = id;
	v->run_len = 1;
	v->run_verdict = verdict;
	v->run_mark = mark;
	return 0;
}

size_t vbuf_finish(struct fwd_vbuf *v)
{
	if (vbuf_room(v))
		flush_run(v);
	return v->len;
}

/* ---- the packet path ----------------------------------------------------- */

/* A reject answer, built while judging, sent once the burst's verdicts are out. */
struct reject_slot {
	uint32_t len;
	uint32_t ifindex;
	uint8_t buf[FWD_REJECT_MAX];
};

#define REJECT_SLOTS	FWD_QUEUE_BURST

/* What one burst works with: fetched once after the blocking receive. */
struct burst {
	struct fwd_worker *w;
	const struct fwd_live *live;
	const struct fwd_ifmap *ifmap;
	struct fwd_vbuf vb;
	uint64_t now_ms;		/* 0 until the first log decision needs it */
	const uint8_t *pkt;		/* the packet being judged, as copied */
	uint32_t caplen;
	uint32_t pkt_mark;		/* its mark (NFQA_MARK), kept by an allow */
	struct fwd_pkt_info info;
	unsigned nrej;
	struct fwd_bucket rej_bucket;	/* FWD_REJECT_RATE, across bursts */
	struct reject_slot rej[REJECT_SLOTS];
	struct fwd_loopguard loop;	/* across bursts */
	char vbuf[FWD_VBUF_SIZE];
};

static bool may_log(struct burst *b, struct fwd_bucket *bk)
{
	if (!b->now_ms)
		b->now_ms = clock_coarse_ms();
	return bucket_take(bk, b->now_ms, b->live->log_rate, b->live->log_burst);
}

/* EV, which BK let through, to the logger, with what BK suppressed before it. */
static void push_counted(struct burst *b, struct fwd_log_event *ev, struct fwd_bucket *bk)
{
	ev->suppressed = bk->suppressed;
	if (ring_push(b->w->ring, ev))
		bk->suppressed = 0;
}

static void push_event(struct burst *b, struct fwd_log_event *ev, struct fwd_bucket *bk,
		       const char *rule)
{
	size_t n = strnlen(rule, FWD_NAME_MAX);

	memcpy(ev->rule, rule, n);
	ev->rule[n] = '\0';
	push_counted(b, ev, bk);
}

static void send_verdicts(struct burst *b)
{
	size_t len = vbuf_finish(&b->vb);

	if (len && mnl_socket_sendto(b->w->nl, b->vb.buf, len) < 0)
		ctr_add(&b->w->stats.errors, 1);
	vbuf_init(&b->vb, b->vbuf, sizeof(b->vbuf), b->w->queue);
}

static void add_verdict(struct burst *b, uint32_t id, int verdict, uint32_t mark)
{
	if (vbuf_add(&b->vb, id, verdict, mark) == -ENOSPC) {
		send_verdicts(b);
		vbuf_add(&b->vb, id, verdict, mark);
	}
}

/* Is the packet judged back from a repeat without its mark (loopguard.h)? */
static bool looped(struct burst *b)
{
	uint64_t print = loopguard_print(&b->loop, b->pkt, b->caplen, b->info.l4off);

	if (!print)
		return false;
	if (!b->now_ms)
		b->now_ms = clock_coarse_ms();
	if (!loopguard_looped(&b->loop, print, b->now_ms,
			      atomic_load_explicit(&b->w->st->preceded, memory_order_relaxed)))
		return false;
	ctr_add(&b->w->stats.looped, 1);
	return true;
}

/*
 * allow and forward. With fwd's own hooks the verdict is a repeat with
 * FWD_REPEAT_MARK added to MARK (0: the packet's own mark): mangle
 * PREROUTING runs again, FWD-QUEUE lets the packet by and clears the bit,
 * and the operator's rules after fwd's jump see it. An accept would end the
 * hook there; a packet that loops is accepted all the same.
 */
static void add_pass(struct burst *b, uint32_t id, uint32_t mark)
{
	if (b->w->st->repeat && !looped(b))
		add_verdict(b, id, NF_REPEAT,
			    (mark ? mark : b->pkt_mark & ~FWD_NEW_MARK) | FWD_REPEAT_MARK);
	else
		add_verdict(b, id, NF_ACCEPT, mark);
}

/*
 * Send the burst's reject answers; one the kernel does not take (the socket
 * full, no route back) is lost: that packet was rejected without an answer.
 */
static void reject_flush(struct burst *b)
{
	struct fwd_worker *w = b->w;

	for (unsigned i = 0; i < b->nrej; i++)
		if (reject_send(w->raw4, w->raw6, b->rej[i].buf, b->rej[i].len, b->rej[i].ifindex))
			ctr_add(&w->stats.unanswered, 1);
	b->nrej = 0;
}

/* reject: the packet is dropped; its answer is built now, sent after the verdicts. */
static void add_reject(struct burst *b, uint32_t id, const struct fwd_key *k, uint32_t ifindex)
{
	struct reject_slot *r;

	add_verdict(b, id, NF_DROP, 0);
	/*
	 * As the kernel's stack: no answer to a broadcast (RFC 1122 3.2.2); it
	 * would come from the broadcast address. (One sent to a broadcast the
	 * kernel refuses itself: the raw socket has no SO_BROADCAST.)
	 */
	if (k->family == 4 && ifmap_broadcast(b->ifmap, (uint32_t)k->dst))
		return;
	if (!reject_due(b->pkt, b->caplen, k->proto, &b->info))
		return;		/* a multicast, an answer: it spends no token */
	if (!b->now_ms)
		b->now_ms = clock_coarse_ms();
	if (!bucket_take(&b->rej_bucket, b->now_ms, FWD_REJECT_RATE, FWD_REJECT_BURST)) {
		ctr_add(&b->w->stats.unanswered, 1);
		return;
	}
	if (b->nrej == REJECT_SLOTS)
		reject_flush(b);
	r = &b->rej[b->nrej];
	r->len = (uint32_t)reject_build(b->pkt, b->caplen, k->proto, &b->info, r->buf);
	r->ifindex = ifindex;
	if (r->len)
		b->nrej++;
}

static void judge_malformed(struct burst *b, uint32_t id, enum fwd_pkt_reason r,
			    const struct fwd_key *k, uint32_t ifindex)
{
	struct fwd_worker *w = b->w;
	enum fwd_action act = b->live->malformed;

	ctr_add(&w->stats.malformed[r], 1);
	if (act == FWD_ALLOW)
		add_pass(b, id, 0);
	else
		add_verdict(b, id, NF_DROP, 0);
	if (may_log(b, &w->malformed_bucket)) {
		struct fwd_log_event ev = {
			.type = FWD_EV_MALFORMED, .action = (uint8_t)act,
			.family = k->family, .proto = k->proto, .reason = (uint8_t)r,
			.ifindex = ifindex, .sport = FWD_NOPORT, .dport = FWD_NOPORT,
			.src = k->src, .dst = k->dst,
		};

		push_event(b, &ev, &w->malformed_bucket, "malformed");
	}
}

/*
 * A packet from a link that came up after the interface map was built: the
 * rules' `in:` cannot be told until the main thread has read its name, so
 * it is judged as `fail:` says (the verdict while fwd cannot judge).
 */
static void judge_unseen(struct burst *b, uint32_t id)
{
	ctr_add(&b->w->stats.unseen_iface, 1);
	if (b->w->st->hooks.fail == FWD_FAIL_OPEN)
		add_pass(b, id, 0);
	else
		add_verdict(b, id, NF_DROP, 0);
}

/*
 * OPENS: the packet opens a connection (flow_opens()); only such packets
 * advance knocks, count towards a scan or take a limit's token, so replies
 * in every-packet mode never turn a server into a scanner.
 */
static void judge(struct burst *b, uint32_t id, struct fwd_key *k, uint32_t ifindex,
		  uint32_t wirelen, bool opens)
{
	const struct fwd_rule_info *ri = NULL;
	struct fwd_bucket *bk;
	enum fwd_action act;
	bool log;
	int idx;

	k->iface = ifmap_class(b->ifmap, ifindex);
	if (k->iface == FWD_IFACE_UNSEEN) {
		judge_unseen(b, id);
		return;
	}
	idx = classify(b->live->rs, k);
	if (b->live->dyn) {
		struct fwd_dyn_event de;

		if (!b->now_ms)
			b->now_ms = clock_coarse_ms();
		idx = dyn_packet(b->live->dyn, b->live->rs, k, idx, b->w->id, b->now_ms, opens,
				 &de);
		if (de.due && may_log(b, &b->w->dyn_bucket))
			push_counted(b, &de.ev, &b->w->dyn_bucket);
		if (idx == FWD_DYN_DROP) {
			add_verdict(b, id, NF_DROP, 0);
			return;
		}
	}
	if (idx >= 0 && (uint32_t)idx < b->live->nrules) {
		struct fwd_rule_ctr *c = &b->live->ctr[b->w->id][idx];

		ri = ruleset_rule(b->live->rs, (uint32_t)idx);
		ctr_add(&c->packets, 1);
		ctr_add(&c->bytes, wirelen);
		/* last hit: the burst's coarse clock (vDSO, no syscall), read once */
		if (!b->now_ms)
			b->now_ms = clock_coarse_ms();
		ctr_set(&c->last_hit_ms, b->now_ms);
		act = ri->action;
		log = ri->log;
		bk = log ? &b->live->bucket[b->w->id][ri->log_idx] : NULL;
	} else {
		ctr_add(&b->w->stats.dflt_packets, 1);
		ctr_add(&b->w->stats.dflt_bytes, wirelen);
		act = ruleset_default(b->live->rs);
		log = ruleset_default_log(b->live->rs);
		bk = &b->w->dflt_bucket;
	}
	if (act == FWD_FORWARD && ri)
		add_pass(b, id, ri->mark | b->live->mark_gen);
	else if (act == FWD_REJECT)
		add_reject(b, id, k, ifindex);
	else if (act == FWD_DROP)
		add_verdict(b, id, NF_DROP, 0);
	else
		add_pass(b, id, 0);
	if (log && may_log(b, bk)) {
		struct fwd_log_event ev = {
			.type = FWD_EV_VERDICT, .action = (uint8_t)act, .family = k->family,
			.proto = k->proto, .ifindex = ifindex, .sport = k->sport,
			.dport = k->dport, .src = k->src, .dst = k->dst,
		};

		if (ri)
			ev.to = ri->to;
		push_event(b, &ev, bk, ri ? ri->name : "default");
	}
}

static uint32_t attr_u32(const struct nlattr *a, uint32_t dflt)
{
	if (!a || mnl_attr_get_payload_len(a) < sizeof(uint32_t))
		return dflt;
	return ntohl(mnl_attr_get_u32(a));
}

static void handle_msg(struct burst *b, const struct nlmsghdr *nlh)
{
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	const struct nfqnl_msg_packet_hdr *ph;
	const uint8_t *pkt = NULL;
	struct fwd_pkt_info info;
	struct fwd_key k = { 0 };
	enum fwd_pkt_reason r;
	uint32_t id, caplen = 0, wirelen, ifindex;
	int ctinfo;

	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

		/* A verdict the kernel refused: its packets stay queued. */
		if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(*e) && e->error)
			ctr_add(&b->w->stats.errors, 1);
		return;
	}
	if ((nlh->nlmsg_type & 0xff) != NFQNL_MSG_PACKET ||
	    (nlh->nlmsg_type >> 8) != NFNL_SUBSYS_QUEUE)
		return;
	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR] ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph))
		return;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	if (attr[NFQA_PAYLOAD]) {
		pkt = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
		caplen = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	}
	wirelen = attr_u32(attr[NFQA_CAP_LEN], caplen);
	if (wirelen < caplen)
		wirelen = caplen;
	ifindex = attr_u32(attr[NFQA_IFINDEX_INDEV], 0);
	ctr_add(&b->w->stats.received, 1);
	r = packet_parse(pkt, caplen, wirelen, &k, &info);
	b->pkt = pkt;
	b->caplen = caplen;
	b->pkt_mark = attr_u32(attr[NFQA_MARK], 0);
	b->info = info;
	if (r != FWD_PKT_OK && r < FWD_PKT_NREASONS)
		judge_malformed(b, id, r, &k, ifindex);
	else {
		ctinfo = attr[NFQA_CT_INFO] ? (int)attr_u32(attr[NFQA_CT_INFO], 0) :
			 b->w->st->repeat && b->live->every_packet ?
			 flow_ctinfo_from_mark(b->pkt_mark) :
			 FWD_CTINFO_NONE;
		judge(b, id, &k, ifindex, wirelen,
		      flow_opens(&k, &info, ctinfo, b->live->every_packet));
	}
}

static unsigned handle_datagram(struct burst *b, const char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)len;
	unsigned n = 0;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left), n++)
		handle_msg(b, nlh);
	return n;
}

/* A failed receive: count it; the loop goes on whatever happened. */
static void rx_error(struct fwd_worker *w, int err)
{
	if (err == ENOBUFS)
		ctr_add(&w->stats.enobufs, 1);
	else if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR)
		ctr_add(&w->stats.errors, 1);
}

static void run_burst(struct burst *b, ssize_t first)
{
	struct fwd_worker *w = b->w;
	unsigned n;
	ssize_t len;

	b->live = rcu_dereference(w->st->live);
	b->ifmap = rcu_dereference(b->live->ifmap);
	b->now_ms = 0;
	vbuf_init(&b->vb, b->vbuf, sizeof(b->vbuf), w->queue);
	n = handle_datagram(b, w->rxbuf, (size_t)first);
	while (n < FWD_QUEUE_BURST) {
		len = recv(w->fd, w->rxbuf, RXBUF_SIZE, MSG_DONTWAIT);
		if (len <= 0) {
			if (len < 0 && errno == ENOBUFS) {
				rx_error(w, errno);
				continue;
			}
			break;
		}
		n += handle_datagram(b, w->rxbuf, (size_t)len);
	}
	send_verdicts(b);
	reject_flush(b);
}

/* ARG: the worker's burst state, allocated by queue_start() so that a failure is told there. */
static void *worker_main(void *arg)
{
	struct burst *b = arg;
	struct fwd_worker *w = b->w;
	char name[16];
	ssize_t len;

	snprintf(name, sizeof(name), "fwd-q%u", (unsigned)w->queue);
	pthread_setname_np(pthread_self(), name);
	rcu_register_thread();
	while (!atomic_load_explicit(&fwd_queue_stop, memory_order_relaxed)) {
		rcu_thread_offline();
		len = recv(w->fd, w->rxbuf, RXBUF_SIZE, 0);
		rcu_thread_online();
		if (len <= 0) {
			if (len < 0)
				rx_error(w, errno);
			continue;
		}
		run_burst(b, len);
		rcu_quiescent_state();
	}
	rcu_unregister_thread();
	free(b);
	return NULL;
}

/* ---- setup --------------------------------------------------------------- */

/* Send the config messages in BUF (each asks for an ACK) and read the ACKs. */
static int config_txn(struct fwd_worker *w, char *buf, size_t len, unsigned nmsg)
{
	char rx[MNL_SOCKET_BUFFER_SIZE];
	unsigned acks = 0;
	int first_err = 0;

	if (mnl_socket_sendto(w->nl, buf, len) < 0)
		return -errno;
	while (acks < nmsg) {
		ssize_t n = mnl_socket_recvfrom(w->nl, rx, sizeof(rx));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)rx;
		int left = (int)n;

		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue;	/* a packet queued early: the kernel keeps it */
			acks++;
			if (e->error && !first_err)
				first_err = e->error;
		}
	}
	return first_err;
}

static struct nlmsghdr *cfg_msg(char *buf, size_t *len, uint16_t queue, uint32_t seq)
{
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf + *len, NFQNL_MSG_CONFIG, queue);

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	return nlh;
}

/*
 * Ask for each packet's conntrack state (NFQA_CT_INFO), which tells a reply
 * from a packet that opens a flow in every-packet mode. A kernel built
 * without CONFIG_NETFILTER_NETLINK_GLUE_CT refuses (EOPNOTSUPP); fwd's own
 * hooks then tell NEW packets by FWD_NEW_MARK, and only under --no-hooks does
 * fwd judge by the headers (flow_opens()), which it says once.
 */
static void queue_ask_conntrack(struct fwd_worker *w)
{
	static _Atomic bool said;
	char buf[256] = { 0 };
	size_t len = 0;
	struct nlmsghdr *nlh = cfg_msg(buf, &len, w->queue, 5);
	int err;

	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_CONNTRACK));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_CONNTRACK));
	len += nlh->nlmsg_len;
	err = config_txn(w, buf, len, 1);
	if (err && w->st->no_hooks && !atomic_exchange(&said, true))
		log_info("the kernel gives no conntrack state to queues (%s): with --no-hooks,"
			 " in every-packet mode a UDP packet counts as opening a flow for scan,"
			 " knock and limit", strerror(-err));
}

static int queue_configure(struct fwd_worker *w, enum fwd_fail fail)
{
	char buf[1024] = { 0 };	/* attribute padding goes on the wire */
	size_t len = 0;
	struct nlmsghdr *nlh;
	uint32_t flags = NFQA_CFG_F_GSO | (fail == FWD_FAIL_OPEN ? NFQA_CFG_F_FAIL_OPEN : 0);
	int err;

	nlh = cfg_msg(buf, &len, w->queue, 1);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
	len += nlh->nlmsg_len;
	err = config_txn(w, buf, len, 1);
	if (err)
		return err;
	len = 0;
	nlh = cfg_msg(buf, &len, w->queue, 2);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, FWD_QUEUE_COPY);
	len += nlh->nlmsg_len;
	nlh = cfg_msg(buf, &len, w->queue, 3);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, FWD_QUEUE_MAXLEN);
	len += nlh->nlmsg_len;
	nlh = cfg_msg(buf, &len, w->queue, 4);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
	len += nlh->nlmsg_len;
	err = config_txn(w, buf, len, 3);
	if (!err)
		queue_ask_conntrack(w);
	return err;
}

static void socket_options(struct fwd_worker *w)
{
	int one = 1, size = FWD_QUEUE_RCVBUF;
	/* The receive times out so a worker notices the stop flag. */
	struct timeval tv = { .tv_usec = 250 * 1000 };

	if (setsockopt(w->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(w->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(w->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Is queue Q bound by someone (it is listed in /proc)? */
static bool queue_listed(uint32_t q)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "re");
	char line[256];
	unsigned num;
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%u", &num) == 1 && num == q;
	fclose(f);
	return found;
}

/* The kernel says EPERM both for a queue owned by another socket and for no CAP_NET_ADMIN. */
static void bind_error(char *err, size_t errlen, unsigned queue, int e)
{
	if (e == -EBUSY || (e == -EPERM && queue_listed(queue)))
		snprintf(err, errlen, "queue %u is already bound by another process", queue);
	else if (e == -EPERM)
		snprintf(err, errlen, "cannot bind queue %u: %s (fwd needs CAP_NET_ADMIN)",
			 queue, strerror(-e));
	else
		snprintf(err, errlen, "cannot bind queue %u: %s", queue, strerror(-e));
}

int queue_open(struct fwd_worker *w, enum fwd_fail fail, char *err, size_t errlen)
{
	int e;

	w->raw4 = w->raw6 = -1;
	w->rxbuf = malloc(RXBUF_SIZE);
	w->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!w->rxbuf || !w->nl) {
		e = w->rxbuf ? -errno : -ENOMEM;
		snprintf(err, errlen, "cannot open a netlink socket for queue %u: %s",
			 w->queue, strerror(-e));
		goto out_close;
	}
	if (mnl_socket_bind(w->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		e = -errno;
		snprintf(err, errlen, "cannot bind a netlink socket: %s", strerror(errno));
		goto out_close;
	}
	w->fd = mnl_socket_get_fd(w->nl);
	w->portid = mnl_socket_get_portid(w->nl);
	socket_options(w);
	e = queue_configure(w, fail);
	if (e) {
		bind_error(err, errlen, w->queue, e);
		goto out_close;
	}
	e = reject_open(&w->raw4, &w->raw6);
	if (e) {
		snprintf(err, errlen, "cannot open a raw socket for reject answers: %s "
			 "(fwd needs CAP_NET_RAW)", strerror(-e));
		goto out_close;
	}
	return 0;

out_close:
	if (w->nl)
		mnl_socket_close(w->nl);
	w->nl = NULL;
	free(w->rxbuf);
	w->rxbuf = NULL;
	return e;
}

int queue_start(struct fwd_worker *w)
{
	struct burst *b = calloc(1, sizeof(*b));
	int e;

	if (!b)
		return -ENOMEM;
	b->w = w;
	loopguard_init(&b->loop, hash_seed());
	e = pthread_create(&w->thread, NULL, worker_main, b);
	if (e) {
		free(b);
		return -e;
	}
	w->started = true;
	return 0;
}

void queue_close(struct fwd_worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
	if (w->nl)
		mnl_socket_close(w->nl);	/* unbinds the queue */
	w->nl = NULL;
	if (w->raw4 >= 0)
		close(w->raw4);
	if (w->raw6 >= 0)
		close(w->raw6);
	w->raw4 = w->raw6 = -1;
	free(w->rxbuf);
	w->rxbuf = NULL;
}

/* One line of /proc/net/netfilter/nfnetlink_queue: false if it is not one. */
static bool proc_line(const char *line, uint32_t *q, uint64_t *held, uint64_t *qd, uint64_t *ud)
{
	unsigned num, portid, total, mode, range;

	if (sscanf(line, "%u %u %u %u %u %" SCNu64 " %" SCNu64, &num, &portid, &total, &mode,
		   &range, qd, ud) != 7)
		return false;
	*q = num;
	*held = total;
	return true;
}

void queue_proc_sum(uint32_t base, uint32_t n, uint64_t *held, uint64_t *dropped)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "re");
	uint64_t h = 0, d = 0, th, qd, ud;
	char line[256];
	uint32_t q;

	while (f && fgets(line, sizeof(line), f))
		if (proc_line(line, &q, &th, &qd, &ud) && q >= base && q - base < n) {
			h += th;
			d += qd + ud;
		}
	if (f)
		fclose(f);
	if (held)
		*held = h;
	if (dropped)
		*dropped = d;
}

uint64_t queue_received(struct fwd_worker *w, unsigned n)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < n; i++)
		sum += ctr_get(&w[i].stats.received);
	return sum;
}

void queue_proc_drops(uint32_t q, uint64_t *queue_dropped, uint64_t *user_dropped)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "re");
	char line[256];

	*queue_dropped = *user_dropped = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		uint64_t held, qd, ud;
		uint32_t num;

		if (proc_line(line, &num, &held, &qd, &ud) && num == q) {
			*queue_dropped = qd;
			*user_dropped = ud;
			break;
		}
	}
	fclose(f);
}
