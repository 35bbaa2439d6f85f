// SPDX-License-Identifier: MIT
/*
 * apply.c - `fwd apply` and `fwd confirm`: change the rules of a remote
 * gateway without locking oneself out.
 *
 * `fwd apply NEWFILE` checks NEWFILE like `fwd check`, keeps the live file
 * as LIVEFILE.prev, installs NEWFILE as the live file and has the daemon
 * reload. It then forks a watcher into a session of its own (setsid), so
 * that the rollback does not depend on the operator's terminal, SSH
 * connection or shell surviving. The watcher listens on a unix socket next
 * to the control socket (SOCKET.apply). `fwd confirm` connects there and
 * the watcher answers "confirmed" and exits; when the confirm time runs
 * out first, the watcher closes its socket (a late `fwd confirm` then gets
 * "nothing to confirm"), copies LIVEFILE.prev back and asks the daemon for
 * "rollback SECONDS PREVFILE", which logs the rollback and reloads.
 *
 * The watcher, not the daemon, owns the files: the daemon runs with a
 * read-only /etc (ProtectSystem=strict) and a bounded capability set, and a
 * watcher also outlives a daemon restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "fwd/cmd.h"
#include "fwd/config.h"
#include "fwd/client.h"
#include "fwd/explain.h"
#include "fwd/ruleset.h"
#include "fwd/value.h"
#include "fwd/wfile.h"

#define APPLY_USAGE	"fwd apply [--socket PATH] [-c LIVEFILE] NEWFILE [--confirm DURATION]"
#define CONFIRM_USAGE	"fwd confirm [--socket PATH]"
#define APPLY_LIVE_DEFAULT	"/etc/fwd/rules.yaml"
#define APPLY_CONFIRM_DEFAULT	30u
#define APPLY_CONFIRM_MAX	86400u
#define APPLY_SUFFIX	".apply"

struct apply_opts {
	const char *socket;
	const char *live;
	const char *newfile;
	unsigned seconds;
	char prev[PATH_MAX];
	char wpath[sizeof(((struct sockaddr_un *)0)->sun_path)];	/* watcher socket */
};

/* ---- files ---------------------------------------------------------------- */

static int copy_fd(int in, int out)
{
	char buf[8192];
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno != EINTR)
				return -errno;
			off += w > 0 ? w : 0;
		}
	}
	return 0;
}

/*
 * Replace DST by a copy of SRC, atomically: DST.tmp is written, synced and
 * renamed over DST, so a reader (the daemon reloading) sees the old file or
 * the new one, never half of one. The copy gets MODE. 0 or -errno.
 */
static int copy_atomic(const char *src, const char *dst, mode_t mode)
{
	char tmp[PATH_MAX];
	int in, out, e;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", dst) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (out < 0) {
		e = -errno;
		goto out_in;
	}
	e = copy_fd(in, out);
	if (!e && fchmod(out, mode) < 0)
		e = -errno;
	if (!e && fsync(out) < 0)
		e = -errno;
	if (close(out) < 0 && !e)
		e = -errno;
	if (!e && rename(tmp, dst) < 0)
		e = -errno;
	if (e)
		unlink(tmp);
	else
		file_sync_dir(dst);	/* the rename is done either way */
out_in:
	close(in);
	return e;
}

/* ---- checking NEWFILE ----------------------------------------------------- */

/*
 * What `fwd check` does: load, compile, run the policy tests. Prints every
 * diagnostic; warnings do not refuse the file. Relative set-file paths are
 * taken from LIVE's directory, as the daemon will read them once PATH is
 * installed as LIVE: the tests must pass against the lists that will be in
 * force. Returns the number of rules or -1.
 */
static int check_new(const char *path, const char *live)
{
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_diags d;
	int n = -1;

	diags_init(&d, path);
	d.base = live;
	if (!ruleset_load(path, FWD_LOAD_CHECK, &d, &c, &rs))
		n = (int)c->nrules;
	if (d.text && d.len)
		fputs(d.text, stderr);
	ruleset_free(rs);
	config_free(c);
	diags_free(&d);
	return n;
}

/* ---- the watcher's socket -------------------------------------------------- */

/*
 * Listen on PATH for `fwd confirm`. -EBUSY when a watcher of an earlier
 * apply still answers there; a stale file (its watcher died) is replaced.
 */
