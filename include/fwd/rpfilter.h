/* SPDX-License-Identifier: MIT */
/*
 * rpfilter.h - counting the new packets fwd's reverse path check dropped
 * (`daemon: rpfilter:`, FWD-QUEUE's line commented FWD_RPF_COMMENT, hooks.h):
 * sources that do not route back through the interface they came in on.
 *
 * The kernel counts them; its counter starts again from 0 with every install
 * of the hooks (a reload, or hooks put back), which a lower count than the
 * last betrays, and the count so far is carried over. fwd reads it just
 * before it installs the hooks; what is dropped between that reading and the
 * install is not counted: the count errs low, never high.
 */
#ifndef FWD_RPFILTER_H
#define FWD_RPFILTER_H

#include <stdint.h>

#include "fwd/config.h"

/*
 * Sample now (iptables-save -c), with NOW the check the hooks hold (the
 * table that had one may be gone); the packets dropped since start. Also
 * called just before each install of the hooks. Only with hooks.
 */
uint64_t rpfilter_dropped(enum fwd_rpfilter now);

#endif
