// SPDX-License-Identifier: MIT
/* test_dynset.c - bounded lock-free dynamic tables, knocking, dynamic rules. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fwd/dyn.h"
#include "fwd/keep.h"
#include "fwd/log.h"
#include "fwd/value.h"

static struct fwd_dkey v4(uint32_t a)
{
	struct fwd_dkey k = { .family = 4, .addr = a };

	return k;
}

static void test_timeout(void **state)
{
	struct fwd_dtable t;
	struct fwd_dkey k = v4(0x0a000001);
	uint64_t val = 0, exp = 0;

	(void)state;
	assert_int_equal(dtable_init(&t, 100), 0);
	assert_int_equal(dtable_put(&t, &k, 7, 1000 + 30000, 1000), 1);
	assert_true(dtable_get(&t, &k, 1000, &val, &exp));
	assert_int_equal(val, 7);
	assert_int_equal(exp, 31000);
	assert_true(dtable_get(&t, &k, 30999, NULL, NULL));
	assert_false(dtable_get(&t, &k, 31000, NULL, NULL));
	/* refresh keeps one copy */
	assert_int_equal(dtable_put(&t, &k, 8, 50000, 2000), 0);
	assert_int_equal(dtable_count(&t, 2000), 1);
	/* a port-keyed entry is another key */
	k.proto = 6;
	k.port = 22;
	assert_false(dtable_get(&t, &k, 2000, NULL, NULL));
	assert_int_equal(dtable_del_addr(&t, 4, 0x0a000001, 2000), 1);
	assert_int_equal(dtable_count(&t, 2000), 0);
	/* an entry past its expiry is removed, not counted: it was in force no more */
	assert_int_equal(dtable_put(&t, &k, 0, 3000, 2000), 1);
	assert_int_equal(dtable_del_addr(&t, 4, 0x0a000001, 3000), 0);
	assert_int_equal(dtable_put(&t, &k, 0, 4000, 3000), 1);	/* its slot was freed */
	dtable_free(&t);
}

/* Full probe windows evict the entry that expires first. */
static void test_eviction_order(void **state)
{
	struct fwd_dtable t;
	uint32_t i;

	(void)state;
	assert_int_equal(dtable_init(&t, 16), 0);
	/* The long-lived entry goes in first. */
	struct fwd_dkey keep = v4(1);

	assert_int_equal(dtable_put(&t, &keep, 0, 1000000, 1), 1);
	for (i = 2; i < 5000; i++) {
		struct fwd_dkey k = v4(i);

		assert_true(dtable_put(&t, &k, 0, 1000 + i, 1) >= 0);
	}
	assert_true(dtable_get(&t, &keep, 10, NULL, NULL));
	assert_true(atomic_load(&t.evicted) > 0);
	assert_true(dtable_count(&t, 10) <= 16);
	assert_int_equal(dtable_memory(&t), 16 * sizeof(struct fwd_dslot));
	dtable_free(&t);
}

/* dtable_add_scored() adds only what is not live; dtable_put() then refreshes it. */
static void test_add(void **state)
{
	struct fwd_dtable t;
	struct fwd_dkey k = v4(0xc6336407);
	uint64_t val = 0;

	(void)state;
	assert_int_equal(dtable_init(&t, 16), 0);
	assert_int_equal(dtable_add_scored(&t, &k, 7, 100, 1, NULL), 1);
	assert_int_equal(dtable_add_scored(&t, &k, 8, 200, 2, NULL), -EEXIST);
	assert_true(dtable_get(&t, &k, 3, &val, NULL));
	assert_int_equal(val, 7);
	assert_int_equal(dtable_put(&t, &k, 9, 200, 3), 0);
	assert_int_equal(dtable_add_scored(&t, &k, 10, 400, 200, NULL), 1);	/* expired */
	assert_int_equal(dtable_count(&t, 201), 1);
	dtable_free(&t);
}

struct adder {
	struct fwd_dtable *t;
	uint32_t base;
};

