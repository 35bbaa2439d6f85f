// SPDX-License-Identifier: MIT
/*
 * fuzz_wire.c - libFuzzer target for what fwd reads from outside that is not
 * a rules file or a packet: a set file (a blocklist as published), the
 * CrowdSec Local API's decision stream, its Go duration text, and the
 * machine's credentials file.
 *
 * Input: one byte that chooses the reader, then its text.
 * Build and run: sh tests/fuzz/run.sh SECONDS wire
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fwd/config.h"
#include "fwd/crowdsec.h"
#include "fwd/dtable.h"
#include "fwd/value.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One file, rewritten for each input, that the readers open by name. */
static const char *scratch(const uint8_t *data, size_t size)
{
	static char path[64];
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("fuzz-wire", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	return path;
}

/* Accepted: sorted, merged (neither overlapping nor touching), each range whole. */
static void set_file(const uint8_t *data, size_t size)
{
	struct fwd_addrset as;
	struct fwd_diags d;
	const char *path = scratch(data, size);
	bool ok;

	diags_init(&d, "rules.yaml");
	ok = setfile_load(path, (struct fwd_pos){ 3, 7 }, &as, &d);
	if (ok != (d.errors == 0))
		abort();
	for (uint32_t i = 0; ok && i < as.n4; i++)
		if (as.v4[i].lo > as.v4[i].hi ||
		    (i && (uint64_t)as.v4[i - 1].hi + 1 >= as.v4[i].lo))
			abort();
	for (uint32_t i = 0; ok && i < as.n6; i++)
		if (as.v6[i].lo > as.v6[i].hi ||
		    (i && (as.v6[i - 1].hi >= as.v6[i].lo || as.v6[i - 1].hi + 1 == as.v6[i].lo)))
			abort();
	if (ok) {
		free(as.v4);
		free(as.v6);
	}
	diags_free(&d);
}

/* Taken decisions are whole: a family, a prefix that is not /0, no host bits. */
static void stream(const uint8_t *data, size_t size)
{
	struct fwd_cs_stream s;
	char err[256] = "";
	int e;

	memset(&s, 0, sizeof(s));
	e = crowdsec_stream_parse((const char *)data, size, &s, err, sizeof(err));
	if (e && !err[0])
		abort();
	for (size_t i = 0; i < s.n; i++) {
		const struct fwd_cs_decision *c = &s.d[i];
		unsigned max = c->family == 4 ? 32 : 128;

		if ((c->family != 4 && c->family != 6) || !c->plen || c->plen > max ||
		    (c->addr & ~fwd_prefix_mask(c->family, c->plen)) ||
		    (!c->deleted && c->remain_ms <= 0))
			abort();
	}
	crowdsec_stream_free(&s);
}

static void duration(const uint8_t *data, size_t size)
{
	char *s = strndup((const char *)data, size);
	int64_t ms = 0;

	if (!s)
		return;
	if (cs_go_duration_ms(s, &ms) && s[0] != '-' && ms < 0)
		abort();
	free(s);
}

static void machine(const uint8_t *data, size_t size)
{
	char *login = NULL, *password = NULL, err[256] = "";

	if (!crowdsec_machine_read(scratch(data, size), &login, &password, err, sizeof(err))) {
		if (!login || !password || !login[0] || !password[0])
			abort();
		free(login);
		free(password);
	} else if (!err[0]) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		set_file(data + 1, size - 1);
		break;
	case 1:
		stream(data + 1, size - 1);
		break;
	case 2:
		duration(data + 1, size - 1);
		break;
	default:
		machine(data + 1, size - 1);
		break;
	}
	return 0;
}
