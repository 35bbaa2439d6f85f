// SPDX-License-Identifier: MIT
/* keep.c - the dynamic sets' members across a restart (include/fwd/keep.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fwd/config.h"
#include "fwd/keep.h"
#include "fwd/value.h"
#include "fwd/wfile.h"

#define KEEP_HEADER	"# fwd: members of the dynamic sets, written as they change and at stop\n"
#define KEEP_LINE_MAX	256

#define BOOT_ID_LEN	36	/* /proc/sys/kernel/random/boot_id: a UUID's text */

/*
 * This boot's id, read once; "" when it cannot be read. A file written in
 * the same boot dates itself by CLOCK_BOOTTIME, which a step of the wall
 * clock does not move: a gateway without a battery-backed clock starts
 * with a wrong time and steps it at its first NTP sync, and a crash after
 * that step must not take the step for time that passed.
 */
static const char *boot_id(void)
{
	static char id[BOOT_ID_LEN + 2];
	static bool done;
	FILE *f;

	if (done)
		return id;
	done = true;
	f = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!f)
		return id;
	if (!fgets(id, sizeof(id), f) || strlen(id) != BOOT_ID_LEN + 1 ||
	    id[BOOT_ID_LEN] != '\n' || strspn(id, "0123456789abcdef-") != BOOT_ID_LEN)
		id[0] = '\0';
	id[BOOT_ID_LEN] = '\0';
	fclose(f);
	return id;
}

struct save {
	struct fwd_text t;
	uint64_t now;
	unsigned n;
};

static void save_one(void *arg, const char *set, const struct fwd_dkey *k, uint64_t expires)
{
	struct save *sv = arg;
	char a[64];
	const char *p = proto_name(k->proto);

	addr_format(a, sizeof(a), k->family, k->addr);
	text_printf(&sv->t, "%s %s", set, a);
	if (k->tag & FWD_DTAG_PREFIX)
		text_printf(&sv->t, "/%u", k->tag & 0xff);
	if (k->port && p)
		text_printf(&sv->t, " %u/%s", k->port, p);
	else if (k->port)
		text_printf(&sv->t, " %u/%u", k->port, k->proto);
	else
		text_printf(&sv->t, " -");
	text_printf(&sv->t, " %" PRIu64 "\n", expires - sv->now);
	sv->n++;
}

char *keep_text(struct fwd_dyn *d, unsigned *saved)
{
	struct save sv = { .now = clock_coarse_ms() };

	text_printf(&sv.t, KEEP_HEADER "saved %" PRIu64 "\n", clock_ms(CLOCK_REALTIME));
	if (*boot_id())
		text_printf(&sv.t, "boot %s %" PRIu64 "\n", boot_id(), clock_ms(CLOCK_BOOTTIME));
	dyn_members(d, sv.now, save_one, &sv);
	*saved = sv.n;
	return text_take(&sv.t);
}

int keep_write(const char *path, const char *text)
{
	return file_replace(path, text, strlen(text), FWD_KEEP_MODE, true);
}

int keep_save(struct fwd_dyn *d, const char *path, unsigned *saved)
{
	char *text = keep_text(d, saved);
	int e;

	if (!text)
		return -ENOMEM;
	e = keep_write(path, text);
	free(text);
	return e;
}

/* ---- reading it back ------------------------------------------------------ */

/* A number of decimal digits only, at most MAX. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !*end && !errno && *v <= max;
}

/* "-", or "PORT/PROTO" into K. */
static bool parse_port(const char *s, struct fwd_dkey *k)
{
	const char *slash = strchr(s, '/');
	char num[8];
	uint64_t port;
	int proto;

	if (!strcmp(s, "-"))
		return true;
	if (!slash || (size_t)(slash - s) >= sizeof(num))
		return false;
	memcpy(num, s, (size_t)(slash - s));
	num[slash - s] = '\0';
	proto = proto_number(slash + 1);
	if (!parse_u64(num, 65535, &port) || !port || proto <= 0)
		return false;
	k->port = (uint16_t)port;
	k->proto = (uint8_t)proto;
	return true;
}

/* ADDR or ADDR/LEN into K (a prefix entry when it has a length). */
static bool parse_member(const char *s, struct fwd_dkey *k)
{
	bool prefix = strchr(s, '/') != NULL;
	unsigned plen = 0;
	int family = prefix ? prefix_parse(s, &k->addr, &plen) : addr_parse(s, &k->addr);

	if (!family)
		return false;
	k->family = (uint8_t)family;
	k->tag = prefix ? FWD_DTAG_PREFIX | plen : 0;
	return true;
}

