// SPDX-License-Identifier: MIT
/*
 * recheck.c - the established connections of a source that joined a
 * blocking set, judged again (include/fwd/recheck.h).
 *
 * In the stateful mode the kernel lets established traffic by without
 * asking fwd. A source that joins a set some drop or reject rule uses (a
 * scan, a limit's on_exceed, a CrowdSec ban), or a blocklist that a reload
 * brings (a drop or reject rule on a static `src:` alone), would keep the
 * connections it already had: an ssh session with its password guesses, an
 * HTTP/2 connection with its requests. So when a blocking set gains members
 * or the rules are reloaded, the main thread dumps the conntrack table and
 * marks each connection whose original source is now blocked
 * (FWD_RECHECK_MARK, in the connection's mark; its other bits stay).
 * FWD-QUEUE queues a marked connection's packets from that side, and the
 * rules judge each one as in every-packet mode: while the source stays
 * blocked its packets are dropped; once it is unblocked they pass again.
 * Nothing is deleted, so neither side's next packet can make the
 * connection anew past the rules.
 *
 * The same pass takes the mark off a connection whose source is no longer
 * blocked (unblocked, deleted, expired, or from a previous fwd), so that
 * its packets go by in the kernel again instead of through the queue.
 *
 * A pass costs a dump of the whole table: it runs at most every RECHECK_MS
 * once a blocking set gained or lost members or the rules were reloaded,
 * and waits RECHECK_SHARE times as long as the last pass took. While
 * connections hold the mark, a pass also runs every RELEASE_MS, or
 * RELEASE_SHARE times as long as the last pass took, to find the members
 * that expired.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "fwd/hooks.h"
#include "fwd/live.h"
#include "fwd/log.h"
#include "fwd/recheck.h"
#include "fwd/ruleset.h"
#include "fwd/value.h"

#define RECHECK_MS	250
#define RECHECK_SHARE	4
#define RECHECK_RETRY_MS 5000	/* after a look that could not read the table */
#define RELEASE_MS	5000
#define RELEASE_SHARE	50
#define TUPLE_MAX	192	/* an original tuple attribute, header included */
#define SEND_MAX	32768	/* the update messages sent at once */
#define DUMP_BUF	32768	/* one receive of the dump */

/* A connection to update: its original tuple attribute and zone, as dumped. */
struct conn {
	uint8_t family;			/* AF_INET, AF_INET6 */
	bool has_zone;
	uint16_t zone;			/* network order, as the kernel sent it */
	uint16_t len;
	unsigned char tuple[TUPLE_MAX];
};

struct conns {
	struct conn *c;
	size_t n, cap;
};

struct pass {
	struct fwd_state *st;
	uint64_t now;			/* the sets' clock (clock_coarse_ms()) */
	struct conns mark, release;	/* blocked and unmarked; marked, not blocked */
	size_t held;			/* marked and still blocked */
	size_t read;			/* connections in the dump */
	bool nomem;
};

static struct {
	uint32_t gen;			/* the table the last pass saw (fwd_live.gen) */
	uint64_t next_ms;		/* no pass before (clock_mono_ms()) */
	uint64_t release_ms;		/* a pass for expired members at; 0: none held */
	bool failing;			/* the last look could not read the table */
	_Atomic uint64_t marked;
} R;

struct attrs {
	const struct nlattr **tb;
	unsigned max;
};

static int put_attr(const struct nlattr *a, void *data)
{
	const struct attrs *at = data;
	unsigned type = mnl_attr_get_type(a);

	if (type <= at->max)
		at->tb[type] = a;
	return MNL_CB_OK;
}

static bool parse_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned max)
{
	struct attrs at = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	return mnl_attr_parse_nested(nest, put_attr, &at) >= 0;
}

static bool attr_len(const struct nlattr *a, uint16_t len)
{
	return a && mnl_attr_get_payload_len(a) == len;
}

/* The source, protocol and destination port of a dumped original tuple. */
static bool tuple_key(const struct nlattr *tuple, uint8_t family, struct fwd_key *k)
{
	const struct nlattr *t[CTA_TUPLE_MAX + 1], *ip[CTA_IP_MAX + 1], *pr[CTA_PROTO_MAX + 1];
	uint16_t alen = family == AF_INET ? 4 : 16;
	const struct nlattr *src;

	if (!parse_nested(tuple, t, CTA_TUPLE_MAX) || !t[CTA_TUPLE_IP] || !t[CTA_TUPLE_PROTO] ||
	    !parse_nested(t[CTA_TUPLE_IP], ip, CTA_IP_MAX) ||
	    !parse_nested(t[CTA_TUPLE_PROTO], pr, CTA_PROTO_MAX))
		return false;
	src = ip[family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC];
	if (!attr_len(src, alen) || !attr_len(pr[CTA_PROTO_NUM], 1))
		return false;
	k->family = family == AF_INET ? 4 : 6;
	k->src = addr_from_bytes(mnl_attr_get_payload(src), alen);
	k->proto = mnl_attr_get_u8(pr[CTA_PROTO_NUM]);
	k->sport = k->dport = FWD_NOPORT;
	if (attr_len(pr[CTA_PROTO_DST_PORT], 2))
		k->dport = ntohs(mnl_attr_get_u16(pr[CTA_PROTO_DST_PORT]));
	return true;
}

