// SPDX-License-Identifier: MIT
/* test_dynset.c - bounded lock-free dynamic tables, knocking, dynamic rules. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fwd/dynset.h"
#include "fwd/log.h"

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
	assert_int_equal(dtable_del_addr(&t, 4, 0x0a000001), 1);
	assert_int_equal(dtable_count(&t, 2000), 0);
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
	assert_int_equal(dyn_build(x->c, x->rs, 2, &x->d), 0);
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

	return dyn_knock(x->d, &k, now);
}

static void test_knock(void **state)
{
	struct kctx x;
	uint32_t a = 0x0a0a0102, b = 0x0a0a0103;

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
	kctx_down(&x);
}

/* A million spoofed sources: memory stays fixed, an opened door stays open. */
static void test_exhaustion(void **state)
{
	struct kctx x;
	uint32_t a = 0x0a0a0102;
	uint64_t t0 = log_now_ms();
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_eviction_order),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_knock),
		cmocka_unit_test(test_exhaustion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
