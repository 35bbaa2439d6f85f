// SPDX-License-Identifier: MIT
/*
 * test_crowdsec.c - the Local API's JSON -> the decisions fwd applies, as a
 * table of golden cases (answer in, one line per decision out); Go's
 * duration text; the alert fwd pushes; prefix entries in a dynamic set as
 * the packet path sees them; the credentials file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "fwd/ruleset.h"
#include "fwd/crowdsec.h"
#include "fwd/dyn.h"

/* One answer and what fwd makes of it: decision lines, then "skip T S V E". */
struct golden {
	const char *name;
	const char *json;
	const char *want;	/* NULL: the answer is refused */
};

static const struct golden cases[] = {
	{ "startup, as crowdsec 1.4.6 answers",
	  "{\"deleted\":null,\"new\":[{\"duration\":\"1m59.018285927s\",\"id\":1,"
	  "\"origin\":\"cscli\",\"scenario\":\"manual 'ban' from 'cli'\",\"scope\":\"Ip\","
	  "\"type\":\"ban\",\"value\":\"10.9.9.9\"},{\"duration\":\"2m59.018283092s\",\"id\":2,"
	  "\"origin\":\"cscli\",\"scope\":\"Range\",\"type\":\"ban\",\"value\":\"10.8.0.0/16\"},"
	  "{\"duration\":\"59m59.018282421s\",\"id\":3,\"scope\":\"Ip\",\"type\":\"ban\","
	  "\"value\":\"2001:db8::5\"}]}",
	  "ban 10.9.9.9/32 119018ms\n"
	  "ban 10.8.0.0/16 179018ms\n"
	  "ban 2001:db8::5/128 3599018ms\n"
	  "skip 0 0 0 0\n" },
	{ "deleted first, whatever the order of the keys",
	  "{\"new\":[{\"duration\":\"4h0m0s\",\"scope\":\"ip\",\"type\":\"ban\",\"value\":\"192.0.2.1\"}],"
	  "\"deleted\":[{\"duration\":\"-15.616887ms\",\"scope\":\"Ip\",\"type\":\"ban\","
	  "\"value\":\"10.9.9.9\"}]}",
	  "delete 10.9.9.9/32\n"
	  "ban 192.0.2.1/32 14400000ms\n"
	  "skip 0 0 0 0\n" },
	{ "empty delta",
	  "{\"deleted\":null,\"new\":null}\n",
	  "skip 0 0 0 0\n" },
	{ "ranges: host bits cleared, IPv6, a full-length range is one address",
	  "{\"new\":[{\"duration\":\"1h\",\"scope\":\"Range\",\"type\":\"ban\",\"value\":\"10.1.2.3/8\"},"
	  "{\"duration\":\"1h\",\"scope\":\"Range\",\"type\":\"ban\",\"value\":\"2001:db8:1:2::9/64\"},"
	  "{\"duration\":\"1h\",\"scope\":\"Range\",\"type\":\"ban\",\"value\":\"198.51.100.7/32\"}]}",
	  "ban 10.0.0.0/8 3600000ms\n"
	  "ban 2001:db8:1:2::/64 3600000ms\n"
	  "ban 198.51.100.7/32 3600000ms\n"
	  "skip 0 0 0 0\n" },
	{ "not for a firewall: captcha, country, AS; bad values; /0; expired",
	  "{\"new\":[{\"duration\":\"1h\",\"scope\":\"Ip\",\"type\":\"captcha\",\"value\":\"192.0.2.2\"},"
	  "{\"duration\":\"1h\",\"scope\":\"Country\",\"type\":\"ban\",\"value\":\"FR\"},"
	  "{\"duration\":\"1h\",\"scope\":\"AS\",\"type\":\"ban\",\"value\":\"64496\"},"
	  "{\"duration\":\"1h\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"192.0.2.300\"},"
	  "{\"duration\":\"1h\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"10.0.0.0/8\"},"
	  "{\"duration\":\"1h\",\"scope\":\"Range\",\"type\":\"ban\",\"value\":\"10.0.0.1\"},"
	  "{\"duration\":\"1h\",\"scope\":\"Range\",\"type\":\"ban\",\"value\":\"0.0.0.0/0\"},"
	  "{\"duration\":\"1h\",\"scope\":\"Range\",\"type\":\"ban\",\"value\":\"10.0.0.0/33\"},"
	  "{\"duration\":\"soon\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"192.0.2.3\"},"
	  "{\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"192.0.2.4\"},"
	  "{\"duration\":\"1h\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":7},"
	  "{\"duration\":\"-2s\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"192.0.2.5\"},"
	  "{\"duration\":\"1h\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"192.0.2.6\"}]}",
	  "ban 192.0.2.6/32 3600000ms\n"
	  "skip 1 2 8 1\n" },
	{ "garbage: HTML", "<html>502 Bad Gateway</html>", NULL },
	{ "garbage: truncated", "{\"deleted\":null,\"new\":[{\"duration\":\"1h\",", NULL },
	{ "garbage: trailing data", "{\"new\":null} {}", NULL },
	{ "garbage: a list", "[]", NULL },
	{ "garbage: another object", "{\"message\":\"access forbidden\"}", NULL },
	{ "garbage: new is not a list", "{\"new\":{\"value\":\"10.0.0.1\"}}", NULL },
	{ "garbage: an element is not an object", "{\"new\":[\"10.0.0.1\"]}", NULL },
	{ "garbage: empty", "", NULL },
};