static bool keep(struct conns *to, const struct nlattr *tuple, uint8_t family,
		 const struct nlattr *zone)
{
	struct conn *c;

	if (mnl_attr_get_len(tuple) > TUPLE_MAX)
		return true;
	if (to->n == to->cap) {
		size_t cap = to->cap ? to->cap * 2 : 64;
		struct conn *nc = realloc(to->c, cap * sizeof(*nc));

		if (!nc)
			return false;
		to->c = nc;
		to->cap = cap;
	}
	c = &to->c[to->n++];
	c->family = family;
	c->len = mnl_attr_get_len(tuple);
	memcpy(c->tuple, tuple, c->len);
	c->has_zone = attr_len(zone, 2);
	c->zone = c->has_zone ? mnl_attr_get_u16(zone) : 0;
	return true;
}

/*
 * One dumped connection: keep it to mark when its source is blocked and it
 * is not marked, to release when it is marked and its source is not blocked.
 */
static int dumped(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CTA_MAX + 1] = { 0 };
	struct attrs at = { tb, CTA_MAX };
	struct pass *p = data;
	const struct nfgenmsg *g;
	struct fwd_key k = { 0 };
	bool marked, blocked;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*g)))
		return MNL_CB_OK;
	g = mnl_nlmsg_get_payload(nlh);
	p->read++;
	if ((g->nfgen_family != AF_INET && g->nfgen_family != AF_INET6) ||
	    mnl_attr_parse(nlh, sizeof(*g), put_attr, &at) < 0 || !tb[CTA_TUPLE_ORIG])
		return MNL_CB_OK;
	if (!tuple_key(tb[CTA_TUPLE_ORIG], g->nfgen_family, &k))
		return MNL_CB_OK;
	marked = attr_len(tb[CTA_MARK], 4) &&
		 (ntohl(mnl_attr_get_u32(tb[CTA_MARK])) & FWD_RECHECK_MARK);
	blocked = dyn_blocked(p->st->live->dyn, &k, p->now) ||
		  ruleset_src_blocked(p->st->live->rs, k.family, k.src);
	if (marked == blocked) {
		p->held += marked;
		return MNL_CB_OK;
	}
	if (!keep(blocked ? &p->mark : &p->release, tb[CTA_TUPLE_ORIG], g->nfgen_family,
		  tb[CTA_ZONE])) {
		p->nomem = true;
		return MNL_CB_STOP;
	}
	return MNL_CB_OK;
}

static struct nlmsghdr *ct_msg(char *buf, uint16_t type, uint16_t flags, uint8_t family,
			       uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	return nlh;
}

/* Dump every connection (both families), keeping in P those to update. */
static int dump(struct mnl_socket *nl, struct pass *p)
{
	static char buf[DUMP_BUF];
	uint32_t seq = (uint32_t)p->now, portid = mnl_socket_get_portid(nl);
	struct nlmsghdr *nlh = ct_msg(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, AF_UNSPEC, seq);
	int rc = MNL_CB_OK;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while (rc > MNL_CB_STOP) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0)
			return -errno;
		/* The sets are read under the lock, as a reload may swap them. */
		pthread_mutex_lock(&p->st->lock);
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, dumped, p);
		pthread_mutex_unlock(&p->st->lock);
	}
	return rc < 0 ? -errno : p->nomem ? -ENOMEM : 0;
}

/* The update that sets C's FWD_RECHECK_MARK to BIT and keeps the mark's other bits. */
static size_t put_mark(char *buf, const struct conn *c, uint32_t bit, uint32_t seq)
{
	struct nlmsghdr *nlh = ct_msg(buf, IPCTNL_MSG_CT_NEW, 0, c->family, seq);

	memcpy(mnl_nlmsg_get_payload_tail(nlh), c->tuple, c->len);
	nlh->nlmsg_len += MNL_ALIGN(c->len);
	if (c->has_zone)
		mnl_attr_put_u16(nlh, CTA_ZONE, c->zone);
	mnl_attr_put_u32(nlh, CTA_MARK, htonl(bit));
	mnl_attr_put_u32(nlh, CTA_MARK_MASK, htonl(FWD_RECHECK_MARK));
	return nlh->nlmsg_len;
}

