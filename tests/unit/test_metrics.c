// SPDX-License-Identifier: MIT
/*
 * test_metrics.c - the Prometheus exposition of the counters: label
 * escaping, and the rendered text of a state built from a small rules file
 * with counters set by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "fwd/control.h"
#include "fwd/live.h"
#include "fwd/metrics.h"

static void test_label_escape(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(metrics_label_escape(out, sizeof(out), "plain-name"), 10);
	assert_string_equal(out, "plain-name");
	metrics_label_escape(out, sizeof(out), "a\"b\\c\nd");
	assert_string_equal(out, "a\\\"b\\\\c\\nd");
	/* truncation never splits an escape */
	metrics_label_escape(out, 4, "ab\"");
	assert_string_equal(out, "ab");
}

static const char rules[] =
	"version: 1\n"
	"default: drop\n"
	"rules:\n"
	"  - name: ssh\n"
	"    proto: tcp\n"
	"    dport: 22\n"
	"    action: allow\n"
	"  - name: web\n"
	"    proto: tcp\n"
	"    dport: 80\n"
	"    action: allow\n"
	"  - name: rej\n"
	"    proto: tcp\n"
	"    dport: 113\n"
	"    action: reject\n";

static struct fwd_live *make_live(void)
{
	struct fwd_diags d;
	struct fwd_config *c;
	struct fwd_live *l;

	diags_init(&d, "test.yaml");
	c = config_parse(rules, sizeof(rules) - 1, &d);
	diags_free(&d);
	assert_non_null(c);
	l = live_new(ruleset_compile(c), c, 2);
	config_free(c);
	assert_non_null(l);
	return l;
}

static void test_render(void **state)
{
	struct fwd_state st = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct fwd_live *l = make_live();
	struct timespec mono;
	char *text;

	(void)state;
	st.live = l;
	st.reloads_ok = 4;
	st.reloads_failed = 1;
	st.hooks_restored = 2;
	/* two workers' counts add up, plus what a reload carried over */
	ctr_add(&l->ctr[0][0].packets, 3);
	ctr_add(&l->ctr[1][0].packets, 4);
	ctr_add(&l->ctr[0][0].bytes, 300);
	l->carry_packets[0] = 10;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &mono);
	ctr_set(&l->ctr[1][0].last_hit_ms, (uint64_t)mono.tv_sec * 1000);

	text = metrics_render(&st);
	assert_non_null(text);
	assert_non_null(strstr(text, "# TYPE fwd_rule_packets_total counter\n"));
	assert_non_null(strstr(text, "\nfwd_rule_packets_total{rule=\"ssh\",action=\"allow\"} 17\n"));
	assert_non_null(strstr(text, "\nfwd_rule_bytes_total{rule=\"ssh\",action=\"allow\"} 300\n"));
	assert_non_null(strstr(text, "\nfwd_rule_packets_total{rule=\"web\",action=\"allow\"} 0\n"));
	assert_non_null(strstr(text, "\nfwd_rule_last_hit_seconds{rule=\"web\",action=\"allow\"} 0\n"));
	assert_null(strstr(text, "\nfwd_rule_last_hit_seconds{rule=\"ssh\",action=\"allow\"} 0\n"));
	assert_non_null(strstr(text, "\nfwd_reloads_total{result=\"ok\"} 4\n"));
	assert_non_null(strstr(text, "\nfwd_reloads_total{result=\"failed\"} 1\n"));
	assert_non_null(strstr(text, "\nfwd_hooks_restored_total 2\n"));
	assert_non_null(strstr(text, "\nfwd_default_packets_total{action=\"drop\"} 0\n"));
	/* the action names of `fwd stats`: a reject rule is not a drop */
	assert_non_null(strstr(text, "\nfwd_rule_packets_total{rule=\"rej\",action=\"reject\"} 0\n"));
	assert_non_null(strstr(text, "\nfwd_rules 3\n"));
	/* every TYPE line comes before its family's first sample */
	assert_true(strstr(text, "# TYPE fwd_rules gauge") < strstr(text, "\nfwd_rules 3"));
	free(text);
	live_free(l);
}

static void test_write_atomic(void **state)
{
	struct fwd_state st = { .lock = PTHREAD_MUTEX_INITIALIZER };
	char dir[] = "/tmp/fwd-metrics-XXXXXX", path[64], tmp[80], buf[64];
	FILE *f;

	(void)state;
	st.live = make_live();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/m.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(metrics_write(&st, path), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	assert_memory_equal(buf, "# HELP ", 7);
	fclose(f);
	assert_null(fopen(tmp, "r"));
	unlink(path);
	rmdir(dir);
	/* an unwritable place is an error, not a crash */
	assert_true(metrics_write(&st, "/nonexistent-dir/m.prom") < 0);
	live_free(st.live);
}

/* A planted PATH.tmp link is never written through; the mode is not the umask's. */
static void test_write_planted_link(void **state)
{
	struct fwd_state st = { .lock = PTHREAD_MUTEX_INITIALIZER };
	char dir[] = "/tmp/fwd-metrics-XXXXXX", path[64], tmp[80], victim[80], buf[64];
	struct stat sb;
	mode_t um;
	FILE *f;

	(void)state;
	st.live = make_live();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/m.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	f = fopen(victim, "w");
	assert_non_null(f);
	fputs("precious\n", f);
	fclose(f);
	assert_int_equal(symlink(victim, tmp), 0);
	um = umask(077);
	assert_int_equal(metrics_write(&st, path), 0);
	umask(um);
	f = fopen(victim, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	assert_string_equal(buf, "precious\n");
	fclose(f);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, FWD_METRICS_FILE_MODE);
	unlink(tmp);
	unlink(victim);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);	/* no temporary file left behind */
	live_free(st.live);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_escape),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_write_planted_link),
		cmocka_unit_test(test_write_atomic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