static int watcher_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd = client_connect(path), e;
	mode_t um;

	if (fd >= 0) {
		close(fd);
		return -EBUSY;
	}
	if (fd == -ECONNREFUSED)
		unlink(path);
	e = client_sockaddr(&sa, path);
	if (e)
		return e;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	um = umask(0077);	/* root's only: a confirm keeps rules in force */
	e = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0 ? -errno : 0;
	umask(um);
	if (e) {
		close(fd);
		return e;
	}
	return fd;
}

/* ---- talking to the daemon ------------------------------------------------ */

/*
 * Ask the daemon to reload; the answer's rule count, or -1 (printed). The
 * lines after "ok: N rules" (settings that wait for a restart) are printed.
 */
static int daemon_reload(const char *sock, const char *req)
{
	char *out = NULL, *rest;
	int e = client_request(sock, req, &out), n = -1;

	if (e) {
		client_perror("fwd apply", sock, e);
		return -1;
	}
	if (sscanf(out, "ok: %d rules", &n) != 1) {
		fputs(out, stderr);
		n = -1;
	} else if ((rest = strchr(out, '\n')) && rest[1]) {
		fputs(rest + 1, stderr);
	}
	free(out);
	return n;
}

/* ---- the watcher ---------------------------------------------------------- */

/* Serve one connection; true when it confirmed the apply. */
static bool watcher_serve(int fd)
{
	char req[64];
	ssize_t n;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	const char *ans = "error: expected \"confirm\"\n";
	bool ok = false;

	if (poll(&p, 1, 2000) <= 0)
		return false;
	n = recv(fd, req, sizeof(req) - 1, 0);
	if (n <= 0)
		return false;
	req[n] = '\0';
	req[strcspn(req, "\r\n")] = '\0';
	if (!strcmp(req, "confirm")) {
		ans = "confirmed\n";
		ok = true;
	}
	send(fd, ans, strlen(ans), MSG_NOSIGNAL);
	return ok;
}

