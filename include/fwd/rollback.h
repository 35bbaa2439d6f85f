/* SPDX-License-Identifier: MIT */
/*
 * rollback.h - checking a "rollback SECONDS PREVFILE" control request before
 * the daemon logs it as done (fwd/rollback.c).
 */
#ifndef FWD_ROLLBACK_H
#define FWD_ROLLBACK_H

#include <stddef.h>

/*
 * May the peer on control connection FD claim that PREV was copied back over
 * the rules file CONFIG? 0 when the peer runs as the daemon's user, PREV is
 * CONFIG.prev and CONFIG holds PREV's bytes; else -EPERM or -EINVAL with the
 * reason in WHY.
 */
int rollback_verify(int fd, const char *config, const char *prev, char *why, size_t len);
/*
 * May the peer on FD claim that `fwd apply` on LIVE was confirmed? 0 when it
 * runs as the daemon's user and LIVE is the rules file CONFIG (the same
 * inode); else -EPERM or -EINVAL with the reason in WHY.
 */
int confirm_verify(int fd, const char *config, const char *live, char *why, size_t len);

#endif