static void render(const struct fwd_cs_stream *s, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < s->n; i++) {
		char line[128];

		crowdsec_decision_text(&s->d[i], line, sizeof(line));
		n += (size_t)snprintf(out + n, len - n, "%s\n", line);
	}
	snprintf(out + n, len - n, "skip %llu %llu %llu %llu\n",
		 (unsigned long long)s->skipped[FWD_CS_SKIP_TYPE],
		 (unsigned long long)s->skipped[FWD_CS_SKIP_SCOPE],
		 (unsigned long long)s->skipped[FWD_CS_SKIP_VALUE],
		 (unsigned long long)s->skipped[FWD_CS_SKIP_EXPIRED]);
}

static void test_stream_golden(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fwd_cs_stream s = { 0 };
		char got[2048], err[256] = "";
		int e = crowdsec_stream_parse(cases[i].json, strlen(cases[i].json), &s, err,
					      sizeof(err));

		if (!cases[i].want) {
			if (e != -EINVAL || !err[0])
				fail_msg("%s: accepted (or no reason given)", cases[i].name);
		} else {
			if (e)
				fail_msg("%s: refused: %s", cases[i].name, err);
			render(&s, got, sizeof(got));
			if (strcmp(got, cases[i].want))
				fail_msg("%s:\nwant:\n%sgot:\n%s", cases[i].name, cases[i].want, got);
		}
		crowdsec_stream_free(&s);
	}
}

static void test_go_duration(void **state)
{
	static const struct {
		const char *s;
		int64_t ms;
	} ok[] = {
		{ "0", 0 }, { "1h", 3600000 }, { "4h0m0s", 14400000 }, { "1m59.018285927s", 119018 },
		{ "-15.616887ms", -15 }, { "300ms", 300 }, { "1.5h", 5400000 }, { "2m", 120000 },
		{ "10s", 10000 }, { "1500us", 1 }, { "1500\xc2\xb5s", 1 }, { "999999ns", 0 },
		{ "+1s", 1000 }, { ".5s", 500 }, { "168h", 604800000 }, { "1.h", 3600000 },
	};
	static const char *const bad[] = {
		"", "-", "1", "h", "1x", "1h2", ".s", "1 h", "99999999999999999999h", "s1",
		"1hh",
	};
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (!cs_go_duration_ms(ok[i].s, &ms))
			fail_msg("'%s' refused", ok[i].s);
		if (ms != ok[i].ms)
			fail_msg("'%s': %lld ms, want %lld", ok[i].s, (long long)ms,
				 (long long)ok[i].ms);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cs_go_duration_ms(bad[i], &ms))
			fail_msg("'%s' accepted", bad[i]);
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	assert_true(json_object_object_get_ex(o, k, &v));
	return json_object_get_string(v);
}

