// SPDX-License-Identifier: MIT
/*
 * test_client.c - the clients of the control socket against a fake daemon
 * that answers in full, hangs up without a byte, cuts its answer or resets
 * the connection: only a whole answer (one that ends in a newline) is an
 * answer, and `fwd stats` exits 2 on every other.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "fwd/client.h"
#include "fwd/cmd.h"

struct fake {
	char path[64];
	int fd;
	const char *answer;	/* NULL: close at once, the request unread */
	pthread_t thread;
};

/* One connection: read the request line, send the answer, hang up. */
static void *fake_main(void *arg)
{
	struct fake *f = arg;
	char buf[512];
	int c = accept(f->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	if (f->answer) {
		while (read(c, buf, sizeof(buf)) > 0)
			;
		client_send(c, f->answer, strlen(f->answer));
	} else {
		/* unread data at close: the client's read fails (ECONNRESET) */
		usleep(100 * 1000);
	}
	close(c);
	return NULL;
}

static void fake_start(struct fake *f, const char *answer)
{
	struct sockaddr_un sa;

	snprintf(f->path, sizeof(f->path), "/tmp/fwd-test-client.%d.sock", (int)getpid());
	unlink(f->path);
	assert_int_equal(client_sockaddr(&sa, f->path), 0);
	f->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->fd, 1), 0);
	f->answer = answer;
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->fd);
	unlink(f->path);
}

/* client_request()'s result for ANSWER; the answer itself in *OUT. */
static int ask_fake(const char *answer, char **out)
{
	struct fake f;
	int e;

	fake_start(&f, answer);
	e = client_request(f.path, "stats\n", out);
	fake_stop(&f);
	return e;
}

static int stats_fake(const char *answer)
{
	struct fake f;
	char *argv[] = { "stats", "--socket", f.path, NULL };
	int rc;

	fake_start(&f, answer);
	rc = cmd_stats(3, argv);
	fake_stop(&f);
	return rc;
}

static void test_whole_answer(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(ask_fake("rules: 1\nlog: written 0\n", &out), 0);
	assert_string_equal(out, "rules: 1\nlog: written 0\n");
	free(out);
	assert_int_equal(stats_fake("rules: 1\n"), 0);
}

static void test_no_answer(void **state)
{
	char *out = (char *)"unset";

	(void)state;
	assert_int_equal(ask_fake("", &out), -ENODATA);
	assert_null(out);
	assert_int_equal(stats_fake(""), 2);
}

static void test_cut_answer(void **state)
{
	char *out = (char *)"unset";

	(void)state;
	assert_int_equal(ask_fake("{\"rules\":[{\"name\":\"a\",\"act", &out), -EPROTO);
	assert_null(out);
	assert_int_equal(stats_fake("{\"rules\":[{\"name\":\"a\",\"act"), 2);
}

static void test_reset(void **state)
{
	char *out = (char *)"unset";

	(void)state;
	/* a reset, or a hang-up before the request arrived: no answer either way */
	assert_int_not_equal(ask_fake(NULL, &out), 0);
	assert_null(out);
	assert_int_equal(stats_fake(NULL), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_answer),
		cmocka_unit_test(test_no_answer),
		cmocka_unit_test(test_cut_answer),
		cmocka_unit_test(test_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