static void *add_many(void *arg)
{
	struct adder *a = arg;

	for (uint32_t i = 0; i < 20000; i++) {
		struct fwd_dkey k = v4(a->base + i);

		while (dtable_put(a->t, &k, i, 1000000, 1) < 0)
			;
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	struct fwd_dtable t;
	pthread_t th[2];
	struct adder a[2];
	uint32_t found = 0;

	(void)state;
	assert_int_equal(dtable_init(&t, 65536), 0);
	for (int i = 0; i < 2; i++) {
		a[i] = (struct adder){ &t, (uint32_t)i * 1000000u };
		assert_int_equal(pthread_create(&th[i], NULL, add_many, &a[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < 2; i++)
		for (uint32_t j = 0; j < 20000; j++) {
			struct fwd_dkey k = v4(a[i].base + j);
			uint64_t val;

			if (dtable_get(&t, &k, 2, &val, NULL)) {
				assert_int_equal(val, j);
				found++;
			}
		}
	/* 40000 keys in 65536 slots: evictions only where a window filled. */
	assert_int_equal(found + atomic_load(&t.evicted), 40000);
	assert_true(found > 39000);
	dtable_free(&t);
}

/* A table rated by the value alone (as knock progress is). */
static uint64_t progress_rate(const void *arg, uint64_t val, uint64_t expires, uint64_t now)
{
	(void)arg;
	(void)expires;
	(void)now;
	return val;
}

struct refresher {
	struct fwd_dtable *t;
	struct fwd_dkey k;
	atomic_bool stop;
	unsigned long n;
};

/* CrowdSec's re-put, on_exceed's re-add, a reload's carry: one key, over and over. */
static void *refresh_loop(void *arg)
{
	struct refresher *r = arg;

	while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
		dtable_put(r->t, &r->k, r->n & 1, 5000000, 1000);
		r->n++;
	}
	return NULL;
}

/*
 * A member stays a member while another thread refreshes its entry: a
 * lookup that met the write in flight once read as "absent", and a blocked
 * source then missed its drop rule (about 1 lookup in 10 under a busy
 * refresher).
 */
static void test_refresh_keeps_member(void **state)
{
	struct fwd_dtable t;
	struct refresher r = { .t = &t, .k = v4(0xcb007109) };
	unsigned long miss = 0, n = 0;
	pthread_t th;

	(void)state;
	assert_int_equal(dtable_init(&t, 1000), 0);
	assert_int_equal(dtable_put(&t, &r.k, 0, 5000000, 1000), 1);
	assert_int_equal(pthread_create(&th, NULL, refresh_loop, &r), 0);
	for (; n < 2000000; n++)
		miss += !dtable_get(&t, &r.k, 1001, NULL, NULL);
	atomic_store(&r.stop, true);
	pthread_join(th, NULL);
	print_message("%lu of %lu lookups missed during %lu refreshes\n", miss, n, r.n);
	assert_int_equal(miss, 0);
	assert_int_equal(dtable_count(&t, 1001), 1);
	dtable_free(&t);
}

/* splitmix64's finaliser: what the tables hashed with before they had a secret. */
static uint64_t public_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The slot an IPv4 set key went to, as anyone could compute it. */
static uint32_t public_slot(uint32_t a, uint32_t mask)
{
	return (uint32_t)public_mix(public_mix((uint64_t)a ^ (uint64_t)4 << 56)) & mask;
}

/*
 * Eight addresses aimed at the slots of X (with a hash anyone can compute)
 * once filled every slot X may take with entries that outrank it: X was
 * refused a place. With a secret seed they land anywhere.
 */
static void test_dtable_unaimed(void **state)
{
	struct fwd_dtable t;
	struct fwd_devict ev = { progress_rate, NULL, 0 };
	struct fwd_dkey x = v4(0xcb007109);
	uint32_t hx = public_slot(0xcb007109, FWD_LIMIT_SOURCES - 1), nd = 0;

	(void)state;
	assert_int_equal(dtable_init(&t, FWD_LIMIT_SOURCES), 0);
	for (uint32_t a = 0xc6336400; nd < FWD_DPROBE; a++)
		if (a != 0xcb007109 && public_slot(a, t.mask) == hx) {
			struct fwd_dkey k = v4(a);

			assert_int_equal(dtable_put_scored(&t, &k, 1, 1000000, 1, &ev), 1);
			nd++;
		}
	assert_int_equal(dtable_put_scored(&t, &x, 0, 1000000, 1, &ev), 1);
	assert_int_equal(atomic_load(&t.refused), 0);
	dtable_free(&t);
}

static const char knock_yaml[] =
	"version: 1\n"
	"default: drop\n"
	"dynamic:\n"
	"  doors: {timeout: 30s, max: 100}\n"
	"knock:\n"
	"  - name: ssh\n"
	"    sequence: [7000/tcp, 8000/udp, 9000/tcp]\n"
	"    window: 10s\n"
	"    open: {set: doors, port: 22/tcp}\n"
	"    timeout: 30s\n"
	"rules:\n"
	"  - {name: ssh-door, proto: tcp, src: $doors, dport: 22, action: allow}\n"
	"  - {name: ssh-rest, proto: tcp, dport: 22, action: reject}\n"
	"  - {name: web, proto: tcp, dport: 80, action: allow}\n";

struct kctx {
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d;
};

static void kctx_up(struct kctx *x)
{
	struct fwd_diags dg;

	diags_init(&dg, "knock");
	x->c = config_parse(knock_yaml, sizeof(knock_yaml) - 1, &dg);
	if (!x->c)
		fail_msg("%s", dg.text);
	diags_free(&dg);
	x->rs = ruleset_compile(x->c);
	assert_non_null(x->rs);
	assert_int_equal(dyn_build(x->c, 2, &x->d), 0);
	assert_non_null(x->d);
}

static void kctx_down(struct kctx *x)
{
	dyn_free(x->d);
	ruleset_free(x->rs);
	config_free(x->c);
}

static struct fwd_key pkt(uint32_t src, uint8_t proto, uint32_t dport)
{
	struct fwd_key k = { .family = 4, .proto = proto, .sport = 40000, .dport = dport,
			     .src = src, .dst = 0x0a000002 };

	return k;
}

static int verdict(struct kctx *x, uint32_t src, uint32_t dport, uint64_t now)
{
	struct fwd_key k = pkt(src, 6, dport);

	return dyn_resolve(x->d, x->rs, &k, classify(x->rs, &k), 0, now);
}

static bool knock(struct kctx *x, uint32_t src, uint8_t proto, uint32_t port, uint64_t now)
{
	struct fwd_key k = pkt(src, proto, port);

	return dyn_knock(x->d, &k, now, NULL);
}

static void test_knock(void **state)
{
	struct kctx x;
	uint32_t a = 0x0a0a0102, b = 0x0a0a0103, c = 0x0a0a0104, e = 0x0a0a0105;

	(void)state;
	kctx_up(&x);
	assert_int_equal(verdict(&x, a, 22, 100), 1);		/* closed: ssh-rest */
	assert_true(knock(&x, a, 6, 7000, 100));
	assert_true(knock(&x, a, 17, 8000, 200));
	assert_int_equal(verdict(&x, a, 22, 250), 1);		/* not yet */
	assert_true(knock(&x, a, 6, 9000, 300));
	assert_int_equal(verdict(&x, a, 22, 400), 0);		/* open for a */
	assert_int_equal(verdict(&x, b, 22, 400), 1);		/* not for b */
	assert_int_equal(verdict(&x, a, 80, 400), 2);		/* other rules unchanged */
	assert_int_equal(verdict(&x, a, 22, 300 + 30000), 1);	/* closed after 30 s */
	/* wrong order does not open */
	assert_true(knock(&x, b, 6, 7000, 100));
	assert_true(knock(&x, b, 6, 9000, 200));
	assert_true(knock(&x, b, 17, 8000, 300));
	assert_int_equal(verdict(&x, b, 22, 400), 1);
	/* too slow: the window ran out */
	assert_true(knock(&x, b, 6, 7000, 1000));
	assert_true(knock(&x, b, 17, 8000, 2000));
	assert_true(knock(&x, b, 6, 9000, 12000));
	assert_int_equal(verdict(&x, b, 22, 12001), 1);
	assert_false(knock(&x, b, 6, 22, 100));
	/*
	 * Hits sent back to back may reach fwd out of order (several queues):
	 * within FWD_KNOCK_SLACK_MS they count in order, later they do not.
	 */
	assert_true(knock(&x, c, 6, 9000, 20000));
	assert_true(knock(&x, c, 17, 8000, 20001));
	assert_int_equal(verdict(&x, c, 22, 20002), 1);
	assert_true(knock(&x, c, 6, 7000, 20000 + FWD_KNOCK_SLACK_MS));
	assert_int_equal(verdict(&x, c, 22, 20100), 0);		/* reversed, yet in time */
	assert_true(knock(&x, e, 17, 8000, 30000));
	assert_true(knock(&x, e, 6, 7000, 30001 + FWD_KNOCK_SLACK_MS));	/* 8000 waited too long */
	assert_true(knock(&x, e, 6, 9000, 30060));
	assert_int_equal(verdict(&x, e, 22, 30061), 1);		/* the early 8000 is gone */
	assert_true(knock(&x, e, 17, 8000, 30062));		/* 7000 counted: from step two */
	assert_int_equal(verdict(&x, e, 22, 30063), 0);
	kctx_down(&x);
}

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

/*
 * A million spoofed sources: memory stays fixed, an opened door stays open.
 * Its knocks are timed against the clock: under ThreadSanitizer (`make
 * tsan`, ten times slower) they expire before they are counted, so it is
 * left to the other builds.
 */
static void test_exhaustion(void **state)
{
#ifdef UNDER_TSAN
	skip();
#endif
	struct kctx x;
	uint32_t a = 0x0a0a0102;
	uint64_t t0 = clock_coarse_ms();
	char *json, *p;
	unsigned long inprog;

	(void)state;
	kctx_up(&x);
	knock(&x, a, 6, 7000, t0);
	knock(&x, a, 17, 8000, t0);
	knock(&x, a, 6, 9000, t0);
	for (uint32_t i = 0; i < 1000000; i++) {
		knock(&x, 0xc0000000u + i, 6, 7000, t0 + i / 1000);
		knock(&x, 0xc0000000u + i, 17, 8000, t0 + i / 1000);
	}
	assert_int_equal(verdict(&x, a, 22, t0 + 1000), 0);
	json = dyn_stats_json(x.d);
	assert_non_null(json);
	assert_non_null(strstr(json, "\"doors\":{\"evicted\":0,\"members\":[{\"addr\":\"10.10.1.2\",\"port\":\"22/tcp\""));
	/* the progress table held at most its fixed capacity */
	p = strstr(json, "\"in_progress\":");
	assert_non_null(p);
	inprog = strtoul(p + 14, NULL, 10);
	assert_true(inprog > 0 && inprog <= FWD_KNOCK_PROGRESS_MAX);
	free(json);
	kctx_down(&x);
}

/* More than 20 distinct ports is a scan, reported once per window. */
static void test_scan_threshold(void **state)
{
	struct fwd_scan *s = scan_new(64, 20, 10000);
	uint32_t a = 0x0a000001, b = 0x0a000002;

	(void)state;
	assert_non_null(s);
	for (uint16_t p = 1; p <= 20; p++) {
		assert_int_equal(scan_note(s, 4, a, p, 100 + p), 0);
		assert_int_equal(scan_note(s, 4, a, p, 200 + p), 0);	/* repeats don't count */
	}
	assert_int_equal(scan_note(s, 4, b, 5, 300), 0);		/* others have their own */
	assert_int_equal(scan_note(s, 4, a, 21, 400), 21);
	assert_int_equal(scan_note(s, 4, a, 22, 401), 0);		/* once */
	/* IPv6 with the same low bits is another source */
	assert_int_equal(scan_note(s, 6, a, 23, 402), 0);
	scan_free(s);
}

/* Ports older than the window (and a third: its parts) are forgotten. */
static void test_scan_window(void **state)
{
	struct fwd_scan *s = scan_new(64, 20, 10000);
	uint32_t a = 0x0a000001;

	(void)state;
	for (uint16_t p = 1; p <= 20; p++)
		assert_int_equal(scan_note(s, 4, a, p, 1000), 0);
	assert_int_equal(scan_note(s, 4, a, 21, 14400), 0);	/* 13.4 s later */
	for (uint16_t p = 22; p <= 40; p++)
		assert_int_equal(scan_note(s, 4, a, p, 15000), 0);
	assert_int_equal(scan_note(s, 4, a, 41, 15500), 21);
	scan_free(s);
}

/*
 * The window slides: 39 ports in 30 ms across the end of a window that one
 * probe opened 10 s before went unseen when the window was fixed from that
 * first probe. So do ports spread over a window, a repeated port keeping
 * its place.
 */
static void test_scan_sliding(void **state)
{
	struct fwd_scan *s = scan_new(64, 20, 10000);
	uint32_t a = 0xcb007109, b = 0xcb00710a, found = 0;

	(void)state;
	scan_note(s, 4, a, 1, 1000);
	for (uint16_t p = 2; p <= 20; p++)
		found |= scan_note(s, 4, a, p, 10990);
	for (uint16_t p = 21; p <= 40 && !found; p++)
		found = scan_note(s, 4, a, p, 11000 + p - 21);
	assert_int_equal(found, 21);
	/* 21 ports, one every 495 ms (9.9 s in all); port 1 seen again on the way */
	for (uint16_t p = 1; p <= 21; p++) {
		assert_int_equal(scan_note(s, 4, b, 1, 20000 + (p - 1) * 495u), 0);
		found = scan_note(s, 4, b, p, 20000 + (p - 1) * 495u);
	}
	assert_int_equal(found, 21);
	scan_free(s);
}

/* What scan.c hashed a source with before it had a secret. */
static uint64_t public_src_hash(uint8_t family, fwd_u128 a)
{
	uint64_t x = (uint64_t)a ^ ((uint64_t)(a >> 64) * 0x9e3779b97f4a7c15ull) ^ family;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/*
 * A scanner that can compute its bucket finds four addresses of its own
 * bucket, has each probe 3 ports a window (no newcomer displaces them) and
 * is then refused a place: 6000 ports in a minute went unseen.
 */
static void test_scan_unaimed(void **state)
{
	struct fwd_scan *s = scan_new(16384, 20, 10000);
	uint32_t mask = scan_capacity(s) / 4 - 1, scanner = 0xcb007109, decoy[4], nd = 0;
	uint32_t hb = (uint32_t)public_src_hash(4, scanner) & mask, found = 0, ports = 0;

	(void)state;
	for (uint32_t a = 0xc6336400; nd < 4; a++)
		if (a != scanner && ((uint32_t)public_src_hash(4, a) & mask) == hb)
			decoy[nd++] = a;
	for (uint64_t t = 0; t < 60000 && !found; t += 10, ports++) {
		if (t % 10000 == 0)
			for (unsigned i = 0; i < 4; i++)
				for (uint16_t p = 1; p <= 3; p++)
					scan_note(s, 4, decoy[i], p, 1000 + t);
		found = scan_note(s, 4, scanner, (uint16_t)(1000 + ports), 1000 + t + 1);
	}
	print_message("scanner with 4 decoys: found at %u ports\n", found);
	assert_int_equal(found, 21);
	scan_free(s);
}

/*
 * A worker whose burst clock is 2 ms behind a scanner's last probe saw its
 * entry as idle for 2^64 ms and gave its place to a one-packet newcomer:
 * the scan went unseen. Four buckets, so that the newcomers meet it.
 */
static void test_scan_clock_skew(void **state)
{
	struct fwd_scan *s = scan_new(16, 20, 10000);
	uint32_t scanner = 0xcb007109, found = 0;
	uint16_t p;

	(void)state;
	for (p = 1; p <= 15; p++)
		scan_note(s, 4, scanner, p, 4986 + p);
	for (uint32_t a = 0xc0000000u; a < 0xc0000000u + 64; a++)
		scan_note(s, 4, a, 80, 4999);
	for (p = 16; p <= 30 && !found; p++)
		found = scan_note(s, 4, scanner, p, 5001 + p);
	assert_int_equal(found, 21);
	scan_free(s);
}

/* A million spoofed sources: memory is fixed, evictions counted, detection still works. */
static void test_scan_flood(void **state)
{
	struct fwd_scan *s = scan_new(4096, 20, 10000);
	size_t mem = scan_memory(s);
	uint64_t ev, sk, det;
	uint32_t cap = scan_capacity(s), scanner = 0x0a0a0a0a, found = 0;

	(void)state;
	assert_true(cap >= 4096 && cap < 2 * 4096 + 4);
	for (uint32_t i = 0; i < 1000000; i++)
		assert_int_equal(scan_note(s, 4, 0xc0000000u + i, (uint16_t)(i % 7 + 1), 5000), 0);
	assert_int_equal(scan_memory(s), mem);
	scan_counters(s, &ev, &sk, &det);
	assert_true(ev + scan_refused(s) >= 1000000 - cap);
	assert_int_equal(det, 0);
	/* Admitted at its second probe at the latest, detected by its 22nd. */
	for (uint16_t p = 1; p <= 22 && !found; p++)
		found = scan_note(s, 4, scanner, p, 6000 + p);
	assert_int_equal(found, 21);
	scan_free(s);
}

/*
 * The scan that a flood used to hide: 30 ports in 6 s from one source while
 * 300k spoofed sources a second, each with one packet, pass through a table
 * of 16384. Evicting the least recent entry forgot the scanner between two
 * of its probes; evicting by count keeps it.
 */
static void test_scan_spoofed_flood(void **state)
{
	struct fwd_scan *s = scan_new(16384, 20, 10000);
	uint32_t scanner = 0x0a0a0a0a, spoofed = 0xc0000000u, found = 0;
	uint64_t ev, sk, det;

	(void)state;
	for (uint64_t ms = 1000; ms < 7000; ms++) {
		for (unsigned i = 0; i < 300; i++, spoofed += 0x9e3779b1u)
			scan_note(s, 4, spoofed, (uint16_t)(spoofed % 1000 + 1), ms);
		if (ms % 200 == 0 && !found)
			found = scan_note(s, 4, scanner, (uint16_t)(2000 + ms / 200), ms);
	}
	scan_counters(s, &ev, &sk, &det);
	print_message("spoofed 1.8M: evicted %llu refused %llu, scanner found at %u ports\n",
		      (unsigned long long)ev, (unsigned long long)scan_refused(s), found);
	assert_true(found >= 21);
	assert_int_equal(det, 1);
	assert_true(ev > 16384);
	scan_free(s);
}

static const char scan_yaml[] =
	"version: 1\n"
	"dynamic:\n"
	"  scanners: {timeout: 10m}\n"
	"knock:\n"
	"  - {name: k, sequence: [7000/tcp, 8000/tcp], open: {set: scanners}}\n"
	"scan: {ports: 5, window: 10s, block: {set: scanners, timeout: 1m},"
	" ignore: [10.9.0.0/16, 'fd00::/8']}\n"
	"rules:\n"
	"  - {name: scanners, src: $scanners, action: drop}\n"
	"  - {name: web, proto: tcp, dport: 80, action: allow}\n";

/* dyn_scan(): the set, the event, ignore: and knock ports. */
static void test_scan_dyn(void **state)
{
	struct fwd_diags dg;
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d;
	struct fwd_dyn_event de = { 0 };
	struct fwd_key k;
	char line[256];
	uint32_t a = 0xcb007109, ig = 0x0a090001;	/* 203.0.113.9, 10.9.0.1 */

	(void)state;
	diags_init(&dg, "scan");
	c = config_parse(scan_yaml, sizeof(scan_yaml) - 1, &dg);
	if (!c)
		fail_msg("%s", dg.text);
	diags_free(&dg);
	rs = ruleset_compile(c);
	assert_int_equal(dyn_build(c, 1, &d), 0);
	k = pkt(a, 6, 80);
	assert_int_equal(dyn_resolve(d, rs, &k, classify(rs, &k), 0, 100), 1);
	for (uint32_t p = 1; p <= 5; p++) {
		k = pkt(a, 6, p);
		assert_false(dyn_scan(d, &k, 100, &de));
		k = pkt(ig, 6, p);
		assert_false(dyn_scan(d, &k, 100, &de));
		k = pkt(ig, 6, p + 10);
		assert_false(dyn_scan(d, &k, 100, &de));
	}
	k = pkt(a, 6, 7000);					/* a knock port: not counted */
	assert_false(dyn_scan(d, &k, 100, &de));
	k = pkt(a, 1, FWD_NOPORT);				/* no ports: not counted */
	assert_false(dyn_scan(d, &k, 100, &de));
	k = pkt(a, 17, 6);
	assert_true(dyn_scan(d, &k, 100, &de));
	log_format_kv(line, sizeof(line), &de.ev, "");
	assert_string_equal(line, "fwd: scan src=203.0.113.9 ports=6 window=10s set=scanners");
	k = pkt(a, 6, 7);
	assert_false(dyn_scan(d, &k, 101, &de));		/* blocked: not counted again */
	k = pkt(a, 6, 80);
	assert_int_equal(dyn_resolve(d, rs, &k, classify(rs, &k), 0, 200), 0);
	assert_int_equal(dyn_resolve(d, rs, &k, classify(rs, &k), 0, 100 + 60000), 1);
	k = pkt(ig, 6, 80);
	assert_int_equal(dyn_resolve(d, rs, &k, classify(rs, &k), 0, 200), 1);
	dyn_free(d);
	ruleset_free(rs);
	config_free(c);
}

/*
 * A real three-step knock while 300k spoofed first knocks a second churn the
 * progress table: once two steps in, the source outranks every first knock
 * and keeps its place for the second between its second and third knock.
 */
static void test_knock_flood(void **state)
{
	struct kctx x;
	uint32_t a = 0x0a0a0102, spoofed = 0xc0000000u;
	uint64_t t0 = 100000;

	(void)state;
	kctx_up(&x);
	knock(&x, a, 6, 7000, t0);
	knock(&x, a, 17, 8000, t0 + 20);
	for (uint64_t ms = 0; ms < 2000; ms++)
		for (unsigned i = 0; i < 300; i++, spoofed += 0x9e3779b1u)
			knock(&x, spoofed, 6, 7000, t0 + 20 + ms);
	knock(&x, a, 6, 9000, t0 + 2020);
	assert_int_equal(verdict(&x, a, 22, t0 + 2021), 0);	/* open */
	kctx_down(&x);
}

/*
 * Two threads as two workers: in round i both call FIRST for source i at the
 * same instant, then racer 0 calls AFTER (may be NULL) once both are done.
 */
struct racer {
	_Atomic uint32_t *gate;
	void *ctx;
	void (*first)(struct racer *r, uint32_t src);
	void (*after)(struct racer *r, uint32_t src);
	uint32_t id, rounds;
	unsigned long count;	/* FIRST's to tell */
};

/* Both racers at the gate, then both off at once; yields where CPUs are short. */
static void gate_pass(_Atomic uint32_t *gate, uint32_t want)
{
	atomic_fetch_add_explicit(gate, 1, memory_order_acq_rel);
	for (unsigned spins = 0; atomic_load_explicit(gate, memory_order_acquire) < want; spins++)
		if (spins % 4096 == 4095)
			sched_yield();
}

static void *race_loop(void *arg)
{
	struct racer *r = arg;

	for (uint32_t i = 1; i <= r->rounds; i++) {
		gate_pass(r->gate, 4 * i - 2);
		r->first(r, 0xc6120000u + i);
		gate_pass(r->gate, 4 * i);
		if (r->id == 0 && r->after)
			r->after(r, 0xc6120000u + i);
	}
	return NULL;
}

static void race(void *ctx, void (*first)(struct racer *, uint32_t),
		 void (*after)(struct racer *, uint32_t), uint32_t rounds, struct racer r[2])
{
	_Atomic uint32_t gate = 0;
	pthread_t th[2];

	for (uint32_t i = 0; i < 2; i++) {
		r[i] = (struct racer){ &gate, ctx, first, after, i, rounds, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, race_loop, &r[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
}

/* Racer 0 knocks the first step, racer 1 the second; then the third. */
static void knock_first_two(struct racer *r, uint32_t src)
{
	if (r->id == 0)
		knock(r->ctx, src, 6, 7000, 100000);
	else
		knock(r->ctx, src, 17, 8000, 100000);
}

static void knock_third(struct racer *r, uint32_t src)
{
	knock(r->ctx, src, 6, 9000, 100001);
}

/* The knock counters' "opened", from the stats JSON. */
static unsigned long doors_opened(struct kctx *x)
{
	char *json = dyn_stats_json(x->d), *p;
	unsigned long n;

	assert_non_null(json);
	p = strstr(json, "\"opened\":");
	assert_non_null(p);
	n = strtoul(p + 9, NULL, 10);
	free(json);
	return n;
}

/*
 * A source's first two knocks on two workers at the same instant (CPU
 * fanout spreads a source's flows over the queues): both find no progress
 * and both start it. The one that came second must join the first's, not
 * overwrite it, or the third knock finds one step done and the door stays
 * shut (so it did for 3 to 6 sources in 10 when both started with a plain
 * put). A worker that waits out another in mid-write gives up after a
 * bounded spin, so a writer stalled longer than that (an interrupt, a
 * hypervisor taking the vCPU) can still cost a step: rare, and allowed for
 * here as 1 in 1000.
 */
static void test_knock_first_race(void **state)
{
	struct kctx x;
	struct racer r[2];
	uint32_t n = 10000;
	unsigned long opened;

	(void)state;
	kctx_up(&x);
	race(&x, knock_first_two, knock_third, n, r);
	opened = doors_opened(&x);
	print_message("%lu of %u doors opened\n", opened, n);
	assert_true(opened >= n - n / 1000);
	kctx_down(&x);
}

/*
 * The last knock of one source on two workers at once (a retransmitted SYN,
 * a client that knocks twice): the door opened, and was logged, twice.
 */
static void test_knock_last_race(void **state)
{
	struct kctx x;
	struct racer r[2];
	uint32_t n = 10000;
	unsigned long opened;

	(void)state;
	kctx_up(&x);
	for (uint32_t i = 1; i <= n; i++) {
		knock(&x, 0xc6120000u + i, 6, 7000, 100000);
		knock(&x, 0xc6120000u + i, 17, 8000, 100000);
	}
	race(&x, knock_third, NULL, n, r);
	opened = doors_opened(&x);
	print_message("%lu doors opened for %u sources\n", opened, n);
	assert_int_equal(opened, n);
	kctx_down(&x);
}

static const char limit_yaml[] =
	"version: 1\n"
	"default: drop\n"
	"rules:\n"
	"  - {name: web, proto: tcp, dport: 80, action: allow, limit: {rate: 1/m, burst: 2}}\n";

/* YAML's config, table and dynamic state for one worker. */
static struct fwd_dyn *dyn_up(const char *yaml, struct fwd_config **c, struct fwd_ruleset **rs)
{
	struct fwd_diags dg;
	struct fwd_dyn *d;

	diags_init(&dg, "rules");
	*c = config_parse(yaml, strlen(yaml), &dg);
	if (!*c)
		fail_msg("%s", dg.text);
	diags_free(&dg);
	*rs = ruleset_compile(*c);
	assert_int_equal(dyn_build(*c, 1, &d), 0);
	return d;
}

static struct fwd_dyn *limit_up(struct fwd_config **c, struct fwd_ruleset **rs)
{
	return dyn_up(limit_yaml, c, rs);
}

static const char recheck_yaml[] =
	"version: 1\n"
	"default: drop\n"
	"dynamic:\n"
	"  doors: {timeout: 30s}\n"
	"  scanners: {timeout: 10m}\n"
	"  abusers: {timeout: 10m}\n"
	"knock:\n"
	"  - {name: k, sequence: [7000/tcp, 8000/tcp], open: {set: doors, port: 22/tcp}}\n"
	"scan: {ports: 5, window: 10s, block: {set: scanners}}\n"
	"rules:\n"
	"  - {name: scanners, src: $scanners, action: drop}\n"
	"  - {name: abusers, src: $abusers, action: reject}\n"
	"  - {name: ssh, proto: tcp, src: $doors, dport: 22, action: allow}\n"
	"  - {name: web, proto: tcp, dport: 80, action: allow,"
	" limit: {rate: 1/m, burst: 1}, on_exceed: {add: abusers}}\n";

/*
 * Sets that a drop or reject rule uses block: a member they gain or lose
 * makes a recheck due (once), and dyn_blocked() finds it; a knock's door,
 * used by an allow rule, does neither.
 */
static void test_recheck_due(void **state)
{
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d = dyn_up(recheck_yaml, &c, &rs);
	struct fwd_dyn_event de = { 0 };
	struct fwd_key k;
	uint32_t scanner = 0xcb007109, abuser = 0xcb00710a, knocker = 0xcb00710b;
	unsigned removed;

	(void)state;
	assert_true(dyn_config_blocks(c));
	assert_true(dyn_blocks(d));
	assert_true(dyn_recheck_due(d));	/* once after the build: carried members */
	assert_false(dyn_recheck_due(d));

	k = pkt(knocker, 6, 7000);
	assert_true(dyn_knock(d, &k, 100, NULL));
	k = pkt(knocker, 6, 8000);
	assert_true(dyn_knock(d, &k, 101, NULL));
	k = pkt(knocker, 6, 22);
	assert_int_equal(dyn_resolve(d, rs, &k, classify(rs, &k), 0, 102), 2);	/* door open */
	assert_false(dyn_recheck_due(d));
	assert_false(dyn_blocked(d, &k, 102));

	for (uint32_t p = 1; p <= 6; p++) {
		k = pkt(scanner, 6, p);
		dyn_scan(d, &k, 200, &de);
	}
	assert_true(dyn_recheck_due(d));
	assert_false(dyn_recheck_due(d));
	k = pkt(scanner, 17, 53);
	assert_true(dyn_blocked(d, &k, 201));
	assert_false(dyn_blocked(d, &k, 200 + 10 * 60000));	/* expired */

	k = pkt(abuser, 6, 80);
	assert_false(dyn_limit(d, 3, &k, 300, NULL));
	assert_false(dyn_blocked(d, &k, 300));
	assert_false(dyn_recheck_due(d));
	assert_true(dyn_limit(d, 3, &k, 301, NULL));			/* over: joins abusers */
	assert_true(dyn_recheck_due(d));
	assert_true(dyn_blocked(d, &k, 302));
	k.family = 6;
	assert_false(dyn_blocked(d, &k, 302));			/* the same bits, IPv6 */

	/* a CrowdSec range: 198.51.100.0/24 */
	assert_int_equal(dyn_prefix_put(d, dyn_set_find(d, "abusers"), 4, 0xc6336400, 24, 60000,
					400), 1);
	assert_true(dyn_recheck_due(d));
	k = pkt(0xc6336409, 6, 443);
	assert_true(dyn_blocked(d, &k, 401));
	k = pkt(0xc6336509, 6, 443);
	assert_false(dyn_blocked(d, &k, 401));

	/* Members leaving a blocking set (their marks come off); a door does not. */
	assert_int_equal(dyn_prefix_del(d, dyn_set_find(d, "abusers"), 4, 0xc6336400, 24), 1);
	assert_true(dyn_recheck_due(d));
	assert_int_equal(dyn_prefix_del(d, dyn_set_find(d, "abusers"), 4, 0xc6336400, 24), 0);
	assert_false(dyn_recheck_due(d));
	assert_int_equal(dyn_unblock(d, "203.0.113.11", &removed, 402), 0);	/* the knocker */
	assert_int_equal(removed, 1);		/* its door */
	assert_false(dyn_recheck_due(d));
	assert_int_equal(dyn_unblock(d, "::ffff:203.0.113.9", &removed, 402), 0);	/* the scanner */
	assert_int_equal(removed, 1);
	assert_true(dyn_recheck_due(d));
	dyn_free(d);
	ruleset_free(rs);
	config_free(c);
}

/* DE holds an event whose kv line is KV and whose JSON object holds JSON (if given). */
static void assert_event(const struct fwd_dyn_event *de, const char *kv, const char *json)
{
	char line[512];

	assert_true(de->due);
	log_format_kv(line, sizeof(line), &de->ev, "");
	assert_string_equal(line, kv);
	if (!json)
		return;
	log_format_json(line, sizeof(line), &de->ev, "", &(struct timespec){ 0, 0 });
	if (!strstr(line, json))
		fail_msg("%s\nholds no\n%s", line, json);
}

/*
 * What dyn_packet() gives the log: a door opened, a scan shown, a source a
 * limit put in a set, each once; never a knock or a limited packet as such.
 */
static void test_events(void **state)
{
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d = dyn_up(recheck_yaml, &c, &rs);
	struct fwd_dyn_event de;
	struct fwd_key k;
	uint32_t knocker = 0xcb00710b, abuser = 0xcb00710a, scanner = 0xcb007109;

#define PACKET(src, proto, port, now) \
	(k = pkt(src, proto, port), \
	 dyn_packet(d, rs, &k, classify(rs, &k), 0, now, true, &de))
	(void)state;
	assert_int_equal(PACKET(knocker, 6, 7000, 100), FWD_DYN_DROP);
	assert_false(de.due);
	assert_int_equal(PACKET(knocker, 6, 8000, 101), FWD_DYN_DROP);
	assert_event(&de, "fwd: knock name=k src=203.0.113.11 dst=10.0.0.2 open=22/tcp timeout=30s",
		     "\"event_type\":\"knock\",\"src_ip\":\"203.0.113.11\",\"dest_ip\":\"10.0.0.2\","
		     "\"knock\":\"k\",\"open\":\"22/tcp\",\"timeout\":30}");
	assert_int_equal(PACKET(knocker, 6, 22, 102), 2);		/* the door */
	assert_false(de.due);

	assert_int_equal(PACKET(abuser, 6, 80, 200), 3);
	assert_false(de.due);
	assert_int_equal(PACKET(abuser, 6, 80, 201), FWD_DYN_DROP);	/* over: joins abusers */
	assert_event(&de, "fwd: limit rule=web src=203.0.113.10 dst=10.0.0.2 proto=tcp dpt=80 "
		     "timeout=600s",
		     "\"event_type\":\"limit\",\"src_ip\":\"203.0.113.10\",\"dest_ip\":\"10.0.0.2\","
		     "\"dest_port\":80,\"proto\":\"tcp\",\"rule\":\"web\",\"timeout\":600}");
	assert_int_equal(PACKET(abuser, 6, 81, 202), 1);		/* a member now: rejected */
	assert_false(de.due);

	for (uint32_t p = 1; p <= 5; p++) {
		assert_int_equal(PACKET(scanner, 6, p, 300), -1);
		assert_false(de.due);
	}
	assert_int_equal(PACKET(scanner, 6, 6, 301), 0);		/* blocked at once */
	assert_event(&de, "fwd: scan src=203.0.113.9 ports=6 window=10s set=scanners", NULL);
	assert_int_equal(PACKET(scanner, 6, 7, 302), 0);
	assert_false(de.due);
#undef PACKET
	dyn_free(d);
	ruleset_free(rs);
	config_free(c);
}

/* PATH's text, malloc'd. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *t = calloc(1, 8192);

	assert_non_null(f);
	assert_true(fread(t, 1, 8191, f) > 0);
	fclose(f);
	return t;
}

static void spill(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/*
 * The members fwd writes come back in the next one, with their time left:
 * a scan's block, an IPv6 one, a range, a knock door. The file stays.
 */
static void test_keep_roundtrip(void **state)
{
	struct fwd_config *c, *c2;
	struct fwd_ruleset *rs, *rs2;
	struct fwd_dyn *d = dyn_up(recheck_yaml, &c, &rs), *d2 = dyn_up(recheck_yaml, &c2, &rs2);
	char path[] = "/tmp/fwd-test-keep.XXXXXX", err[160], *text;
	uint64_t now = clock_coarse_ms(), ms = 60000;
	struct keep_report r;
	struct fwd_key k;
	unsigned n;
	fwd_u128 v6;

	(void)state;
	close(mkstemp(path));
	assert_int_equal(addr_parse("2001:db8::9", &v6), 6);
	assert_true(dyn_block(d, "scanners", 4, 0xcb007109, 32, &ms, now, err, sizeof(err)) >= 0);
	assert_true(dyn_block(d, "scanners", 6, v6, 128, &ms, now, err, sizeof(err)) >= 0);
	assert_int_equal(dyn_prefix_put(d, dyn_set_find(d, "abusers"), 4, 0xc6336400, 24,
					now + 3600000, now), 1);
	k = pkt(0xcb00710b, 6, 7000);
	assert_true(dyn_knock(d, &k, now, NULL));
	k = pkt(0xcb00710b, 6, 8000);
	assert_true(dyn_knock(d, &k, now, NULL));

	assert_int_equal(keep_save(d, path, &n), 0);
	assert_int_equal(n, 4);
	text = slurp(path);
	assert_non_null(strstr(text, "# fwd: members of the dynamic sets"));
	assert_non_null(strstr(text, "\nsaved "));
	assert_non_null(strstr(text, "\nscanners 203.0.113.9 - "));
	assert_non_null(strstr(text, "\nscanners 2001:db8::9 - "));
	assert_non_null(strstr(text, "\nabusers 198.51.100.0/24 - "));
	assert_non_null(strstr(text, "\ndoors 203.0.113.11 22/tcp "));
	free(text);

	assert_int_equal(keep_load(d2, path, &r), 0);
	assert_int_equal(r.restored, 4);
	assert_int_equal(r.bad + r.expired + r.skipped + r.refused, 0);
	assert_int_equal(access(path, F_OK), 0);	/* a crash before the next write loses nothing */
	assert_true(dyn_recheck_due(d2));		/* blocking sets gained members */
	now = clock_coarse_ms();
	k = pkt(0xcb007109, 17, 53);
	assert_true(dyn_blocked(d2, &k, now));
	assert_false(dyn_blocked(d2, &k, now + 60001));
	k = pkt(0xc6336477, 6, 443);
	assert_true(dyn_blocked(d2, &k, now + 3000000));
	k = pkt(0xcb00710b, 6, 22);
	assert_int_equal(dyn_resolve(d2, rs2, &k, classify(rs2, &k), 0, now), 2);	/* door open */
	unlink(path);
	assert_int_equal(keep_load(d2, path, &r), -ENOENT);

	dyn_free(d);
	dyn_free(d2);
	ruleset_free(rs);
	ruleset_free(rs2);
	config_free(c);
	config_free(c2);
}

/*
 * What the time between the processes took comes off; a set the rules no
 * longer have, or one not kept (the CrowdSec set), gets nothing; a line
 * that is not a member is counted, the first quoted with its line and
 * column.
 */
static void test_keep_lines(void **state)
{
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d = dyn_up(recheck_yaml, &c, &rs);
	char path[] = "/tmp/fwd-test-keep.XXXXXX", text[1024];
	struct keep_report r;
	struct fwd_key k;
	uint64_t now;
	struct timespec ts;

	(void)state;
	close(mkstemp(path));
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(text, sizeof(text),
		 "# fwd: members of the dynamic sets, written at stop, read at start\n"
		 "saved %llu\n"
		 "scanners 203.0.113.1 - 60000\n"
		 "scanners 203.0.113.2 - 600000\n"
		 "gone 203.0.113.3 - 600000\n"
		 "abusers 203.0.113.4 - 600000\n"
		 "scanners 203.0.113.300 - 600000\n"
		 "scanners 203.0.113.5 22/nosuch 600000\n"
		 "scanners 203.0.113.6 - 999999999999\n"
		 "scanners 203.0.113.7\n"
		 "\n",
		 (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000 -
			 120000);
	spill(path, text);
	dyn_unkept(d, "abusers");
	assert_int_equal(keep_load(d, path, &r), 0);
	now = clock_coarse_ms();
	assert_in_range(r.age_ms, 120000, 125000);
	assert_int_equal(r.expired, 1);
	assert_int_equal(r.restored, 1);
	assert_int_equal(r.skipped, 2);
	assert_int_equal(r.bad, 4);
	assert_string_equal(r.first_bad, "7:10: '203.0.113.300': not an address or prefix");
	k = pkt(0xcb007102, 6, 80);
	assert_true(dyn_blocked(d, &k, now + 470000));
	assert_false(dyn_blocked(d, &k, now + 485000));	/* 600 s less the 120 s between */
	k = pkt(0xcb007101, 6, 80);
	assert_false(dyn_blocked(d, &k, now));
	k = pkt(0xcb007104, 6, 80);
	assert_false(dyn_blocked(d, &k, now));

	unlink(path);
	dyn_free(d);
	ruleset_free(rs);
	config_free(c);
}

/*
 * A file of this boot is dated by the boot clock: written 5 s ago, with
 * the wall clock stepped 10 days forward since (a first NTP sync), its
 * members keep their time. Of another boot, the wall clock dates it.
 */
static void test_keep_boot(void **state)
{
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d = dyn_up(recheck_yaml, &c, &rs);
	char path[] = "/tmp/fwd-test-keep.XXXXXX", text[512], id[64] = "";
	struct keep_report r;
	struct fwd_key k = pkt(0xcb007102, 6, 80);
	uint64_t wall = clock_ms(CLOCK_REALTIME), boot = clock_ms(CLOCK_BOOTTIME), now;
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	unsigned n;
	char *saved;

	(void)state;
	if (f && !fgets(id, sizeof(id), f))
		id[0] = '\0';
	if (f)
		fclose(f);
	id[strcspn(id, "\n")] = '\0';
	if (!*id)
		skip();	/* no /proc: the wall clock dates every file */
	close(mkstemp(path));

	snprintf(text, sizeof(text), "saved %llu\nboot %s %llu\nscanners 203.0.113.2 - 600000\n",
		 (unsigned long long)(wall - 10 * 86400000ULL), id,
		 (unsigned long long)(boot - 5000));
	spill(path, text);
	assert_int_equal(keep_load(d, path, &r), 0);
	now = clock_coarse_ms();
	assert_in_range(r.age_ms, 5000, 10000);
	assert_int_equal(r.restored, 1);
	assert_true(dyn_blocked(d, &k, now + 585000));
	assert_false(dyn_blocked(d, &k, now + 596000));

	snprintf(text, sizeof(text),
		 "saved %llu\nboot 00000000-0000-0000-0000-000000000000 %llu\n"
		 "scanners 203.0.113.3 - 600000\n",
		 (unsigned long long)(wall - 300000), (unsigned long long)(boot - 5000));
	spill(path, text);
	assert_int_equal(keep_load(d, path, &r), 0);
	now = clock_coarse_ms();
	assert_in_range(r.age_ms, 300000, 305000);
	assert_int_equal(r.restored, 1);
	k = pkt(0xcb007103, 6, 80);
	assert_true(dyn_blocked(d, &k, now + 290000));
	assert_false(dyn_blocked(d, &k, now + 305000));

	assert_int_equal(keep_save(d, path, &n), 0);
	saved = slurp(path);
	snprintf(text, sizeof(text), "\nboot %s ", id);
	assert_non_null(strstr(saved, text));
	free(saved);
	unlink(path);
	dyn_free(d);
	ruleset_free(rs);
	config_free(c);
}

/*
 * What makes the running fwd write the file again: a kept set that gains a
 * member, loses one, or gets a new time from `fwd block`; not a set that is
 * not kept (the CrowdSec set), whose members the file never holds.
 */
static void test_keep_changed(void **state)
{
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d = dyn_up(recheck_yaml, &c, &rs);
	uint64_t now = clock_coarse_ms(), ms = 60000;
	char err[160], *text;
	unsigned removed, n;

	(void)state;
	dyn_unkept(d, "abusers");
	assert_false(dyn_kept_changed(d));
	assert_int_equal(dyn_prefix_put(d, dyn_set_find(d, "abusers"), 4, 0xc6336400, 24,
					now + 3600000, now), 1);
	assert_false(dyn_kept_changed(d));
	assert_true(dyn_block(d, "scanners", 4, 0xcb007109, 32, &ms, now, err, sizeof(err)) >= 0);
	assert_true(dyn_kept_changed(d));
	assert_false(dyn_kept_changed(d));			/* once */
	ms = 120000;
	assert_true(dyn_block(d, "scanners", 4, 0xcb007109, 32, &ms, now, err, sizeof(err)) >= 0);
	assert_true(dyn_kept_changed(d));			/* a new time */
	text = keep_text(d, &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(text, "\nscanners 203.0.113.9 - "));
	assert_null(strstr(text, "abusers"));
	free(text);
	assert_int_equal(dyn_unblock(d, "198.51.100.0", &removed, now), 0);
	assert_false(dyn_kept_changed(d));			/* nothing of a kept set */
	assert_int_equal(dyn_unblock(d, "203.0.113.9", &removed, now), 0);
	assert_int_equal(removed, 1);
	assert_true(dyn_kept_changed(d));

	dyn_free(d);
	ruleset_free(rs);
	config_free(c);
}

/* `fwd block`: which set, for how long, and what it refuses. */
static void test_block(void **state)
{
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d = dyn_up(recheck_yaml, &c, &rs);
	struct fwd_key k;
	uint64_t ms = 0;
	char err[160];

	(void)state;
	assert_int_equal(dyn_block(d, NULL, 4, 0xcb007109, 32, &ms, 100, err, sizeof(err)), -1);
	assert_string_equal(err, "2 sets block: name one with --set");
	assert_int_equal(dyn_block(d, "doors", 4, 0xcb007109, 32, &ms, 100, err, sizeof(err)), -1);
	assert_string_equal(err, "set 'doors' blocks nothing: no drop or reject rule has it as src:");
	assert_int_equal(dyn_block(d, "nosuch", 4, 0xcb007109, 32, &ms, 100, err, sizeof(err)), -1);
	assert_string_equal(err, "no dynamic set 'nosuch'");
	assert_int_equal(dyn_block(NULL, NULL, 4, 0xcb007109, 32, &ms, 100, err, sizeof(err)), -1);
	assert_string_equal(err, "no dynamic set blocks: a drop or reject rule with src: $SET makes one");
	assert_true(dyn_recheck_due(d));
	assert_false(dyn_recheck_due(d));

	assert_int_equal(dyn_block(d, "scanners", 4, 0xcb007109, 32, &ms, 100, err, sizeof(err)),
			 dyn_set_find(d, "scanners"));
	assert_int_equal(ms, 10 * 60000);			/* the set's timeout */
	assert_true(dyn_recheck_due(d));
	k = pkt(0xcb007109, 6, 22);
	assert_true(dyn_blocked(d, &k, 101));
	assert_int_equal(dyn_resolve(d, rs, &k, classify(rs, &k), 0, 101), 0);

	ms = 5000;						/* a prefix, for 5 s */
	assert_true(dyn_block(d, "abusers", 4, 0xc6336400, 24, &ms, 100, err, sizeof(err)) >= 0);
	k = pkt(0xc63364fe, 17, 53);
	assert_true(dyn_blocked(d, &k, 5099));
	assert_false(dyn_blocked(d, &k, 5100));
	dyn_free(d);
	ruleset_free(rs);
	config_free(c);
}

/* Without a drop or reject rule on a set nothing blocks. */
static void test_recheck_none(void **state)
{
	static const char yaml[] =
		"version: 1\n"
		"dynamic:\n"
		"  friends: {timeout: 30s}\n"
		"rules:\n"
		"  - {name: friends, src: $friends, action: allow}\n"
		"  - {name: rest, action: drop}\n";
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d = dyn_up(yaml, &c, &rs);

	(void)state;
	assert_false(dyn_config_blocks(c));
	assert_false(dyn_blocks(d));
	assert_false(dyn_recheck_due(d));
	assert_int_equal(dyn_prefix_put(d, dyn_set_find(d, "friends"), 4, 0x0a000001, 32, 1000, 1),
			 1);
	assert_false(dyn_recheck_due(d));
	dyn_free(d);
	ruleset_free(rs);
	config_free(c);
}

/*
 * A source limited to 1/m burst 2 sends 100 SYNs over 10 s while 100k
 * spoofed sources a second take one token each from a table of
 * FWD_LIMIT_SOURCES: the drained bucket is never the one evicted.
 */
static void test_limit_flood(void **state)
{
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d = limit_up(&c, &rs);
	struct fwd_key k;
	uint32_t a = 0x0a0a0102, spoofed = 0xc0000000u, passed = 0;

	(void)state;
	for (uint64_t ms = 1000; ms < 11000; ms++) {
		for (unsigned i = 0; i < 100; i++, spoofed += 0x9e3779b1u) {
			k = pkt(spoofed, 6, 80);
			dyn_limit(d, 0, &k, ms, NULL);
		}
		k = pkt(a, 6, 80);
		if (ms % 100 == 0 && !dyn_limit(d, 0, &k, ms, NULL))
			passed++;
	}
	print_message("limited source: %u of 100 SYNs passed among 1M spoofed\n", passed);
	assert_true(passed >= 2 && passed <= 4);
	dyn_free(d);
	ruleset_free(rs);
	config_free(c);
}

/* 40000 spoofed sources from FIRST on, 3 SYNs each: a table of refused sources. */
static void fill_refused(struct fwd_dyn *d, uint32_t first, uint64_t now)
{
	struct fwd_key k;

	for (unsigned i = 0; i < 40000; i++, first += 0x9e3779b1u) {
		k = pkt(first, 6, 80);
		for (int j = 0; j < 3; j++)
			dyn_limit(d, 0, &k, now, NULL);
	}
}

/*
 * A table full of sources that were refused (40000 sources, 3 SYNs each)
 * outranks every newcomer: a hammering source is refused a place at each
 * SYN. It was let through every time (1000 of 1000); now it gets its first
 * SYN only.
 */
static void test_limit_table_full(void **state)
{
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d = limit_up(&c, &rs);
	struct fwd_key k = pkt(0x0a0a0102, 6, 80);
	uint32_t passed = 0;

	(void)state;
	fill_refused(d, 0xc0000000u, 100000);
	for (unsigned i = 0; i < 1000; i++)
		passed += !dyn_limit(d, 0, &k, 101000 + i * 10, NULL);
	print_message("hammering source: %u of 1000 SYNs passed a full table\n", passed);
	assert_int_equal(passed, 1);
	dyn_free(d);
	ruleset_free(rs);
	config_free(c);
}

/*
 * Two workers whose burst clocks differ by 1 ms: the one behind saw a
 * stamp from its future, counted 2^32 ms since and refilled the bucket.
 * 100 of 100 SYNs passed a 1/m burst 2 limit; the burst passes now.
 */
static void test_limit_clock_skew(void **state)
{
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d = limit_up(&c, &rs);
	struct fwd_key k = pkt(0x0a0a0102, 6, 80);
	unsigned passed = 0;

	(void)state;
	for (unsigned i = 0; i < 100; i++)
		passed += !dyn_limit(d, 0, &k, i % 2 ? 99999 : 100000, NULL);
	assert_int_equal(passed, 2);
	dyn_free(d);
	ruleset_free(rs);
	config_free(c);
}

/* A burst no refill adds to while the test runs (1/h, the clock held still). */
#define TAKE_BURST	200000
#define TAKE_TRIES	400000

struct taker {
	struct fwd_dyn *d;
	unsigned long passed;
};

static void *take_loop(void *arg)
{
	struct taker *t = arg;
	struct fwd_key k = pkt(0x0a0a0102, 6, 80);

	for (unsigned i = 0; i < TAKE_TRIES; i++)
		t->passed += !dyn_limit(t->d, 0, &k, 1000, NULL);
	return NULL;
}

/*
 * Two workers taking tokens of one source at once: each read the bucket
 * and wrote it back, so one's take overwrote the other's and the source
 * got up to twice its burst (1.75 M through a burst of 1 M). The bucket is
 * now written back with a compare and swap: the burst, and no more.
 */
static void test_limit_two_workers(void **state)
{
	static const char yaml[] =
		"version: 1\n"
		"default: drop\n"
		"rules:\n"
		"  - {name: web, proto: tcp, dport: 80, action: allow,"
		" limit: {rate: 1/h, burst: 200000}}\n";
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d = dyn_up(yaml, &c, &rs);
	struct taker t[2] = { { d, 0 }, { d, 0 } };
	struct fwd_key k = pkt(0x0a0a0102, 6, 80);
	pthread_t th[2];
	unsigned long passed;

	(void)state;
	/* The bucket exists before they race (its making: test_limit_first_race). */
	passed = !dyn_limit(d, 0, &k, 1000, NULL);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, take_loop, &t[i]), 0);
	for (unsigned i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	passed += t[0].passed + t[1].passed;
	print_message("two workers, one source: %lu of %u SYNs passed a burst of %u\n", passed,
		      2 * TAKE_TRIES + 1, TAKE_BURST);
	assert_true(passed <= TAKE_BURST);
	assert_true(passed >= TAKE_BURST / 2);
	dyn_free(d);
	ruleset_free(rs);
	config_free(c);
}

/*
 * A new connection of SRC to the 1/s burst 1 limit, 2 s after the round
 * before (its bucket full again and gone: the table never fills); counts
 * what passed.
 */
static void limit_first(struct racer *r, uint32_t src)
{
	struct fwd_key k = pkt(src, 6, 80);

	r->count += !dyn_limit(r->ctx, 0, &k, 2000 * (uint64_t)(src - 0xc6120000u), NULL);
}

/*
 * A new source's first two packets on two workers at once, a burst of 1:
 * both found no bucket and each made one, so both passed (for about 9
 * sources in 10). The second now takes its token from the first's bucket.
 * As for the knocks, a writer stalled mid-write may still let one more
 * through: allowed for as 1 source in 1000.
 */
static void test_limit_first_race(void **state)
{
	static const char yaml[] =
		"version: 1\n"
		"default: drop\n"
		"rules:\n"
		"  - {name: web, proto: tcp, dport: 80, action: allow,"
		" limit: {rate: 1/s, burst: 1}}\n";
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d = dyn_up(yaml, &c, &rs);
	struct racer r[2];
	uint32_t n = 10000;
	unsigned long passed;

	(void)state;
	race(d, limit_first, NULL, n, r);
	passed = r[0].count + r[1].count;
	print_message("%lu of %u sources got both of two first packets through\n", passed - n, n);
	assert_true(passed >= n);
	assert_true(passed <= n + n / 1000);
	dyn_free(d);
	ruleset_free(rs);
	config_free(c);
}

/* Over the limit (its one token taken before the race): counts the events. */
static void limit_over(struct racer *r, uint32_t src)
{
	struct fwd_key k = pkt(src, 6, 80);
	struct fwd_dyn_event ev = { 0 };

	if (dyn_limit(r->ctx, 0, &k, 1000, &ev))
		r->count += ev.due;
	else
		r->count += 1000000;	/* passed: out of the test's bounds */
}

static void count_member(void *arg, const char *set, const struct fwd_dkey *k, uint64_t expires)
{
	(void)set;
	(void)k;
	(void)expires;
	++*(unsigned long *)arg;
}

/*
 * A source over its limit on two workers at once, `on_exceed: {add: SET}`:
 * both added it, so the set held it twice and the addition was logged (and
 * sent to CrowdSec) twice. Now once.
 */
static void test_limit_add_race(void **state)
{
	static const char yaml[] =
		"version: 1\n"
		"default: drop\n"
		"dynamic:\n"
		"  abusers: {timeout: 10m, max: 20000}\n"
		"rules:\n"
		"  - {name: web, proto: tcp, dport: 80, action: allow,"
		" limit: {rate: 1/h, burst: 1}, on_exceed: {add: abusers}}\n";
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d = dyn_up(yaml, &c, &rs);
	struct racer r[2];
	uint32_t n = 2000;	/* an eighth of the limit's table: no source is refused a bucket */
	unsigned long members = 0;

	(void)state;
	for (uint32_t i = 1; i <= n; i++) {
		struct fwd_key k = pkt(0xc6120000u + i, 6, 80);

		assert_false(dyn_limit(d, 0, &k, 1000, NULL));
	}
	race(d, limit_over, NULL, n, r);
	dyn_members(d, 1000, count_member, &members);
	print_message("%lu events, %lu members for %u sources\n", r[0].count + r[1].count,
		      members, n);
	assert_int_equal(r[0].count + r[1].count, n);
	assert_int_equal(members, n);
	dyn_free(d);
	ruleset_free(rs);
	config_free(c);
}

/* One file's dynamic state, for the reload tests. */
struct gen {
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d;
};

static void gen_up(struct gen *g, const char *yaml, struct gen *old, uint64_t now)
{
	struct fwd_diags dg;

	diags_init(&dg, "reload");
	g->c = config_parse(yaml, strlen(yaml), &dg);
	if (!g->c)
		fail_msg("%s", dg.text);
	diags_free(&dg);
	g->rs = ruleset_compile(g->c);
	assert_int_equal(dyn_build(g->c, 1, &g->d), 0);
	if (!old)
		return;
	/* live_replace(): before the new table is published, then after the grace period. */
	dyn_carry_state(g->d, old->d, now);
	dyn_carry(g->d, old->d);
	dyn_free(old->d);
	ruleset_free(old->rs);
	config_free(old->c);
}

static void gen_down(struct gen *g)
{
	dyn_free(g->d);
	ruleset_free(g->rs);
	config_free(g->c);
}

#define RELOAD_YAML(RATE, SEQ) \
	"version: 1\n" \
	"default: drop\n" \
	"dynamic:\n" \
	"  doors: {timeout: 30s}\n" \
	"  scanners: {timeout: 10m}\n" \
	"knock:\n" \
	"  - {name: ssh, sequence: [" SEQ "], window: 10s, open: {set: doors, port: 22/tcp}}\n" \
	"scan: {ports: 5, window: 10s, block: {set: scanners}}\n" \
	"rules:\n" \
	"  - {name: scanners, src: $scanners, action: drop}\n" \
	"  - {name: ssh-door, proto: tcp, src: $doors, dport: 22, action: allow}\n" \
	"  - {name: web, proto: tcp, dport: 80, action: allow, limit: {rate: " RATE ", burst: 2}}\n"

/*
 * A reload keeps what the traffic built up: a drained bucket stays drained,
 * a knock under way goes on, a scan under way goes on counting. Each
 * started again at every reload: a limited source got a fresh burst, a
 * knock had to start over, a scan spread over a reload went unseen. What
 * changed (another rate, another sequence) starts again.
 */
static void test_reload_keeps_state(void **state)
{
	static const char same[] = RELOAD_YAML("1/m", "7000/tcp, 8000/udp, 9000/tcp");
	static const char other[] = RELOAD_YAML("2/m", "7000/tcp, 8001/udp, 9000/tcp");
	uint32_t a = 0x0a0a0102, scanner = 0xcb007109;
	uint64_t now = clock_coarse_ms();
	struct fwd_dyn_event de = { 0 };
	struct fwd_key k;
	struct gen g, h;

	(void)state;
	gen_up(&g, same, NULL, now);
	k = pkt(a, 6, 80);
	assert_false(dyn_limit(g.d, 2, &k, now, NULL));
	assert_false(dyn_limit(g.d, 2, &k, now, NULL));
	assert_true(dyn_limit(g.d, 2, &k, now, NULL));		/* the burst is spent */
	k = pkt(a, 6, 7000);
	assert_true(dyn_knock(g.d, &k, now, NULL));
	k = pkt(a, 17, 8000);
	assert_true(dyn_knock(g.d, &k, now, NULL));
	for (uint32_t p = 1; p <= 5; p++) {
		k = pkt(scanner, 6, p);
		assert_false(dyn_scan(g.d, &k, now, &de));
	}

	gen_up(&h, same, &g, now + 1);
	k = pkt(a, 6, 80);
	assert_true(dyn_limit(h.d, 2, &k, now + 1, NULL));		/* still spent */
	k = pkt(a, 6, 9000);
	assert_true(dyn_knock(h.d, &k, now + 1, NULL));
	k = pkt(a, 6, 22);
	assert_int_equal(dyn_resolve(h.d, h.rs, &k, classify(h.rs, &k), 0, now + 1), 1);
	k = pkt(scanner, 6, 6);
	assert_true(dyn_scan(h.d, &k, now + 1, &de));		/* the sixth port */

	k = pkt(0x0a0a0103, 6, 7000);				/* b's first knock */
	assert_true(dyn_knock(h.d, &k, now + 1, NULL));

	gen_up(&g, other, &h, now + 2);
	k = pkt(a, 6, 80);
	assert_false(dyn_limit(g.d, 2, &k, now + 2, NULL));		/* another rate: a new bucket */
	k = pkt(a, 6, 22);					/* the door stays open */
	assert_int_equal(dyn_resolve(g.d, g.rs, &k, classify(g.rs, &k), 0, now + 2), 1);
	/* Another sequence: b's first knock does not count towards it. */
	k = pkt(0x0a0a0103, 17, 8001);
	assert_true(dyn_knock(g.d, &k, now + 2, NULL));
	k = pkt(0x0a0a0103, 6, 9000);
	assert_true(dyn_knock(g.d, &k, now + 2, NULL));
	k = pkt(0x0a0a0103, 6, 22);
	assert_int_equal(dyn_resolve(g.d, g.rs, &k, classify(g.rs, &k), 0, now + 2), -1);
	gen_down(&g);
}

/*
 * The limits' doorkeeper goes over a reload with the buckets: a source
 * refused a place in a full table got its first SYN through, and one more
 * at every reload, because the new doorkeeper had never seen it.
 */
static void test_reload_keeps_doorkeeper(void **state)
{
	uint32_t passed = 0;
	uint64_t now = 100000;
	struct fwd_key k = pkt(0x0a0a0102, 6, 80);
	struct gen g, h;

	(void)state;
	gen_up(&g, limit_yaml, NULL, now);
	fill_refused(g.d, 0xc0000000u, now);
	passed += !dyn_limit(g.d, 0, &k, now + 10, NULL);
	gen_up(&h, limit_yaml, &g, now + 20);
	fill_refused(h.d, 0x20000000u, now + 20);
	for (unsigned i = 0; i < 10; i++)
		passed += !dyn_limit(h.d, 0, &k, now + 30 + i * 10, NULL);
	print_message("hammering source: %u of 11 SYNs passed a full table over a reload\n",
		      passed);
	assert_int_equal(passed, 1);
	gen_down(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_eviction_order),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_refresh_keeps_member),
		cmocka_unit_test(test_dtable_unaimed),
		cmocka_unit_test(test_knock),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_scan_threshold),
		cmocka_unit_test(test_scan_window),
		cmocka_unit_test(test_scan_sliding),
		cmocka_unit_test(test_scan_unaimed),
		cmocka_unit_test(test_scan_clock_skew),
		cmocka_unit_test(test_scan_flood),
		cmocka_unit_test(test_scan_spoofed_flood),
		cmocka_unit_test(test_knock_flood),
		cmocka_unit_test(test_knock_first_race),
		cmocka_unit_test(test_knock_last_race),
		cmocka_unit_test(test_recheck_due),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_recheck_none),
		cmocka_unit_test(test_block),
		cmocka_unit_test(test_keep_roundtrip),
		cmocka_unit_test(test_keep_lines),
		cmocka_unit_test(test_keep_boot),
		cmocka_unit_test(test_keep_changed),
		cmocka_unit_test(test_limit_flood),
		cmocka_unit_test(test_limit_table_full),
		cmocka_unit_test(test_limit_clock_skew),
		cmocka_unit_test(test_limit_two_workers),
		cmocka_unit_test(test_limit_first_race),
		cmocka_unit_test(test_limit_add_race),
		cmocka_unit_test(test_reload_keeps_state),
		cmocka_unit_test(test_reload_keeps_doorkeeper),
		cmocka_unit_test(test_scan_dyn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
