// SPDX-License-Identifier: MIT
/*
 * test_log.c - the log pipeline without the logger thread: the SPSC ring
 * (full ring drops and counts, order kept, two threads), the token bucket,
 * escaping of untrusted bytes, and the key=value and JSON lines of verdict,
 * malformed and suppressed events against golden strings.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "fwd/icmp.h"
#include "fwd/log.h"
#include "fwd/packet.h"

static struct fwd_log_event ev_n(uint32_t n)
{
	struct fwd_log_event ev = { .type = FWD_EV_VERDICT, .sport = n };

	return ev;
}

static void test_ring_full_drops_and_keeps_order(void **state)
{
	struct fwd_ring r;
	struct fwd_log_event ev;

	(void)state;
	assert_int_equal(ring_init(&r, 6), -EINVAL);	/* not a power of two */
	assert_int_equal(ring_init(&r, 8), 0);
	for (uint32_t i = 0; i < 8; i++)
		assert_true(ring_push(&r, &(struct fwd_log_event){ .sport = i }));
	ev = ev_n(100);
	assert_false(ring_push(&r, &ev));
	assert_false(ring_push(&r, &ev));
	assert_int_equal(atomic_load(&r.dropped), 2);
	for (uint32_t i = 0; i < 8; i++) {
		assert_true(ring_pop(&r, &ev));
		assert_int_equal(ev.sport, i);
	}
	assert_false(ring_pop(&r, &ev));
	/* after draining, the slots are usable again, across the wrap */
	for (uint32_t i = 0; i < 5; i++)
		assert_true(ring_push(&r, &(struct fwd_log_event){ .sport = 50 + i }));
	for (uint32_t i = 0; i < 5; i++) {
		assert_true(ring_pop(&r, &ev));
		assert_int_equal(ev.sport, 50 + i);
	}
	ring_free(&r);
}

#define NEVENTS 200000u

static void *producer(void *arg)
{
	struct fwd_ring *r = arg;

	for (uint32_t i = 0; i < NEVENTS; i++) {
		struct fwd_log_event ev = ev_n(i);

		ev.dport = i ^ 0x5a5a;
		while (!ring_push(r, &ev))
			;
	}
	return NULL;
}

/* One producer, one consumer: every event arrives once, whole, in order. */
static void test_ring_two_threads(void **state)
{
	struct fwd_ring r;
	struct fwd_log_event ev;
	pthread_t t;
	uint32_t next = 0;

	(void)state;
	assert_int_equal(ring_init(&r, 64), 0);
	assert_int_equal(pthread_create(&t, NULL, producer, &r), 0);
	while (next < NEVENTS) {
		if (!ring_pop(&r, &ev))
			continue;
		assert_int_equal(ev.sport, next);
		assert_int_equal(ev.dport, next ^ 0x5a5a);
		next++;
	}
	pthread_join(t, NULL);
	assert_false(ring_pop(&r, &ev));
	ring_free(&r);
}

static void test_bucket(void **state)
{
	struct fwd_bucket b = { 0 };

	(void)state;
	/* burst 5 at rate 10/s: five at once, then one every 100 ms */
	for (int i = 0; i < 5; i++)
		assert_true(bucket_take(&b, 1000, 10, 5));
	assert_false(bucket_take(&b, 1000, 10, 5));
	assert_false(bucket_take(&b, 1050, 10, 5));
	assert_int_equal(b.suppressed, 2);
	assert_int_equal(b.refused, 2);
	assert_true(bucket_take(&b, 1100, 10, 5));
	assert_false(bucket_take(&b, 1100, 10, 5));
	/* a long pause refills to the burst, not beyond */
	for (int i = 0; i < 5; i++)
		assert_true(bucket_take(&b, 100000, 10, 5));
	assert_false(bucket_take(&b, 100000, 10, 5));
	/* a clock that goes backwards adds nothing */
	assert_false(bucket_take(&b, 50000, 10, 5));
}

static void test_escape(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(log_escape(out, sizeof(out), "eth0"), 4);
	assert_string_equal(out, "eth0");
	log_escape(out, sizeof(out), "a b\n\"=\\\x7f\xff");
	assert_string_equal(out, "a\\x20b\\x0a\\x22\\x3d\\x5c\\x7f\\xff");
	/* truncation never splits an escape */
	log_escape(out, 6, "ab\ncd");
	assert_string_equal(out, "ab");
	log_escape(out, 1, "abc");
	assert_string_equal(out, "");
}