/* The kernel's refusals of what was just sent (gone meanwhile: ENOENT). */
static size_t refused(struct mnl_socket *nl)
{
	static char buf[8192];
	size_t n = 0;
	ssize_t len;

	while ((len = recv(mnl_socket_get_fd(nl), buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		int left = (int)len;

		for (const struct nlmsghdr *h = (void *)buf; mnl_nlmsg_ok(h, left);
		     h = mnl_nlmsg_next(h, &left)) {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);

			if (h->nlmsg_type == NLMSG_ERROR &&
			    h->nlmsg_len >= mnl_nlmsg_size(sizeof(*e)) && e->error)
				n++;
		}
	}
	return n;
}

/*
 * Set FWD_RECHECK_MARK to BIT on CS's connections, a buffer of updates at a
 * time; returns how many took.
 */
static size_t update(struct mnl_socket *nl, const struct conns *cs, uint32_t bit)
{
	static char buf[SEND_MAX];
	size_t done = 0, i = 0;

	while (i < cs->n) {
		size_t len = 0, sent = 0;

		while (i < cs->n && SEND_MAX - len >= MNL_ALIGN(TUPLE_MAX) + 64) {
			len += put_mark(buf + len, &cs->c[i], bit, (uint32_t)i);
			i++;
			sent++;
		}
		if (mnl_socket_sendto(nl, buf, len) < 0) {
			log_warn("recheck: cannot update connection marks: %s", strerror(errno));
			break;
		}
		done += sent - refused(nl);
	}
	return done;
}

/*
 * One look: 0, or -errno when the table could not be read (the look is then
 * due again, and the first of a run of failures is logged). *HELD: how many
 * connections keep the mark after it.
 */
static int pass(struct fwd_state *st, size_t *held)
{
	struct pass p = { .st = st, .now = clock_coarse_ms() };
	uint64_t t0 = clock_mono_ms();
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	int one = 1, e = 0;
	size_t n;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		e = -errno;
		goto out;
	}
	/* Refusals without the request quoted in them. */
	setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	e = dump(nl, &p);
	if (e)
		goto out;
	*held = p.held;
	if (p.mark.n) {
		n = update(nl, &p.mark, FWD_RECHECK_MARK);
		*held += n;
		atomic_fetch_add_explicit(&R.marked, n, memory_order_relaxed);
		log_info("recheck: %zu established connections of blocked sources go to the "
			 "rules again (%zu read in %" PRIu64 " ms)", n, p.read,
			 clock_mono_ms() - t0);
	}
	if (p.release.n) {
		n = update(nl, &p.release, 0);
		*held += p.release.n - n;
		log_info("recheck: %zu connections of sources no longer blocked leave the "
			 "queue (%zu read in %" PRIu64 " ms)", n, p.read, clock_mono_ms() - t0);
	}
out:
	free(p.mark.c);
	free(p.release.c);
	if (nl)
		mnl_socket_close(nl);
	return e;
}

static uint64_t longer(uint64_t floor, uint64_t took, uint64_t share)
{
	return took * share > floor ? took * share : floor;
}

int recheck_tick(struct fwd_state *st)
{
	uint64_t now = clock_mono_ms(), took, wait;
	bool want, due = false;
	size_t held = 0;
	int e;

	pthread_mutex_lock(&st->lock);
	want = !st->live->every_packet &&
	       (dyn_blocks(st->live->dyn) || ruleset_blocks_src(st->live->rs));
	/* A reload may have put sources into a blocklist, or taken them out. */
	if (want && now >= R.next_ms)
		due = dyn_recheck_due(st->live->dyn) || R.gen != st->live->gen ||
		      (R.release_ms && now >= R.release_ms);
	if (due)
		R.gen = st->live->gen;
	pthread_mutex_unlock(&st->lock);
	if (!want)
		return -1;
	if (!due)
		return now >= R.next_ms ? RECHECK_MS : (int)(R.next_ms - now);
	e = pass(st, &held);
	took = clock_mono_ms() - now;
	wait = longer(RECHECK_MS, took, RECHECK_SHARE);
	if (e) {
		if (!R.failing)
			log_warn("recheck: cannot read the conntrack table: %s; blocked sources "
				 "keep their established connections until it can, trying every "
				 "%d s", strerror(-e), RECHECK_RETRY_MS / 1000);
		pthread_mutex_lock(&st->lock);
		dyn_recheck_again(st->live->dyn);
		R.gen = 0;	/* and the blocklists: no table has generation 0 */
		pthread_mutex_unlock(&st->lock);
		wait = RECHECK_RETRY_MS;
	} else {
		if (R.failing)
			log_info("recheck: the conntrack table can be read again");
		R.release_ms = held ? now + took + longer(RELEASE_MS, took, RELEASE_SHARE) : 0;
	}
	R.failing = e != 0;
	R.next_ms = now + took + wait;
	return (int)(R.next_ms - clock_mono_ms());
}

uint64_t recheck_marked(void)
{
	return atomic_load_explicit(&R.marked, memory_order_relaxed);
}
