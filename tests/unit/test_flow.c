// SPDX-License-Identifier: MIT
/* test_flow.c - which queued packets open a connection (fwd/flow.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/netfilter/nf_conntrack_common.h>

#include "fwd/flow.h"

static bool opens(uint8_t proto, uint8_t flags_or_type, int ct, bool every)
{
	struct fwd_key k = { .family = 4, .proto = proto };
	struct fwd_pkt_info i = { 0 };

	if (proto == 6)
		i.tcp_flags = flags_or_type;
	else
		i.icmp_type = flags_or_type;
	return flow_opens(&k, &i, ct, every);
}

static void test_tcp(void **state)
{
	(void)state;
	assert_true(opens(6, 0x02, FWD_CTINFO_NONE, true));		/* SYN */
	assert_false(opens(6, 0x12, FWD_CTINFO_NONE, true));		/* SYN-ACK: a reply */
	assert_false(opens(6, 0x10, FWD_CTINFO_NONE, false));	/* ACK picked up as NEW */
	assert_false(opens(6, 0x10, IP_CT_NEW, true));
	assert_false(opens(6, 0x02, IP_CT_ESTABLISHED, true));	/* a retransmitted SYN */
	assert_true(opens(6, 0x02, IP_CT_NEW, true));
}

static void test_udp_icmp(void **state)
{
	(void)state;
	assert_true(opens(17, 0, IP_CT_NEW, true));
	assert_false(opens(17, 0, IP_CT_ESTABLISHED + IP_CT_IS_REPLY, true));
	assert_false(opens(17, 0, IP_CT_ESTABLISHED, true));
	assert_true(opens(17, 0, FWD_CTINFO_NONE, false));		/* only NEW is queued */
	assert_true(opens(17, 0, FWD_CTINFO_NONE, true));		/* cannot tell: counts */
	assert_true(opens(1, 8, FWD_CTINFO_NONE, true));		/* echo request */
	assert_false(opens(1, 0, FWD_CTINFO_NONE, true));		/* echo reply */
	assert_false(opens(1, 3, FWD_CTINFO_NONE, true));		/* unreachable */
	assert_true(opens(58, 128, FWD_CTINFO_NONE, true));
	assert_false(opens(58, 129, FWD_CTINFO_NONE, true));
	assert_false(opens(1, 0, IP_CT_RELATED, true));
}

static void test_later_fragment(void **state)
{
	struct fwd_key k = { .family = 4, .proto = 17 };
	struct fwd_pkt_info i = { .fragment = true, .later_fragment = true };

	(void)state;
	assert_false(flow_opens(&k, &i, FWD_CTINFO_NONE, true));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_udp_icmp),
		cmocka_unit_test(test_later_fragment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
