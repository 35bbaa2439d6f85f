// SPDX-License-Identifier: MIT
/*
 * iptsave.c - the iptables tools fwd runs and the counters it reads back
 * (include/fwd/iptsave.h). The output goes to a memfd, so a table of any
 * size is read whole after the tool exits: no pipe to fill.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fwd/iptsave.h"

bool ipt_tool_path(const char *name, char *out, size_t len)
{
	static const char *const dirs[] = { "/usr/sbin", "/sbin" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(out, len, "%s/%s", dirs[i], name);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

/* FD as the child's TARGET; with none, /dev/null for its input and, if QUIET, its output. */
static int redirect(posix_spawn_file_actions_t *fa, int fd, int target, bool quiet)
{
	if (fd >= 0)
		return posix_spawn_file_actions_adddup2(fa, fd, target);
	if (quiet || target == 0)
		return posix_spawn_file_actions_addopen(fa, target, "/dev/null",
							target ? O_WRONLY : O_RDONLY, 0);
	return 0;
}

/*
 * The child starts with no signal blocked: the daemon's threads block the
 * signals its signalfd reads, and a tool that inherited that mask would
 * outlive a SIGTERM to the service's processes.
 */
static int unblocked(posix_spawnattr_t *at)
{
	sigset_t none;
	int err;

	sigemptyset(&none);
	err = posix_spawnattr_setsigmask(at, &none);
	return err ? err : posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGMASK);
}

int ipt_run(char *const argv[], int in, int out, bool quiet)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int status, err;
	pid_t pid;

	err = posix_spawn_file_actions_init(&fa);
	if (err)
		return -err;
	err = posix_spawnattr_init(&at);
	if (err) {
		posix_spawn_file_actions_destroy(&fa);
		return -err;
	}
	err = unblocked(&at);
	if (!err)
		err = redirect(&fa, in, 0, quiet);
	if (!err)
		err = redirect(&fa, out, 1, quiet);
	if (!err)
		err = redirect(&fa, -1, 2, quiet);
	if (!err)
		err = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		return -err;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -ECHILD;
}

/* Run PATH -c -t TABLE with its standard output in FD; its exit status, or -errno. */
static int save_into(const char *path, const char *table, int fd)
{
	/* argv is char *const[] for historical reasons; the tool never writes to it. */
	const char *argv[] = { path, "-c", "-t", table, NULL };

	return ipt_run((char *const *)(uintptr_t)argv, -1, fd, true);
}

int ipt_save(int family, const char *table, char **text)
{
	char path[64];
	int fd, err;
	off_t size;

	*text = NULL;
	if (!ipt_tool_path(family == 4 ? "iptables-save" : "ip6tables-save", path, sizeof(path)))
		return -ENOENT;
	fd = memfd_create("fwd-save", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = save_into(path, table, fd);
	if (err > 0)
		err = -EIO;
	size = err ? -1 : lseek(fd, 0, SEEK_END);
	if (!err && size < 0)
		err = errno ? -errno : -EIO;
	if (!err && !(*text = malloc((size_t)size + 1)))
		err = -ENOMEM;
	if (!err && pread(fd, *text, (size_t)size, 0) != size)
		err = -EIO;
	if (err) {
		free(*text);
		*text = NULL;
	} else {
		(*text)[size] = '\0';
	}
	close(fd);
	return err;
}

uint64_t ipt_counted(const char *text, const char *chain, const char *has)
{
	char head[64];
	size_t hl = (size_t)snprintf(head, sizeof(head), "-A %s ", chain), hasl = strlen(has);
	uint64_t sum = 0, p, b;

	for (const char *line = text; *line;) {
		const char *end = line + strcspn(line, "\n");
		int n = 0;

		if (sscanf(line, "[%" SCNu64 ":%" SCNu64 "] %n", &p, &b, &n) == 2 && n &&
		    (size_t)(end - line) >= n + hl && !memcmp(line + n, head, hl) &&
		    memmem(line + n, (size_t)(end - line) - (size_t)n, has, hasl))
			sum += p;
		line = *end ? end + 1 : end;
	}
	return sum;
}

int ipt_count(int family, const char *table, const char *chain, const char *has,
	      uint64_t *n)
{
	char *text;
	int err = ipt_save(family, table, &text);

	if (err || !text)
		return err ? err : -EIO;
	*n = ipt_counted(text, chain, has);
	free(text);
	return 0;
}
