// SPDX-License-Identifier: MIT
/*
 * fuzz_control.c - libFuzzer target for the control socket protocol.
 *
 * The real server: control_start() and control_serve() run fwd's control
 * thread on a socket in a fresh temporary directory, with a live state
 * compiled from a small rules file there (a knock, a dynamic set, a forward
 * rule), no queues bound and no kernel hooks (st.no_hooks), so `reload`
 * reads only that file and touches nothing else. Each input is what one
 * client sends: it connects, writes the bytes, shuts its side down and
 * reads the answer to the end. Every request must get an answer that ends
 * in a newline, and the table in force must still be the file's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fwd/control.h"
#include "fwd/live.h"
#include "fwd/log.h"
#include "fwd/queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char rules[] =
	"version: 1\n"
	"default: drop\n"
	"log: drops\n"
	"daemon:\n"
	"  log: {sink: file, file: /dev/null}\n"
	"dynamic:\n"
	"  doors: {timeout: 4s, max: 100}\n"
	"knock:\n"
	"  - name: ssh\n"
	"    sequence: [7000/tcp, 8000/udp]\n"
	"    window: 10s\n"
	"    open: {set: doors, port: 2222/tcp}\n"
	"rules:\n"
	"  - {name: ssh-knocked, proto: tcp, src: $doors, dport: 2222, action: allow}\n"
	"  - {name: web.x_1-2, proto: tcp, dport: [80, 443], action: allow}\n"
	"  - {name: fw, proto: tcp, dport: 8080, action: forward, to: \"10.9.9.9:80\"}\n"
	"  - {name: v6, src: \"fd00::/8\", action: reject}\n";
#define RULES_N	4

static struct fwd_state st;
static char dir[] = "/tmp/fwd-fuzz-control.XXXXXX";
static char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
static char rules_path[128];

static void die(const char *what)
{
	fprintf(stderr, "fuzz_control: %s: %s\n", what, strerror(errno));
	abort();
}

static void cleanup(void)
{
	control_stop();
	unlink(rules_path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct fwd_log_conf lc = { .sink = FWD_SINK_FILE, .file = "/dev/null" };
	struct fwd_diags d;
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_live *l;
	char err[256];
	sigset_t set;
	FILE *f;

	(void)argc;
	(void)argv;
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(rules_path, sizeof(rules_path), "%s/rules.yaml", dir);
	snprintf(sock, sizeof(sock), "%s/fwd.sock", dir);
	f = fopen(rules_path, "w");
	if (!f || fputs(rules, f) < 0 || fclose(f))
		die(rules_path);
	if (log_open(&lc))
		die("log_open");
	pthread_mutex_init(&st.lock, NULL);
	st.config_path = rules_path;
	st.no_hooks = true;
	/* One worker that never binds: its queue is not in /proc's table. */
	st.nworkers = 1;
	st.workers = calloc(1, sizeof(*st.workers));
	if (!st.workers)
		die("calloc");
	st.workers[0].queue = 65535;
	st.workers[0].st = &st;
	diags_init(&d, rules_path);
	c = config_load(rules_path, &d);
	if (!c) {
		fprintf(stderr, "fuzz_control: the built-in rules do not load:\n%s", d.text);
		abort();
	}
	diags_free(&d);
	rs = ruleset_compile(c);
	l = rs ? live_new(rs, c, st.nworkers) : NULL;
	config_free(c);
	if (!l)
		die("live_new");
	live_publish_first(&st, l);
	if (control_start(&st, sock, err, sizeof(err))) {
		fprintf(stderr, "fuzz_control: %s\n", err);
		abort();
	}
	/*
	 * As in the daemon, the control thread runs with the signals blocked:
	 * libFuzzer's SIGALRM (-timeout) would interrupt its recv() and send().
	 */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (control_serve())
		die("control_serve");
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	atexit(cleanup);
	return 0;
}

/* Connect, send DATA, half-close, read the whole answer into BUF. */
static size_t exchange(const uint8_t *data, size_t size, char *buf, size_t cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	strcpy(sa.sun_path, sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	/* The server reads one line and closes: a longer input may meet EPIPE. */
	while (size) {
		n = send(fd, data, size, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		data += n;
		size -= (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	while (len < cap) {
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;	/* libFuzzer's SIGALRM */
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char ans[1 << 16];
	size_t len = exchange(data, size, ans, sizeof(ans));

	if (!len || ans[len - 1] != '\n') {
		fprintf(stderr, "fuzz_control: answer of %zu bytes without a final newline: '%.*s'\n",
			len, (int)(len < 300 ? len : 300), ans);
		abort();
	}
	if (memchr(ans, '\0', len)) {
		fprintf(stderr, "fuzz_control: NUL byte in the answer\n");
		abort();
	}
	pthread_mutex_lock(&st.lock);
	if (!st.live || st.live->nrules != RULES_N) {
		fprintf(stderr, "fuzz_control: the table in force changed\n");
		abort();
	}
	pthread_mutex_unlock(&st.lock);
	return 0;
}