/* The body of /v1/alerts: what crowdsec 1.4.6 takes (seen in the e2e test). */
static void test_alert_json(void **state)
{
	struct fwd_cs_report r = {
		.kind = FWD_CS_SCAN, .family = 4, .duration_ms = 600000, .detail = 21,
		.addr = 0xcb007109, .rule = "scanners",
	};
	char *s = crowdsec_alert_json(&r, "2026-01-02T03:04:05Z");
	json_object *a, *al, *src, *d;

	(void)state;
	assert_non_null(s);
	a = json_tokener_parse(s);
	assert_non_null(a);
	assert_int_equal(json_object_array_length(a), 1);
	al = json_object_array_get_idx(a, 0);
	assert_string_equal(jstr(al, "scenario"), "fwd/port-scan");
	assert_string_equal(jstr(al, "message"),
			    "fwd: 203.0.113.9 scanned 21 ports; blocked in set scanners");
	assert_string_equal(jstr(al, "start_at"), "2026-01-02T03:04:05Z");
	assert_true(json_object_object_get_ex(al, "source", &src));
	assert_string_equal(jstr(src, "scope"), "Ip");
	assert_string_equal(jstr(src, "value"), "203.0.113.9");
	assert_true(json_object_object_get_ex(al, "decisions", &d));
	d = json_object_array_get_idx(d, 0);
	assert_string_equal(jstr(d, "type"), "ban");
	assert_string_equal(jstr(d, "duration"), "600s");
	assert_string_equal(jstr(d, "value"), "203.0.113.9");
	json_object_put(a);
	free(s);

	r.kind = FWD_CS_LIMIT;
	r.family = 6;
	r.addr = (fwd_u128)0x20010db8 << 96 | 1;
	r.duration_ms = 1500;
	strcpy(r.rule, "ssh-limit");
	s = crowdsec_alert_json(&r, "2026-01-02T03:04:05Z");
	assert_non_null(strstr(s, "rate-limit"));
	assert_non_null(strstr(s, "\"value\":\"2001:db8::1\""));
	assert_non_null(strstr(s, "\"duration\":\"1500ms\""));
	assert_non_null(strstr(s, "exceeded the limit of rule ssh-limit"));
	free(s);
}

static const char rules_yaml[] =
	"version: 1\n"
	"dynamic:\n"
	"  cs: {timeout: 1h}\n"
	"crowdsec: {url: 'http://127.0.0.1:8080/', key_file: /k, set: cs, interval: 1s}\n"
	"rules:\n"
	"  - {name: banned, src: $cs, action: drop}\n"
	"  - {name: all, action: allow}\n";

static struct fwd_key pkt4(uint32_t src)
{
	struct fwd_key k = { .family = 4, .proto = 6, .sport = 40000, .dport = 80, .src = src };

	return k;
}

static struct fwd_key pkt6(fwd_u128 src)
{
	struct fwd_key k = { .family = 6, .proto = 6, .sport = 40000, .dport = 80, .src = src };

	return k;
}

static int judge(struct fwd_dyn *d, struct fwd_ruleset *rs, struct fwd_key k, uint64_t now)
{
	return dyn_resolve(d, rs, &k, classify(rs, &k), 0, now);
}

/* Decisions as the packet path sees them: addresses, ranges, expiry, delete. */
static void test_set_prefixes(void **state)
{
	struct fwd_diags dg;
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_dyn *d;
	fwd_u128 net6 = (fwd_u128)0x20010db8 << 96 | (fwd_u128)0x00010002 << 64;
	int set;

	(void)state;
	diags_init(&dg, "cs");
	c = config_parse(rules_yaml, sizeof(rules_yaml) - 1, &dg);
	if (!c)
		fail_msg("%s", dg.text);
	diags_free(&dg);
	assert_non_null(c->crowdsec);
	assert_string_equal(c->crowdsec->url, "http://127.0.0.1:8080");
	assert_int_equal(c->crowdsec->interval_ms, 1000);
	rs = ruleset_compile(c);
	assert_int_equal(dyn_build(c, 1, &d), 0);
	set = dyn_set_find(d, "cs");
	assert_int_equal(set, 0);
	assert_int_equal(judge(d, rs, pkt4(0x0a080102), 100), 1);
	/* 10.8.0.0/16 for 1000 ms, 192.0.2.1 alone, 2001:db8:1:2::/64 */
	assert_int_equal(dyn_prefix_put(d, set, 4, 0x0a08ffff, 16, 1100, 100), 1);
	assert_int_equal(dyn_prefix_put(d, set, 4, 0xc0000201, 32, 5000, 100), 1);
	assert_int_equal(dyn_prefix_put(d, set, 6, net6 | 9, 64, 5000, 100), 1);
	assert_int_equal(judge(d, rs, pkt4(0x0a080102), 200), 0);
	assert_int_equal(judge(d, rs, pkt4(0x0a090102), 200), 1);
	assert_int_equal(judge(d, rs, pkt4(0xc0000201), 200), 0);
	assert_int_equal(judge(d, rs, pkt4(0xc0000202), 200), 1);
	assert_int_equal(judge(d, rs, pkt6(net6 | 0xffff), 200), 0);
	assert_int_equal(judge(d, rs, pkt6(net6 + ((fwd_u128)1 << 64)), 200), 1);
	assert_int_equal(dyn_prefix_count(d, set, 200), 3);
	/* the range expires; the address is deleted; the /64 stays */
	assert_int_equal(judge(d, rs, pkt4(0x0a080102), 1100), 1);
	assert_int_equal(dyn_prefix_del(d, set, 4, 0xc0000201, 32), 1);
	assert_int_equal(judge(d, rs, pkt4(0xc0000201), 1200), 1);
	assert_int_equal(dyn_prefix_count(d, set, 1200), 1);
	dyn_free(d);
	ruleset_free(rs);
	config_free(c);
}