/* Wait for a confirmation until the deadline; true if one came. */
static bool watcher_wait(int lfd, unsigned seconds)
{
	long long deadline = (long long)clock_mono_ms() + (long long)seconds * 1000;
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	for (;;) {
		long long left = deadline - (long long)clock_mono_ms();
		int fd;

		if (left <= 0)
			return false;
		if (poll(&p, 1, (int)(left > 60000 ? 60000 : left)) <= 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (watcher_serve(fd)) {
			close(fd);
			return true;
		}
		close(fd);
	}
}

/* Put the previous file back and have the daemon log the rollback and reload. */
static void watcher_rollback(const struct apply_opts *o, mode_t mode)
{
	char req[FWD_CONTROL_MAX + 1], *out = NULL;
	int e = copy_atomic(o->prev, o->live, mode);

	if (e) {
		syslog(LOG_ERR, "fwd apply: not confirmed in %us, but cannot restore '%s' from "
		       "'%s': %s", o->seconds, o->live, o->prev, strerror(-e));
		return;
	}
	/* A path too long for one request line still gets the reload. */
	if (snprintf(req, sizeof(req), "rollback %u %s\n", o->seconds, o->prev) >=
	    (int)sizeof(req))
		snprintf(req, sizeof(req), "reload\n");
	e = client_request(o->socket, req, &out);
	if (!e && !strncmp(out, "error: unknown request", 22)) {
		free(out);
		out = NULL;
		e = client_request(o->socket, "reload\n", &out);
	}
	if (e || strncmp(out, "ok:", 3))
		syslog(LOG_ERR, "fwd apply: not confirmed in %us, restored '%s' from '%s', "
		       "but the daemon at %s did not reload: %s", o->seconds, o->live, o->prev,
		       o->socket, e ? strerror(-e) : out);
	free(out);
}

/* Have the daemon log the confirmation, where it logs a rollback. */
static void watcher_confirmed(const struct apply_opts *o)
{
	char req[FWD_CONTROL_MAX + 1], *out = NULL;

	if (snprintf(req, sizeof(req), "confirmed %u %s\n", o->seconds, o->live) >=
	    (int)sizeof(req) || client_request(o->socket, req, &out) || strncmp(out, "ok", 2))
		syslog(LOG_INFO, "fwd apply: confirmed within %us: %s stays in force",
		       o->seconds, o->live);
	free(out);
}

/*
 * The detached watcher: a session of its own, no terminal, stdio on
 * /dev/null, so neither a hang-up nor a closed SSH connection reaches it.
 */
static void watcher_run(const struct apply_opts *o, int lfd, mode_t mode)
{
	int null = open("/dev/null", O_RDWR | O_NOCTTY | O_CLOEXEC);

	setsid();
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	openlog("fwd", LOG_PID, LOG_DAEMON);
	if (watcher_wait(lfd, o->seconds)) {
		unlink(o->wpath);
		close(lfd);
		watcher_confirmed(o);
		_exit(0);
	}
	/* From here a `fwd confirm` finds nobody and says so. */
	unlink(o->wpath);
	close(lfd);
	watcher_rollback(o, mode);
	_exit(0);
}

/* ---- fwd apply ------------------------------------------------------------- */

/* A duration (value.h's grammar; a bare number is seconds) -> whole seconds, 1..APPLY_CONFIRM_MAX. */
static bool parse_duration(const char *s, unsigned *out)
{
	uint64_t ms;

	if (!duration_parse(s, 1000, (uint64_t)APPLY_CONFIRM_MAX * 1000, &ms))
		return false;
	*out = (unsigned)((ms + 999) / 1000);
	return true;
}

static const struct option apply_longopts[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "config", required_argument, NULL, 'c' },
	{ "confirm", required_argument, NULL, 't' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char apply_help[] =
	"usage: " APPLY_USAGE "\n"
	"\n"
	"Check NEWFILE like `fwd check`, keep LIVEFILE (default " APPLY_LIVE_DEFAULT ")\n"
	"as LIVEFILE.prev, install NEWFILE as LIVEFILE and have the daemon reload.\n"
	"A relative set-file path in NEWFILE is read from LIVEFILE's directory, where\n"
	"the daemon will read it.\n"
	"Unless `fwd confirm` follows within DURATION (default 30s; 45, 45s, 2m, 1h),\n"
	"LIVEFILE.prev is put back and the daemon reloads it. The wait runs in a\n"
	"detached process: closing this session does not cancel the rollback.\n"
	"\n"
	"Exit status: 0 applied, 1 refused or rolled back at once, 2 usage or I/O error.\n";

/* Returns -1 to go on, else the exit code. */
static int apply_args(int argc, char **argv, struct apply_opts *o)
{
	int c;

	*o = (struct apply_opts){ .socket = FWD_SOCKET_DEFAULT, .live = APPLY_LIVE_DEFAULT,
				  .seconds = APPLY_CONFIRM_DEFAULT };
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:h", apply_longopts, NULL)) != -1) {
		if (c == 's') {
			o->socket = optarg;
		} else if (c == 'c') {
			o->live = optarg;
		} else if (c == 't') {
			if (!parse_duration(optarg, &o->seconds)) {
				fprintf(stderr, "fwd apply: --confirm '%s': expected 1s..24h\n", optarg);
				return 2;
			}
		} else if (c == 'h') {
			fputs(apply_help, stdout);
			return 0;
		} else {
			fprintf(stderr, "usage: %s\n", APPLY_USAGE);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "fwd apply: expected one NEWFILE; usage: %s\n", APPLY_USAGE);
		return 2;
	}
	o->newfile = argv[optind];
	if (snprintf(o->prev, sizeof(o->prev), "%s.prev", o->live) >= (int)sizeof(o->prev) ||
	    snprintf(o->wpath, sizeof(o->wpath), "%s" APPLY_SUFFIX, o->socket) >=
	    (int)sizeof(o->wpath)) {
		fprintf(stderr, "fwd apply: path too long: '%s'\n", o->socket);
		return 2;
	}
	return -1;
}

/* Put LIVEFILE.prev back after a failed reload and reload again. */
static int restore_now(const struct apply_opts *o, mode_t mode)
{
	int e = copy_atomic(o->prev, o->live, mode);

	if (e) {
		fprintf(stderr, "fwd apply: cannot restore '%s' from '%s': %s\n", o->live, o->prev,
			strerror(-e));
		return 2;
	}
	if (daemon_reload(o->socket, "reload\n") < 0)
		fprintf(stderr, "fwd apply: restored '%s', but the daemon did not reload it\n",
			o->live);
	else
		fprintf(stderr, "fwd apply: restored '%s' and reloaded it\n", o->live);
	return 1;
}

/* Save LIVEFILE as .prev, install NEWFILE, reload. Returns -1 on success. */
static int install(const struct apply_opts *o, int nrules, mode_t mode)
{
	int e = copy_atomic(o->live, o->prev, mode), n;

	if (e) {
		fprintf(stderr, "fwd apply: cannot save '%s' as '%s': %s\n", o->live, o->prev,
			strerror(-e));
		return 2;
	}
	e = copy_atomic(o->newfile, o->live, mode);
	if (e) {
		fprintf(stderr, "fwd apply: cannot install '%s' as '%s': %s\n", o->newfile,
			o->live, strerror(-e));
		return 2;
	}
	n = daemon_reload(o->socket, "reload\n");
	if (n < 0)
		return restore_now(o, mode);
	if (n != nrules) {
		fprintf(stderr, "fwd apply: the daemon reloaded %d rules, '%s' has %d: is it "
			"running with -c %s?\n", n, o->newfile, nrules, o->live);
		return restore_now(o, mode);
	}
	return -1;
}

int cmd_apply(int argc, char **argv)
{
	struct apply_opts o;
	struct stat sb;
	int rc = apply_args(argc, argv, &o), nrules, lfd;
	pid_t pid;

	if (rc >= 0)
		return rc;
	if (stat(o.live, &sb) < 0) {
		fprintf(stderr, "fwd apply: cannot read the live file '%s': %s\n", o.live,
			strerror(errno));
		return 2;
	}
	nrules = check_new(o.newfile, o.live);
	if (nrules < 0) {
		fprintf(stderr, "fwd apply: '%s' is not valid; nothing changed\n", o.newfile);
		return 1;
	}
	lfd = watcher_listen(o.wpath);
	if (lfd == -EBUSY) {
		fprintf(stderr, "fwd apply: an earlier apply waits for `fwd confirm` on '%s'; "
			"nothing changed\n", o.wpath);
		return 1;
	}
	if (lfd < 0) {
		fprintf(stderr, "fwd apply: cannot listen on '%s': %s\n", o.wpath, strerror(-lfd));
		return 2;
	}
	rc = install(&o, nrules, sb.st_mode & 07777);
	if (rc >= 0)
		goto out_unlisten;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "fwd apply: cannot start the watcher: %s\n", strerror(errno));
		rc = restore_now(&o, sb.st_mode & 07777);
		goto out_unlisten;
	}
	if (!pid)
		watcher_run(&o, lfd, sb.st_mode & 07777);
	close(lfd);
	printf("applied %s; confirm within %us with `fwd confirm%s%s` or it is rolled back\n",
	       o.newfile, o.seconds, strcmp(o.socket, FWD_SOCKET_DEFAULT) ? " --socket " : "",
	       strcmp(o.socket, FWD_SOCKET_DEFAULT) ? o.socket : "");
	return 0;

