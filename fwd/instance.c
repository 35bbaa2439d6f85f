// SPDX-License-Identifier: MIT
/*
 * instance.c - one fwd per network namespace; see include/fwd/instance.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fwd/instance.h"
#include "fwd/log.h"

#define INSTANCE_ANSWER_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path) + 64)
#define INSTANCE_WAIT_MS	2000	/* a starting first instance answers late */

static struct {
	int fd;
	int lock;	/* the flock()ed file; -1 when none */
	pthread_t thread;
	bool running;
	char answer[INSTANCE_ANSWER_MAX];
} I = { .fd = -1, .lock = -1 };

static socklen_t instance_addr(struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path + 1, FWD_INSTANCE_NAME, sizeof(FWD_INSTANCE_NAME) - 1);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			   sizeof(FWD_INSTANCE_NAME) - 1);
}

/* Whether the peer of FD runs as root or as this process's user. */
static bool peer_trusted(const struct ucred *cr)
{
	return cr->pid > 0 && (cr->uid == 0 || cr->uid == geteuid());
}

/*
 * Who holds the lock: the pid from the kernel, the control socket from the
 * holder's answer (absent while it is still starting up), both only from a
 * holder running as root or as us; the answer is escaped before printing.
 */
static void describe_holder(char *err, size_t errlen)
{
	char sock[INSTANCE_ANSWER_MAX] = "", esc[4 * INSTANCE_ANSWER_MAX + 3] = "", pid[24] = "unknown";
	struct ucred cr = { .pid = 0 };
	socklen_t crlen = sizeof(cr);
	struct sockaddr_un sa;
	socklen_t salen = instance_addr(&sa);
	struct pollfd p;
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, salen) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == 0 && peer_trusted(&cr)) {
		p = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (poll(&p, 1, INSTANCE_WAIT_MS) == 1) {
			n = read(fd, sock, sizeof(sock) - 1);
			sock[n > 0 ? n : 0] = '\0';
			sock[strcspn(sock, "\n")] = '\0';
		}
		snprintf(pid, sizeof(pid), "%ld", (long)cr.pid);
	}
	if (fd >= 0)
		close(fd);
	if (*sock) {
		esc[0] = '\'';
		log_escape(esc + 1, sizeof(esc) - 2, sock);
		strcat(esc, "'");
	}
	snprintf(err, errlen,
		 "another fwd runs in this network namespace: pid %s, control socket %s; "
		 "fwd's chains are global to a namespace, so only one may run",
		 pid, *esc ? esc : "unknown (still starting)");
}

/*
 * The lock: flock() on a file named after this network namespace's inode,
 * in a directory only root may write. Only root can create or open it, the
 * kernel lets go of it when the holder dies, and the inode is the
 * namespace's own. (The abstract socket name alone is no lock: any user in
 * the namespace can bind it first.)
 */
static int lock_namespace(char *err, size_t errlen)
{
	char path[sizeof(FWD_INSTANCE_DIR) + 48];
	struct stat ns, dir;
	int fd;

	if (stat("/proc/self/ns/net", &ns) < 0) {
		snprintf(err, errlen, "instance lock: /proc/self/ns/net: %s", strerror(errno));
		return -errno;
	}
	if (mkdir(FWD_INSTANCE_DIR, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "instance lock: cannot make '%s': %s", FWD_INSTANCE_DIR,
			 strerror(errno));
		return -errno;
	}
	if (lstat(FWD_INSTANCE_DIR, &dir) < 0 || !S_ISDIR(dir.st_mode) || dir.st_uid != geteuid() ||
	    (dir.st_mode & 022)) {
		snprintf(err, errlen, "instance lock: '%s' is not a directory that only uid %u may write",
			 FWD_INSTANCE_DIR, (unsigned)geteuid());
		return -EPERM;
	}
	snprintf(path, sizeof(path), "%s/net-%lu.lock", FWD_INSTANCE_DIR, (unsigned long)ns.st_ino);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "instance lock '%s': %s", path, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		describe_holder(err, errlen);
		return -EADDRINUSE;
	}
	I.lock = fd;
	return 0;
}

/*
 * The socket that tells a second instance who runs. Taken by another user
 * first, it only costs that answer: say who took it and go on.
 */
static void bind_answer(void)
{
	struct sockaddr_un sa;
	socklen_t salen = instance_addr(&sa), crlen;
	struct ucred cr = { .pid = 0 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), c;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, salen) == 0 && listen(fd, 8) == 0) {
		I.fd = fd;
		return;
	}
	if (fd >= 0)
		close(fd);
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	crlen = sizeof(cr);
	if (c >= 0 && connect(c, (struct sockaddr *)&sa, salen) == 0)
		getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &crlen);
	if (c >= 0)
		close(c);
	log_warn("instance: '@%s' is held by uid %ld, pid %ld, not by fwd; fwd runs, but another "
		 "'fwd run' here cannot learn its control socket", FWD_INSTANCE_NAME,
		 cr.pid ? (long)cr.uid : -1L, (long)cr.pid);
}

int instance_claim(const char *socket_path, char *err, size_t errlen)
{
	int e = lock_namespace(err, errlen);

	if (e)
		return e;
	if (socket_path) {
		snprintf(I.answer, sizeof(I.answer), "%s\n", socket_path);
		bind_answer();
	}
	return 0;
}

/* One line per question, then hang up; shutdown() in release ends accept(). */
static void *instance_main(void *arg)
{
	size_t len = strlen(I.answer);
	ssize_t n;
	int c;

	(void)arg;
	pthread_setname_np(pthread_self(), "fwd-instance");
	for (;;) {
		c = accept4(I.fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			break;
		}
		/* A failed send needs nothing: the asker gives up after a timeout. */
		n = send(c, I.answer, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		(void)n;
		close(c);
	}
	return NULL;
}

int instance_serve(void)
{
	int e;

	if (I.fd < 0)
		return 0;
	e = pthread_create(&I.thread, NULL, instance_main, NULL);
	if (e)
		return -e;
	I.running = true;
	return 0;
}

void instance_release(void)
{
	if (I.fd >= 0) {
		shutdown(I.fd, SHUT_RDWR);
		if (I.running)
			pthread_join(I.thread, NULL);
		I.running = false;
		close(I.fd);
		I.fd = -1;
	}
	if (I.lock >= 0)
		close(I.lock);	/* the file stays: unlinking it would race a new claim */
	I.lock = -1;
}