static fwd_u128 v6(uint64_t hi, uint64_t lo)
{
	return ((fwd_u128)hi << 64) | lo;
}

static struct fwd_log_event tcp4_drop(void)
{
	struct fwd_log_event ev = {
		.type = FWD_EV_VERDICT, .action = FWD_DROP, .family = 4,
		.proto = IPPROTO_TCP, .sport = 51515, .dport = 23,
		.src = 0x0a0a0102, .dst = 0x0a0a0202,
	};

	strcpy(ev.rule, "no-telnet");
	return ev;
}

static void test_kv_lines(void **state)
{
	struct fwd_log_event ev = tcp4_drop();
	char line[512];

	(void)state;
	log_format_kv(line, sizeof(line), &ev, "veth-gw-c");
	assert_string_equal(line, "fwd: drop rule=no-telnet in=veth-gw-c proto=tcp "
			    "src=10.10.1.2 spt=51515 dst=10.10.2.2 dpt=23");

	ev.action = FWD_FORWARD;
	ev.dport = 8080;
	strcpy(ev.rule, "web");
	ev.to = (struct fwd_target){ .family = 4, .addr = 0x0a0a0202, .port = 80 };
	log_format_kv(line, sizeof(line), &ev, "eth 0\n");
	assert_string_equal(line, "fwd: forward rule=web to=10.10.2.2:80 in=eth\\x200\\x0a "
			    "proto=tcp src=10.10.1.2 spt=51515 dst=10.10.2.2 dpt=8080");

	ev = (struct fwd_log_event){ .type = FWD_EV_VERDICT, .action = FWD_ALLOW, .family = 6,
				     .proto = IPPROTO_UDP, .sport = 5353, .dport = 53,
				     .src = v6(0xfd00000100000000ull, 2),
				     .dst = v6(0x20010db800000000ull, 0x10) };
	strcpy(ev.rule, "dns");
	log_format_kv(line, sizeof(line), &ev, "");
	assert_string_equal(line, "fwd: allow rule=dns in=- proto=udp src=fd00:1::2 spt=5353 "
			    "dst=2001:db8::10 dpt=53");

	ev.proto = IPPROTO_ICMPV6;
	ev.sport = ev.dport = FWD_NOPORT;
	strcpy(ev.rule, "default");
	ev.action = FWD_DROP;
	log_format_kv(line, sizeof(line), &ev, "eth1");
	assert_string_equal(line, "fwd: drop rule=default in=eth1 proto=icmpv6 src=fd00:1::2 "
			    "dst=2001:db8::10");

	/* the type and code ride in sport (fwd/icmp.h); JSON says them as EVE does */
	ev.sport = icmp_key(IPPROTO_ICMPV6, 2, 0);
	log_format_kv(line, sizeof(line), &ev, "eth1");
	assert_string_equal(line, "fwd: drop rule=default in=eth1 proto=icmpv6 src=fd00:1::2 "
			    "dst=2001:db8::10 type=2 code=0");
	ev.family = 4;
	ev.proto = IPPROTO_ICMP;
	ev.src = 0x0a0a0102;
	ev.dst = 0x0a0a0202;
	ev.sport = icmp_key(IPPROTO_ICMP, 13, 0);
	log_format_kv(line, sizeof(line), &ev, "eth1");
	assert_string_equal(line, "fwd: drop rule=default in=eth1 proto=icmp src=10.10.1.2 "
			    "dst=10.10.2.2 type=13 code=0");
	ev.sport = icmp_key(IPPROTO_ICMP, 255, 255);
	log_format_json(line, sizeof(line), &ev, "eth1", &(struct timespec){ 0, 0 });
	assert_non_null(strstr(line, "\"src_ip\":\"10.10.1.2\",\"icmp_type\":255,\"icmp_code\":255,"));
	assert_null(strstr(line, "port"));

	ev = tcp4_drop();
	ev.type = FWD_EV_MALFORMED;
	ev.reason = FWD_PKT_TCP_DOFF;
	log_format_kv(line, sizeof(line), &ev, "eth0");
	assert_string_equal(line, "fwd: malformed reason=tcp-doff in=eth0 proto=tcp "
			    "src=10.10.1.2 dst=10.10.2.2");

	/* A door without `open: port:` opens everything; a limited ICMP packet has no port. */
	ev = tcp4_drop();
	ev.type = FWD_EV_KNOCK;
	ev.proto = 0;
	ev.dport = 0;
	ev.sport = 30;
	strcpy(ev.rule, "all-doors");
	log_format_kv(line, sizeof(line), &ev, "eth0");
	assert_string_equal(line, "fwd: knock name=all-doors src=10.10.1.2 dst=10.10.2.2 open=all "
			    "timeout=30s");
	ev.type = FWD_EV_LIMIT;
	ev.proto = IPPROTO_ICMP;
	ev.dport = FWD_NOPORT;
	log_format_kv(line, sizeof(line), &ev, "eth0");
	assert_string_equal(line, "fwd: limit rule=all-doors src=10.10.1.2 dst=10.10.2.2 proto=icmp "
			    "timeout=30s");
}