static void test_machine_file(void **state)
{
	char path[] = "/tmp/fwd-cs-machine.XXXXXX", err[256];
	char *login = NULL, *pw = NULL;
	int fd = mkstemp(path);
	static const char text[] = "url: http://127.0.0.1:8080\nlogin: gw1\npassword: s3cr3t\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	assert_int_equal(crowdsec_machine_read(path, &login, &pw, err, sizeof(err)), 0);
	assert_string_equal(login, "gw1");
	assert_string_equal(pw, "s3cr3t");
	free(login);
	free(pw);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "login: [x]\n", 11), 11);
	close(fd);
	assert_int_not_equal(crowdsec_machine_read(path, &login, &pw, err, sizeof(err)), 0);
	unlink(path);
	assert_int_not_equal(crowdsec_machine_read(path, &login, &pw, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "cannot read"));
}

/* The hand-over queue: bounded, in order, off without a machine_file. */
static void test_outbox(void **state)
{
	struct fwd_crowdsec_conf *cs = crowdsec_conf_new((struct fwd_pos){ 1, 1 });
	struct fwd_cs_counters c0, c1;
	struct fwd_cs_report r;

	(void)state;
	strcpy(cs->set, "cs");
	crowdsec_configure(cs);			/* no machine_file: nothing queued */
	outbox_push(FWD_CS_SCAN, 4, 1, 1000, 21, "scanners");
	assert_false(outbox_pop(&r));
	cs->machine_file = strdup("/m.yaml");
	crowdsec_configure(cs);
	crowdsec_counters(&c0);
	for (int round = 0; round < 3; round++) {
		for (uint32_t i = 0; i < 300; i++)
			outbox_push(FWD_CS_LIMIT, 6, i, 1000 + i, 0, "web");
		for (uint32_t i = 0; i < 256; i++) {
			assert_true(outbox_pop(&r));
			assert_true(r.addr == i && r.duration_ms == 1000 + i && r.family == 6);
			assert_int_equal(r.kind, FWD_CS_LIMIT);
			assert_string_equal(r.rule, "web");
		}
		assert_false(outbox_pop(&r));
	}
	crowdsec_counters(&c1);
	assert_int_equal(c1.alerts_dropped - c0.alerts_dropped, 3 * 44);
	crowdsec_configure(NULL);
	outbox_push(FWD_CS_SCAN, 4, 1, 1000, 21, "scanners");
	assert_false(outbox_pop(&r));
	crowdsec_conf_free(cs);
}

static _Atomic int producers_left;

static void *producer(void *arg)
{
	uint32_t base = (uint32_t)(uintptr_t)arg << 20;

	for (uint32_t i = 0; i < 20000; i++)
		outbox_push(FWD_CS_SCAN, 4, base | i, base | i, base | i, "s");
	atomic_fetch_sub(&producers_left, 1);
	return NULL;
}

/* Four workers report at once while the consumer drains: nothing torn, all counted. */
static void test_outbox_concurrent(void **state)
{
	struct fwd_crowdsec_conf *cs = crowdsec_conf_new((struct fwd_pos){ 1, 1 });
	struct fwd_cs_counters c0, c1;
	struct fwd_cs_report r;
	pthread_t t[4];
	uint64_t got = 0;

	(void)state;
	strcpy(cs->set, "cs");
	cs->machine_file = strdup("/m.yaml");
	crowdsec_configure(cs);
	crowdsec_counters(&c0);
	atomic_store(&producers_left, 4);
	for (uintptr_t i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, producer, (void *)(i + 1)), 0);
	for (bool more = true; more;) {
		more = atomic_load(&producers_left) > 0;
		while (outbox_pop(&r)) {
			got++;
			assert_true(r.addr == r.duration_ms && r.detail == r.duration_ms);
		}
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	while (outbox_pop(&r))
		got++;
	crowdsec_counters(&c1);
	assert_int_equal(got + (c1.alerts_dropped - c0.alerts_dropped), 4 * 20000);
	crowdsec_configure(NULL);
	crowdsec_conf_free(cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stream_golden),
		cmocka_unit_test(test_go_duration),
		cmocka_unit_test(test_alert_json),
		cmocka_unit_test(test_set_prefixes),
		cmocka_unit_test(test_machine_file),
		cmocka_unit_test(test_outbox),
		cmocka_unit_test(test_outbox_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
