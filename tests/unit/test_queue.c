// SPDX-License-Identifier: MIT
/*
 * test_queue.c - verdict batching without a kernel: feed a burst of verdicts
 * to the builder, parse the netlink buffer it made with libmnl, and check
 * that exactly the runs of equal verdicts with equal marks collapsed into
 * batch messages, and that nothing is lost
 * when the buffer fills.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include "fwd/queue.h"

/* One message as the kernel would read it. */
struct msg {
	int type;		/* NFQNL_MSG_VERDICT or NFQNL_MSG_VERDICT_BATCH */
	uint16_t queue;
	uint32_t id;
	uint32_t verdict;
	uint32_t mark;		/* 0: no NFQA_MARK */
};

static int parse_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (type <= NFQA_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

/* Parse BUF into OUT; returns the number of messages, fails on anything odd. */
static unsigned parse(const char *buf, size_t len, struct msg *out, unsigned max)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	int left = (int)len;
	unsigned n = 0;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left), n++) {
		const struct nlattr *tb[NFQA_MAX + 1] = { NULL };
		const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
		const struct nfqnl_msg_verdict_hdr *vh;

		assert_true(n < max);
		assert_int_equal(nlh->nlmsg_type >> 8, NFNL_SUBSYS_QUEUE);
		assert_true(nlh->nlmsg_flags & NLM_F_REQUEST);
		assert_int_equal(mnl_attr_parse(nlh, sizeof(*g), parse_attr, tb), MNL_CB_OK);
		assert_non_null(tb[NFQA_VERDICT_HDR]);
		assert_int_equal(mnl_attr_get_payload_len(tb[NFQA_VERDICT_HDR]), sizeof(*vh));
		vh = mnl_attr_get_payload(tb[NFQA_VERDICT_HDR]);
		out[n] = (struct msg){
			.type = nlh->nlmsg_type & 0xff,
			.queue = ntohs(g->res_id),
			.id = ntohl(vh->id),
			.verdict = ntohl(vh->verdict),
			.mark = tb[NFQA_MARK] ? ntohl(mnl_attr_get_u32(tb[NFQA_MARK])) : 0,
		};
	}
	assert_int_equal(left, 0);	/* no trailing bytes */
	return n;
}

static void expect(const struct msg *m, int type, uint32_t id, uint32_t verdict, uint32_t mark)
{
	assert_int_equal(m->type, type);
	assert_int_equal(m->queue, 7);
	assert_int_equal(m->id, id);
	assert_int_equal(m->verdict, verdict);
	assert_int_equal(m->mark, mark);
}

static void test_runs_collapse(void **state)
{
	char buf[FWD_VBUF_SIZE];
	struct fwd_vbuf v;
	struct msg m[16];
	size_t len;

	(void)state;
	vbuf_init(&v, buf, sizeof(buf), 7);
	/* ids 10..12 accept, 13 drop, 14 forward, 15..16 accept, 17..19 drop */
	assert_int_equal(vbuf_add(&v, 10, NF_ACCEPT, 0), 0);
	assert_int_equal(vbuf_add(&v, 11, NF_ACCEPT, 0), 0);
	assert_int_equal(vbuf_add(&v, 12, NF_ACCEPT, 0), 0);
	assert_int_equal(vbuf_add(&v, 13, NF_DROP, 0), 0);
	assert_int_equal(vbuf_add(&v, 14, NF_ACCEPT, 0x0f000003), 0);
	assert_int_equal(vbuf_add(&v, 15, NF_ACCEPT, 0), 0);
	assert_int_equal(vbuf_add(&v, 16, NF_ACCEPT, 0), 0);
	assert_int_equal(vbuf_add(&v, 17, NF_DROP, 0), 0);
	assert_int_equal(vbuf_add(&v, 18, NF_DROP, 0), 0);
	assert_int_equal(vbuf_add(&v, 19, NF_DROP, 0), 0);
	len = vbuf_finish(&v);
	assert_int_equal(parse(buf, len, m, 16), 5);
	assert_int_equal(v.nmsg, 5);
	expect(&m[0], NFQNL_MSG_VERDICT_BATCH, 12, NF_ACCEPT, 0);
	expect(&m[1], NFQNL_MSG_VERDICT, 13, NF_DROP, 0);
	expect(&m[2], NFQNL_MSG_VERDICT, 14, NF_ACCEPT, 0x0f000003);
	expect(&m[3], NFQNL_MSG_VERDICT_BATCH, 16, NF_ACCEPT, 0);
	expect(&m[4], NFQNL_MSG_VERDICT_BATCH, 19, NF_DROP, 0);
}

