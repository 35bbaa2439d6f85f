// SPDX-License-Identifier: MIT
/*
 * unhook.c - `fwd unhook`: what a clean stop does to the kernel, for a fwd
 * that is not there to do it. After a crash, or a stop for a restart whose
 * start then failed, fwd's hooks stay and (fail: closed) drop what they
 * queue; `systemctl stop fwd` has no process left to signal. Refused while
 * a fwd runs in this network namespace: its hooks are its own.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fwd/cmd.h"
#include "fwd/hooks.h"
#include "fwd/instance.h"

int cmd_unhook(int argc, char **argv)
{
	char err[512];
	int e;

	if (argc != 1) {
		fprintf(stderr, "usage: fwd unhook\n");
		return 2;
	}
	(void)argv;
	/* Held while the chains go, so that no fwd starts and installs meanwhile. */
	e = instance_claim(NULL, err, sizeof(err));
	if (e == -EADDRINUSE) {
		fprintf(stderr, "fwd unhook: %s; its hooks are its own: stop it instead "
			"(SIGTERM, systemctl stop fwd)\n", err);
		return 1;
	}
	if (e) {
		fprintf(stderr, "fwd unhook: %s\n", err);
		return 2;
	}
	e = hooks_remove();
	instance_release();
	if (e) {
		fprintf(stderr, "fwd unhook: removing the hooks failed: %s\n", strerror(-e));
		return 2;
	}
	printf("fwd unhook: no fwd chain or jump is left in this network namespace\n");
	return 0;
}
