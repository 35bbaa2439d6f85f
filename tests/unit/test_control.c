// SPDX-License-Identifier: MIT
/*
 * test_control.c - the control socket under concurrent clients: the
 * control thread serves stats, top, explain and reload to several client
 * threads at once, while SIGHUP-style reloads replace the table (and the
 * rules file) from another thread and a worker's counters move. Built
 * with ThreadSanitizer by `make tsan`, which fails on any data race.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>
#include <cmocka.h>

#include "fwd/client.h"
#include "fwd/control.h"
#include "fwd/live.h"
#include "fwd/log.h"
#include "fwd/queue.h"

#define CLIENTS		4
#define ROUNDS		40

static const char rules_a[] =
	"version: 1\n"
	"default: drop\n"
	"daemon: {log: {sink: file, file: /dev/null}}\n"
	"rules:\n"
	"  - name: ssh\n"
	"    proto: tcp\n"
	"    dport: 22\n"
	"    action: allow\n"
	"  - name: web\n"
	"    proto: tcp\n"
	"    dport: [80, 443]\n"
	"    action: allow\n";

static const char rules_b[] =
	"version: 1\n"
	"default: drop\n"
	"daemon: {log: {sink: file, file: /dev/null}}\n"
	"rules:\n"
	"  - name: ssh\n"
	"    proto: tcp\n"
	"    dport: 22\n"
	"    action: allow\n";

static char dir[64], rules_path[96], sock_path[96];
static struct fwd_state st = {
	.lock = PTHREAD_MUTEX_INITIALIZER, .no_hooks = true, .foreground = true,
};
static struct fwd_worker worker;	/* its counters only: no queue is opened */
static _Atomic int stop;
static _Atomic int failures;

/* Replace the rules file in one rename, as an editor saving it would. */
static void write_rules(const char *text)
{
	char tmp[128];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", rules_path);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(rename(tmp, rules_path), 0);
}

static bool answer_ok(const char *req, const char *out)
{
	if (!strcmp(req, "reload\n"))
		return !strncmp(out, "ok: ", 4);
	if (!strncmp(req, "explain", 7))
		return !strncmp(out, "allow rule=ssh", 14);
	return out[0] && strncmp(out, "error:", 6);
}

static void *client_main(void *arg)
{
	static const char *const reqs[] = {
		"stats\n", "stats json\n", "top\n", "explain tcp 192.0.2.1:4000 198.51.100.7:22\n",
		"reload\n",
	};
	unsigned id = (unsigned)(uintptr_t)arg;

	for (unsigned i = 0; i < ROUNDS; i++) {
		const char *req = reqs[(i + id) % 5];
		char *out = NULL;
		int e = client_request(sock_path, req, &out);

		if (e || !out || !answer_ok(req, out)) {
			fprintf(stderr, "client %u: '%.*s' -> %d '%s'\n", id, (int)strlen(req) - 1,
				req, e, out ? out : "");
			failures++;
		}
		free(out);
	}
	return NULL;
}

/*
 * A worker's side, as far as ThreadSanitizer can follow it: its own
 * counters, bumped while `stats` reads them. (Its reads of the published
 * table go through liburcu, whose inline-assembly barriers TSan does not
 * see, so a worker walking st->live here would be reported falsely.)
 */
static void *counter_main(void *arg)
{
	(void)arg;
	while (!stop) {
		ctr_add(&worker.stats.dflt_packets, 1);
		ctr_add(&worker.stats.received, 1);
		sched_yield();
	}
	return NULL;
}

/* SIGHUP's reloads, with the file changing between them. */
static void *reloader_main(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < ROUNDS / 2; i++) {
		struct fwd_diags d;

		write_rules(i % 2 ? rules_a : rules_b);
		diags_init(&d, rules_path);
		if (live_reload(&st, &d) < 0) {
			fprintf(stderr, "reload: %s\n", d.text ? d.text : "failed");
			failures++;
		}
		diags_free(&d);
	}
	return NULL;
}

static void start(void)
{
	struct fwd_log_conf lc = { .sink = FWD_SINK_FILE, .file = "/dev/null" };
	struct fwd_config *c;
	struct fwd_diags d;
	struct fwd_live *l;
	char err[256];

	snprintf(dir, sizeof(dir), "/tmp/fwd-test-control.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(rules_path, sizeof(rules_path), "%s/rules.yaml", dir);
	snprintf(sock_path, sizeof(sock_path), "%s/fwd.sock", dir);
	assert_int_equal(log_open(&lc), 0);
	write_rules(rules_a);
	diags_init(&d, rules_path);
	c = config_load(rules_path, &d);
	diags_free(&d);
	assert_non_null(c);
	l = live_new(ruleset_compile(c), c, 1);
	config_free(c);
	assert_non_null(l);
	st.config_path = rules_path;
	st.nworkers = 1;
	st.workers = &worker;
	worker.st = &st;
	worker.queue = 65000;
	live_publish_first(&st, l);
	assert_int_equal(control_start(&st, sock_path, err, sizeof(err)), 0);
	assert_int_equal(control_serve(), 0);
}

static void test_concurrent_clients_and_reload(void **state)
{
	pthread_t cl[CLIENTS], rd, rl;

	(void)state;
	start();
	assert_int_equal(pthread_create(&rd, NULL, counter_main, NULL), 0);
	for (unsigned i = 0; i < CLIENTS; i++)
		assert_int_equal(pthread_create(&cl[i], NULL, client_main, (void *)(uintptr_t)i), 0);
	assert_int_equal(pthread_create(&rl, NULL, reloader_main, NULL), 0);
	for (unsigned i = 0; i < CLIENTS; i++)
		pthread_join(cl[i], NULL);
	pthread_join(rl, NULL);
	stop = 1;
	pthread_join(rd, NULL);
	control_stop();
	assert_int_equal(failures, 0);
	assert_true(st.reloads_ok >= ROUNDS / 2);
	live_free(st.live);
	free(st.metrics_file);
	log_close();
	unlink(rules_path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_clients_and_reload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
