/* SPDX-License-Identifier: MIT */
/*
 * client.h - the clients of the daemon's control socket (fwd/client.c):
 * `fwd stats`, `fwd reload`, `fwd unblock`, and the connections `fwd top`,
 * `fwd explain --live` and `fwd apply` make. The protocol is in control.h.
 */
#ifndef FWD_CLIENT_H
#define FWD_CLIENT_H

#include <stddef.h>

#define FWD_CONTROL_MAX		256
#define FWD_SOCKET_DIR		"/run/fwd"
#define FWD_SOCKET_DEFAULT	FWD_SOCKET_DIR "/fwd.sock"

/* Fill SA for the unix socket PATH; -ENAMETOOLONG when it does not fit. */
struct sockaddr_un;
int client_sockaddr(struct sockaddr_un *sa, const char *path);

/* A stream socket connected to the unix socket PATH, or -errno. */
int client_connect(const char *path);

/* Write all of S to the socket FD (no SIGPIPE); stops at the first error. */
void client_send(int fd, const char *s, size_t len);

/*
 * Send REQ (with its newline) to PATH; the answer (malloc'd) in *OUT. 0 or
 * -errno: -ENODATA when the daemon closed without a byte, -EPROTO when the
 * answer does not end in a newline (cut short), the read's error when it
 * failed; *OUT is NULL then.
 */
int client_request(const char *path, const char *req, char **out);

/* "WHO: ..." on stderr for client_request()'s or client_connect()'s error E. */
void client_perror(const char *who, const char *path, int e);

#endif