struct load {
	struct fwd_dyn *d;
	struct keep_report *r;
	uint64_t now;
	bool saved_seen;
	bool boot_seen;		/* the file's age is by this boot's clock */
};

/* Count a bad line; the first is kept as "LINE:COL: 'WORD': WHAT" (no WORD: the line). */
static void bad(struct load *l, unsigned line, const char *text, const char *word,
		const char *what)
{
	char q[100];

	if (l->r->bad++)
		return;
	if (!word) {
		snprintf(l->r->first_bad, sizeof(l->r->first_bad), "%u:1: %s", line, what);
		return;
	}
	diag_escape(q, sizeof(q), word);
	snprintf(l->r->first_bad, sizeof(l->r->first_bad), "%u:%zu: '%s': %s", line,
		 (size_t)(word - text) + 1, q, what);
}

/*
 * One member line's words W into K and LEFT; NULL, or what is wrong, with
 * *AT the word.
 */
static const char *parse_line(char **w, struct fwd_dkey *k, uint64_t *left, const char **at)
{
	*at = w[1];
	if (!parse_member(w[1], k))
		return "not an address or prefix";
	*at = w[2];
	if (!parse_port(w[2], k))
		return "expected - or PORT/PROTO";
	*at = w[3];
	if (!parse_u64(w[3], FWD_DYN_TIMEOUT_MAX_MS, left))
		return "not a time left in ms (at most 7 days)";
	return NULL;
}

/*
 * "boot ID MS": written in this boot, MS into it, the file's age is by the
 * boot clock; of another boot, the wall clock's age ("saved") stands.
 */
static const char *load_boot(struct load *l, char **w)
{
	uint64_t saved, now = clock_ms(CLOCK_BOOTTIME);

	if (!parse_u64(w[2], UINT64_MAX, &saved))
		return "not a time";
	if (!*boot_id() || strcmp(w[1], boot_id()) || saved > now)
		return NULL;
	l->boot_seen = true;
	l->r->age_ms = now - saved;
	return NULL;
}

/* One line of the file, numbered LINE, its newline gone. */
static void load_line(struct load *l, char *text, unsigned line)
{
	char *w[5], *save = NULL;
	struct fwd_dkey k = { 0 };
	const char *what, *at = NULL;
	uint64_t left, saved = 0, now;
	unsigned n = 0;
	int set;

	if (!*text || *text == '#')
		return;
	for (char *p = strtok_r(text, " ", &save); p; p = strtok_r(NULL, " ", &save))
		if (n < 5)
			w[n++] = p;
	if (n == 2 && !strcmp(w[0], "saved") && !l->saved_seen) {
		l->saved_seen = parse_u64(w[1], UINT64_MAX, &saved);
		now = clock_ms(CLOCK_REALTIME);
		if (l->saved_seen && now > saved && !l->boot_seen)
			l->r->age_ms = now - saved;
		what = l->saved_seen ? NULL : "not a time";
		at = w[1];
	} else if (n == 3 && !strcmp(w[0], "boot") && !l->boot_seen) {
		what = load_boot(l, w);
		at = w[2];
	} else if (n != 4) {
		what = "expected SET ADDR[/LEN] PORT/PROTO|- REMAINING_MS";
	} else if (!(what = parse_line(w, &k, &left, &at))) {
		set = dyn_set_find(l->d, w[0]);
		if (!dyn_set_kept(l->d, set))
			l->r->skipped++;
		else if (left <= l->r->age_ms)
			l->r->expired++;
		else if (dyn_member_put(l->d, set, &k, l->now + left - l->r->age_ms, l->now) < 0)
			l->r->refused++;
		else
			l->r->restored++;
	}
	if (what)
		bad(l, line, text, at, what);
}

int keep_load(struct fwd_dyn *d, const char *path, struct keep_report *r)
{
	struct load l = { .d = d, .r = r, .now = clock_coarse_ms() };
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), e = 0;
	FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
	char buf[KEEP_LINE_MAX + 2];
	unsigned line = 0;

	*r = (struct keep_report){ 0 };
	if (!f) {
		e = -errno;
		if (fd >= 0)
			close(fd);
		return e;
	}
	while (fgets(buf, sizeof(buf), f)) {
		size_t len = strlen(buf);

		line++;
		if (len && buf[len - 1] == '\n') {
			buf[--len] = '\0';
		} else if (!feof(f)) {
			bad(&l, line, buf, buf, "line too long");
			for (int c = 0; c != '\n' && c != EOF;)
				c = fgetc(f);
			continue;
		}
		load_line(&l, buf, line);
	}
	if (ferror(f))
		e = -EIO;
	fclose(f);
	return e;
}
