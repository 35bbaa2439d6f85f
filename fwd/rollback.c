// SPDX-License-Identifier: MIT
/*
 * rollback.c - may the daemon believe a "rollback SECONDS PREVFILE" request?
 *
 * Only the watcher of `fwd apply` (fwd/apply.c) sends it, after it copied
 * PREVFILE back over the rules file; the daemon then logs "apply not
 * confirmed in Ns, rolled back to PREVFILE" and reloads. Anyone who can
 * reach the control socket (mode 0660: its group too) could otherwise make
 * the log state a rollback that never happened. So the request is taken
 * only when the peer runs as the daemon's own user (SO_PEERCRED: the
 * watcher runs as whoever could write the rules file) and what it claims
 * holds: PREVFILE is the daemon's own rules file with ".prev" appended, and
 * the rules file now holds the same bytes. "confirmed SECONDS LIVEFILE"
 * is logged as a confirmation on the same terms: the peer runs as the
 * daemon's user and LIVEFILE is the daemon's rules file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fwd/control.h"
#include "fwd/rollback.h"

#define ROLLBACK_FILE_MAX	(16u << 20)

/* The whole of PATH (at most ROLLBACK_FILE_MAX bytes) in *BUF; its length, or -errno. */
static ssize_t slurp(const char *path, char **buf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	ssize_t n = 0, r;

	*buf = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > ROLLBACK_FILE_MAX ||
	    !(*buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return -EINVAL;
	}
	while (n <= st.st_size && (r = read(fd, *buf + n, (size_t)(st.st_size + 1 - n))) > 0)
		n += r;
	close(fd);
	return n;
}

static bool same_bytes(const char *a, const char *b)
{
	char *x, *y;
	ssize_t nx = slurp(a, &x), ny = slurp(b, &y);
	bool same = nx >= 0 && nx == ny && x && y && !memcmp(x, y, (size_t)nx);

	free(x);
	free(y);
	return same;
}

/* Is PREV the file CONFIG ".prev" (the same inode, however it is spelled)? */
static bool is_prev_of(const char *prev, const char *config)
{
	char want[4096];
	struct stat a, b;

	if (snprintf(want, sizeof(want), "%s.prev", config) >= (int)sizeof(want))
		return false;
	return !stat(prev, &a) && !stat(want, &b) && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* 0 when the peer on FD runs as the daemon's own user; else -EPERM with WHY. */
static int peer_is_us(int fd, const char *what, char *why, size_t len)
{
	struct ucred uc;
	socklen_t ul = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) < 0 || ul != sizeof(uc)) {
		snprintf(why, len, "cannot tell who asked: %s", strerror(errno));
		return -EPERM;
	}
	if (uc.uid != geteuid()) {
		snprintf(why, len, "only fwd apply, as uid %u, may ask for %s (peer uid %u, pid %d)",
			 (unsigned)geteuid(), what, (unsigned)uc.uid, (int)uc.pid);
		return -EPERM;
	}
	return 0;
}

int rollback_verify(int fd, const char *config, const char *prev, char *why, size_t len)
{
	int e = peer_is_us(fd, "rollback", why, len);

	if (e)
		return e;
	if (!config || !is_prev_of(prev, config)) {
		snprintf(why, len, "expected %s.prev, the previous copy of the rules file",
			 config ? config : "");
		return -EINVAL;
	}
	if (!same_bytes(prev, config)) {
		snprintf(why, len, "the rules file %s does not hold what its .prev holds", config);
		return -EINVAL;
	}
	return 0;
}

int confirm_verify(int fd, const char *config, const char *live, char *why, size_t len)
{
	struct stat a, b;
	int e = peer_is_us(fd, "a confirmation", why, len);

	if (e)
		return e;
	if (!config || stat(live, &a) || stat(config, &b) || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino) {
		snprintf(why, len, "expected %s, the daemon's rules file", config ? config : "");
		return -EINVAL;
	}
	return 0;
}