out_unlisten:
	unlink(o.wpath);
	close(lfd);
	return rc;
}

/* ---- fwd confirm ----------------------------------------------------------- */

int cmd_confirm(int argc, char **argv)
{
	const char *sock = FWD_SOCKET_DEFAULT;
	char wpath[sizeof(((struct sockaddr_un *)0)->sun_path)], ans[64];
	ssize_t n = 0;
	int fd;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			sock = argv[++i];
		} else if (!strncmp(argv[i], "--socket=", 9)) {
			sock = argv[i] + 9;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: %s\n\nKeep the rules of a pending `fwd apply`.\n"
			       "Exit status: 0 confirmed, 1 nothing to confirm.\n", CONFIRM_USAGE);
			return 0;
		} else {
			fprintf(stderr, "fwd confirm: unexpected argument '%s'; usage: %s\n",
				argv[i], CONFIRM_USAGE);
			return 2;
		}
	}
	if (snprintf(wpath, sizeof(wpath), "%s" APPLY_SUFFIX, sock) >= (int)sizeof(wpath)) {
		fprintf(stderr, "fwd confirm: path too long: '%s'\n", sock);
		return 2;
	}
	fd = client_connect(wpath);
	if (fd >= 0) {
		send(fd, "confirm\n", 8, MSG_NOSIGNAL);
		shutdown(fd, SHUT_WR);
		n = read(fd, ans, sizeof(ans) - 1);
		close(fd);
	}
	/* Only the watcher's own answer counts: it closes its socket before rolling back. */
	if (n > 0 && !strncmp(ans, "confirmed\n", 10)) {
		printf("confirmed\n");
		return 0;
	}
	printf("nothing to confirm\n");
	return 1;
}
