// SPDX-License-Identifier: MIT
/*
 * instance.c - one fwd per network namespace; see include/fwd/instance.h.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fwd/instance.h"

#define INSTANCE_ANSWER_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path) + 64)
#define INSTANCE_WAIT_MS	2000	/* a starting first instance answers late */

static struct {
	int fd;
	pthread_t thread;
	bool running;
	char answer[INSTANCE_ANSWER_MAX];
} I = { .fd = -1 };

static socklen_t instance_addr(struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path + 1, FWD_INSTANCE_NAME, sizeof(FWD_INSTANCE_NAME) - 1);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			   sizeof(FWD_INSTANCE_NAME) - 1);
}

/*
 * Who holds the name: the pid from the kernel, the control socket from the
 * holder's answer (absent while it is still starting up).
 */
static void describe_holder(char *err, size_t errlen)
{
	char sock[INSTANCE_ANSWER_MAX] = "", pid[24] = "unknown";
	struct ucred cr = { .pid = 0 };
	socklen_t crlen = sizeof(cr);
	struct sockaddr_un sa;
	socklen_t salen = instance_addr(&sa);
	struct pollfd p;
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, salen) == 0) {
		getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen);
		p = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (poll(&p, 1, INSTANCE_WAIT_MS) == 1) {
			n = read(fd, sock, sizeof(sock) - 1);
			sock[n > 0 ? n : 0] = '\0';
			sock[strcspn(sock, "\n")] = '\0';
		}
	}
	if (fd >= 0)
		close(fd);
	if (cr.pid > 0)
		snprintf(pid, sizeof(pid), "%ld", (long)cr.pid);
	snprintf(err, errlen,
		 "another fwd runs in this network namespace: pid %s, control socket %s%s%s; "
		 "fwd's chains are global to a namespace, so only one may run",
		 pid, *sock ? "'" : "", *sock ? sock : "unknown (still starting)",
		 *sock ? "'" : "");
}

int instance_claim(const char *socket_path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	socklen_t salen = instance_addr(&sa);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), e;

	if (fd < 0) {
		e = -errno;
		snprintf(err, errlen, "instance lock: socket: %s", strerror(errno));
		return e;
	}
	if (bind(fd, (struct sockaddr *)&sa, salen) < 0 || listen(fd, 8) < 0) {
		e = -errno;
		close(fd);
		if (e == -EADDRINUSE)
			describe_holder(err, errlen);
		else
			snprintf(err, errlen, "instance lock '@%s': %s", FWD_INSTANCE_NAME,
				 strerror(-e));
		return e;
	}
	snprintf(I.answer, sizeof(I.answer), "%s\n", socket_path);
	I.fd = fd;
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
	if (I.fd < 0)
		return;
	shutdown(I.fd, SHUT_RDWR);
	if (I.running)
		pthread_join(I.thread, NULL);
	I.running = false;
	close(I.fd);
	I.fd = -1;
}