static void test_kv_truncates(void **state)
{
	struct fwd_log_event ev = tcp4_drop();
	char line[16];

	(void)state;
	assert_int_equal(log_format_kv(line, sizeof(line), &ev, "eth0"), 15);
	assert_string_equal(line, "fwd: drop rule=");
}

static void test_json_lines(void **state)
{
	struct timespec ts = { .tv_sec = 1700000000, .tv_nsec = 123456789 };
	struct fwd_log_event ev = tcp4_drop();
	char line[1024];

	(void)state;
	log_format_json(line, sizeof(line), &ev, "veth\"x", &ts);
	assert_string_equal(line, "{\"timestamp\":\"2023-11-14T22:13:20.123456+0000\","
			    "\"event_type\":\"verdict\",\"src_ip\":\"10.10.1.2\",\"src_port\":51515,"
			    "\"dest_ip\":\"10.10.2.2\",\"dest_port\":23,\"proto\":\"tcp\","
			    "\"action\":\"drop\",\"rule\":\"no-telnet\",\"in_iface\":\"veth\\\"x\"}");

	ev = (struct fwd_log_event){ .type = FWD_EV_VERDICT, .action = FWD_ALLOW, .family = 4,
				     .proto = IPPROTO_ICMP, .sport = FWD_NOPORT,
				     .dport = FWD_NOPORT, .src = 0x01020304, .dst = 0x05060708 };
	strcpy(ev.rule, "ping");
	log_format_json(line, sizeof(line), &ev, "eth0", &ts);
	assert_string_equal(line, "{\"timestamp\":\"2023-11-14T22:13:20.123456+0000\","
			    "\"event_type\":\"verdict\",\"src_ip\":\"1.2.3.4\","
			    "\"dest_ip\":\"5.6.7.8\",\"proto\":\"icmp\","
			    "\"action\":\"allow\",\"rule\":\"ping\",\"in_iface\":\"eth0\"}");

	ev = (struct fwd_log_event){ .type = FWD_EV_MALFORMED, .action = FWD_DROP, .family = 6,
				     .proto = IPPROTO_UDP, .reason = FWD_PKT_UDP_LEN,
				     .src = v6(0xfe80000000000000ull, 1), .dst = v6(0xff02ull << 48, 1) };
	log_format_json(line, sizeof(line), &ev, "eth0", &ts);
	assert_non_null(strstr(line, "\"event_type\":\"malformed\",\"src_ip\":\"fe80::1\","
				     "\"dest_ip\":\"ff02::1\",\"proto\":\"udp\""));
	assert_non_null(strstr(line, "\"reason\":\"udp-length\"}"));
	assert_null(strstr(line, "port"));
}

static void test_suppressed_line(void **state)
{
	struct timespec ts = { .tv_sec = 0 };
	struct fwd_log_event ev = tcp4_drop();
	char line[256];

	(void)state;
	ev.suppressed = 1234;
	log_format_suppressed(line, sizeof(line), FWD_FMT_KV, &ev, &ts);
	assert_string_equal(line, "fwd: suppressed 1234 events rule=no-telnet");
	log_format_suppressed(line, sizeof(line), FWD_FMT_JSON, &ev, &ts);
	assert_non_null(strstr(line, "\"event_type\":\"suppressed\",\"rule\":\"no-telnet\","
				     "\"count\":1234}"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_full_drops_and_keeps_order),
		cmocka_unit_test(test_ring_two_threads),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_kv_lines),
		cmocka_unit_test(test_kv_truncates),
		cmocka_unit_test(test_json_lines),
		cmocka_unit_test(test_suppressed_line),
	};

	/* JSON timestamps are local time: make them reproducible */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