/*
 * The same verdict with the same mark joins a batch (the kernel sets a
 * batch's mark on each packet); another mark, or none, starts a new run.
 */
static void test_marks_join_equal_runs(void **state)
{
	char buf[FWD_VBUF_SIZE];
	struct fwd_vbuf v;
	struct msg m[8];

	(void)state;
	vbuf_init(&v, buf, sizeof(buf), 7);
	vbuf_add(&v, 1, NF_REPEAT, 0x1f000001);
	vbuf_add(&v, 2, NF_REPEAT, 0x1f000001);
	vbuf_add(&v, 3, NF_REPEAT, 0x1f000002);
	vbuf_add(&v, 4, NF_ACCEPT, 0);
	vbuf_add(&v, 5, NF_ACCEPT, 0x1f000002);
	assert_int_equal(parse(buf, vbuf_finish(&v), m, 8), 4);
	expect(&m[0], NFQNL_MSG_VERDICT_BATCH, 2, NF_REPEAT, 0x1f000001);
	expect(&m[1], NFQNL_MSG_VERDICT, 3, NF_REPEAT, 0x1f000002);
	expect(&m[2], NFQNL_MSG_VERDICT, 4, NF_ACCEPT, 0);
	expect(&m[3], NFQNL_MSG_VERDICT, 5, NF_ACCEPT, 0x1f000002);
}

/* A whole burst of one verdict is one message; an empty burst is none. */
static void test_single_batch_and_empty(void **state)
{
	char buf[FWD_VBUF_SIZE];
	struct fwd_vbuf v;
	struct msg m[2];

	(void)state;
	vbuf_init(&v, buf, sizeof(buf), 7);
	assert_int_equal(vbuf_finish(&v), 0);
	for (uint32_t id = 100; id < 100 + FWD_QUEUE_BURST; id++)
		assert_int_equal(vbuf_add(&v, id, NF_DROP, 0), 0);
	assert_int_equal(parse(buf, vbuf_finish(&v), m, 2), 1);
	expect(&m[0], NFQNL_MSG_VERDICT_BATCH, 100 + FWD_QUEUE_BURST - 1, NF_DROP, 0);
}

/*
 * A burst of alternating verdicts fits the buffer the worker uses; a buffer
 * that is too small says so instead of writing past its end.
 */
static void test_buffer_limits(void **state)
{
	char buf[FWD_VBUF_SIZE], small[200];
	struct fwd_vbuf v;
	struct msg m[FWD_QUEUE_BURST];
	unsigned n = 0;
	int rc = 0;

	(void)state;
	vbuf_init(&v, buf, sizeof(buf), 7);
	for (uint32_t id = 0; id < FWD_QUEUE_BURST; id++)
		assert_int_equal(vbuf_add(&v, id, id & 1 ? NF_DROP : NF_ACCEPT,
					  id % 3 ? 0 : 0x0f000000 | id), 0);
	assert_int_equal(parse(buf, vbuf_finish(&v), m, FWD_QUEUE_BURST), FWD_QUEUE_BURST);
	for (uint32_t id = 0; id < FWD_QUEUE_BURST; id++)
		expect(&m[id], NFQNL_MSG_VERDICT, id, id & 1 ? NF_DROP : NF_ACCEPT,
		       id % 3 ? 0 : 0x0f000000 | id);

	vbuf_init(&v, small, sizeof(small), 7);
	for (uint32_t id = 0; id < 64 && !rc; id++, n++)
		rc = vbuf_add(&v, id, NF_ACCEPT, 0x0f000000 | id);
	assert_int_equal(rc, -ENOSPC);
	assert_true(vbuf_finish(&v) <= sizeof(small));
	assert_int_equal(parse(small, v.len, m, FWD_QUEUE_BURST), n - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_collapse),
		cmocka_unit_test(test_marks_join_equal_runs),
		cmocka_unit_test(test_single_batch_and_empty),
		cmocka_unit_test(test_buffer_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
