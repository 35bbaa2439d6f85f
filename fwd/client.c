// SPDX-License-Identifier: MIT
/*
 * client.c - the clients of the control socket (include/fwd/client.h):
 * connecting, one request and its answer, and the subcommands that are
 * nothing more: `fwd stats`, `fwd reload`, `fwd unblock`.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fwd/client.h"
#include "fwd/cmd.h"
#include "fwd/value.h"

int client_sockaddr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int client_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, e = client_sockaddr(&sa, path);

	if (e)
		return e;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

void client_send(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/*
 * Every answer of the daemon ends in a newline: one that does not, or none
 * at all, or a read that fails, is an answer lost, never an empty success.
 */
int client_request(const char *path, const char *req, char **out)
{
	struct fwd_text b = { 0 };
	char buf[4096];
	ssize_t n;
	size_t len;
	int e = 0, fd = client_connect(path);

	*out = NULL;
	if (fd < 0)
		return fd;
	client_send(fd, req, strlen(req));
	shutdown(fd, SHUT_WR);
	text_printf(&b, "%s", "");
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = -errno;
			break;
		}
		text_printf(&b, "%.*s", (int)n, buf);
	}
	close(fd);
	*out = text_take(&b);
	if (!*out)
		return -ENOMEM;
	len = strlen(*out);
	if (!e && !len)
		e = -ENODATA;
	else if (!e && (*out)[len - 1] != '\n')
		e = -EPROTO;
	if (e) {
		free(*out);
		*out = NULL;
	}
	return e;
}

void client_perror(const char *who, const char *path, int e)
{
	if (e == -ENODATA)
		fprintf(stderr, "%s: the daemon at %s closed the connection without an answer\n",
			who, path);
	else if (e == -EPROTO)
		fprintf(stderr, "%s: the daemon at %s cut its answer short (no final newline)\n",
			who, path);
	else
		fprintf(stderr, "%s: cannot reach the daemon at %s: %s\n", who, path, strerror(-e));
}

/* ---- fwd stats, fwd reload, fwd unblock ------------------------------------ */

static const struct option client_opts[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Parse [--socket PATH] [--json]; exit code for usage errors, or -1 to go on. */
static int client_args(int argc, char **argv, const char *usage, bool json_ok,
		       const char **path, bool *json)
{
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:h", client_opts, NULL)) != -1) {
		if (c == 's') {
			*path = optarg;
		} else if (c == 'j' && json_ok) {
			*json = true;
		} else if (c == 'h') {
			printf("usage: %s\n", usage);
			return 0;
		} else {
			fprintf(stderr, "usage: %s\n", usage);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "fwd: unexpected argument '%s'; usage: %s\n", argv[optind], usage);
		return 2;
	}
	return -1;
}

/* One request; the answer on stdout when it starts with OK, else on stderr (exit 1). */
static int ask(const char *path, const char *req, const char *ok)
{
	char *out = NULL;
	int rc = client_request(path, req, &out);

	if (rc) {
		client_perror("fwd", path, rc);
		return 2;
	}
	rc = *ok == '!' ? !strncmp(out, ok + 1, strlen(ok + 1)) : !!strncmp(out, ok, strlen(ok));
	fputs(out, rc ? stderr : stdout);
	free(out);
	return rc;
}

int cmd_stats(int argc, char **argv)
{
	const char *path = FWD_SOCKET_DEFAULT;
	bool json = false;
	int rc = client_args(argc, argv, "fwd stats [--socket PATH] [--json]", true, &path, &json);

	if (rc >= 0)
		return rc;
	return ask(path, json ? "stats json\n" : "stats\n", "!error:");
}

int cmd_reload(int argc, char **argv)
{
	const char *path = FWD_SOCKET_DEFAULT;
	bool json = false;
	int rc = client_args(argc, argv, "fwd reload [--socket PATH]", false, &path, &json);

	if (rc >= 0)
		return rc;
	return ask(path, "reload\n", "ok:");
}

#define BLOCK_USAGE "usage: fwd block [--socket PATH] [--set NAME] [--for DURATION] ADDR[/LEN]\n"

/* Is argv[*I] OPT with a value? Then the value into *VAL, past it. */
static bool block_opt(int argc, char **argv, int *i, const char *opt, const char **val)
{
	if (strcmp(argv[*i], opt) || *i + 1 >= argc)
		return false;
	*val = argv[++*i];
	return true;
}

int cmd_block(int argc, char **argv)
{
	const char *path = FWD_SOCKET_DEFAULT, *set = "-", *dur = NULL;
	char req[FWD_CONTROL_MAX];
	uint64_t ms = 0;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(BLOCK_USAGE, stdout);
			return 0;
		}
		if (!block_opt(argc, argv, &i, "--socket", &path) &&
		    !block_opt(argc, argv, &i, "--set", &set) &&
		    !block_opt(argc, argv, &i, "--for", &dur)) {
			fputs(BLOCK_USAGE, stderr);
			return 2;
		}
	}
	if (dur && !duration_parse(dur, 0, FWD_DYN_TIMEOUT_MAX_MS, &ms)) {
		fprintf(stderr, "fwd block: invalid duration '%s'; expected such as 30s, 10m, 1h or 1d "
			"(at most 7 days)\n", dur);
		return 2;
	}
	if (i + 1 != argc || strlen(argv[i]) > 64 || strlen(set) > FWD_NAME_MAX ||
	    strchr(set, ' ')) {
		fputs(BLOCK_USAGE, stderr);
		return 2;
	}
	snprintf(req, sizeof(req), "block %s %s %" PRIu64 "\n", argv[i], set, ms);
	return ask(path, req, "ok:");
}

int cmd_unblock(int argc, char **argv)
{
	const char *path = FWD_SOCKET_DEFAULT, *usage = "usage: fwd unblock [--socket PATH] ADDR\n";
	char req[FWD_CONTROL_MAX];
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--socket") || i + 1 >= argc) {
			fputs(usage, stderr);
			return 2;
		}
		path = argv[++i];
	}
	if (i + 1 != argc || strlen(argv[i]) > 64) {
		fputs(usage, stderr);
		return 2;
	}
	snprintf(req, sizeof(req), "unblock %s\n", argv[i]);
	return ask(path, req, "ok:");
}
