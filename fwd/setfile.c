// SPDX-License-Identifier: MIT
/*
 * setfile.c - an address set read from its own file, as blocklists are
 * published: `sets: {NAME: {file: PATH}}` in a rules file.
 *
 * One IPv4 or IPv6 address or prefix per line; blank lines and comments
 * (from `#`, or `;` as in Spamhaus DROP, to the end of the line) are
 * skipped, so FireHOL's .netset files and the DROP lists load as published.
 * A bad line is an error at PATH:LINE:COL, as strict as an address in the
 * rules file itself (host bits set in a prefix are an error, and so is a
 * NUL byte). The file is
 * read on every load, so a reload picks up a new list, and a bad list keeps
 * the old rules, like any other error. Read line by line: the file is never
 * held in memory whole, only its ranges, sorted and merged.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fwd/config.h"
#include "fwd/load.h"
#include "fwd/value.h"

#define SETFILE_ERRORS_MAX	10	/* then the rest of the file is skipped */

struct sf {
	const char *path;
	struct fwd_pos at;		/* where the rules file names it */
	struct fwd_diags *d;
	uint32_t line;
	unsigned errors;
	struct fwd_a4range *v4;
	struct fwd_a6range *v6;
	size_t n4, cap4, n6, cap6;
	bool oom;
};

/* Errors are reported against the set file, sorted where the rules file names it. */
__attribute__((format(printf, 3, 4)))
static void sf_error(struct sf *s, uint32_t col, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_error_in(s->d, s->at, s->path,
		      col ? (struct fwd_pos){ s->line, col } : (struct fwd_pos){ 0, 0 }, "%s", msg);
	s->errors++;
}

static bool sf_push(struct sf *s, int fam, fwd_u128 lo, fwd_u128 hi)
{
	if (fam == 4) {
		if (s->n4 == s->cap4) {
			size_t cap = s->cap4 ? s->cap4 * 2 : 1024;
			struct fwd_a4range *n = realloc(s->v4, cap * sizeof(*n));

			if (!n)
				return false;
			s->v4 = n;
			s->cap4 = cap;
		}
		s->v4[s->n4++] = (struct fwd_a4range){ (uint32_t)lo, (uint32_t)hi };
		return true;
	}
	if (s->n6 == s->cap6) {
		size_t cap = s->cap6 ? s->cap6 * 2 : 1024;
		struct fwd_a6range *n = realloc(s->v6, cap * sizeof(*n));

		if (!n)
			return false;
		s->v6 = n;
		s->cap6 = cap;
	}
	s->v6[s->n6++] = (struct fwd_a6range){ lo, hi };
	return true;
}

/* The network of A (family FAM) with its host bits cleared, as text. */
static void net_text(int fam, fwd_u128 a, char *out, size_t len)
{
	unsigned char b[16];
	int nb = fam == 4 ? 4 : 16;

	for (int i = nb - 1; i >= 0; i--, a >>= 8)
		b[i] = (unsigned char)a;
	inet_ntop(fam == 4 ? AF_INET : AF_INET6, b, out, (socklen_t)len);
}

/* One token "ADDR" or "ADDR/LEN" at column COL. */
static void sf_token(struct sf *s, const char *tok, uint32_t col)
{
	const char *slash = strchr(tok, '/');
	char host[INET6_ADDRSTRLEN + 1], net[INET6_ADDRSTRLEN];
	size_t hl = slash ? (size_t)(slash - tok) : strlen(tok);
	unsigned long plen;
	fwd_u128 a, mask;
	char *end;
	int fam = 0, bits;

	if (hl < sizeof(host)) {
		memcpy(host, tok, hl);
		host[hl] = '\0';
		fam = addr_parse(host, &a);
	}
	if (!fam) {
		sf_error(s, col, "invalid address '%s'", tok);
		return;
	}
	bits = fam == 4 ? 32 : 128;
	plen = (unsigned long)bits;
	if (slash) {
		errno = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end || errno || plen > (unsigned long)bits) {
			sf_error(s, col + (uint32_t)hl + 1, "invalid prefix length in '%s' (0 to %d)",
				 tok, bits);
			return;
		}
	}
	if (plen == 128 && addr_unmap(fam, &a, NULL) == 4) {
		fam = 4;
		bits = 32;
		plen = 32;
	}
	mask = plen == (unsigned long)bits ? 0 : plen == 0 ? ~(fwd_u128)0 >> (128 - bits) :
	       ((fwd_u128)1 << (bits - plen)) - 1;
	if (a & mask) {
		net_text(fam, a & ~mask, net, sizeof(net));
		sf_error(s, col, "%s has host bits set; the network is %s/%lu", tok, net, plen);
		return;
	}
	if (!sf_push(s, fam, a, a | mask))
		s->oom = true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_comment(char c)
{
	return c == '#' || c == ';';
}

/* One line: blank, a comment, or one address with an optional comment after it. */
static void sf_line(struct sf *s, char *p)
{
	char *start = p, *tok;

	while (is_blank(*p))
		p++;
	if (!*p || is_comment(*p))
		return;
	tok = p;
	while (*p && !is_blank(*p) && !is_comment(*p))
		p++;
	if (*p && !is_comment(*p)) {
		char *q = p;

		*q = '\0';
		for (p = q + 1; is_blank(*p); p++)
			;
		if (*p && !is_comment(*p)) {
			char *e = p;

			while (*e && !is_blank(*e) && !is_comment(*e))
				e++;
			*e = '\0';
			sf_error(s, (uint32_t)(p - start) + 1,
				 "'%s' after the address; one address or prefix per line", p);
			return;
		}
	}
	*p = '\0';
	sf_token(s, tok, (uint32_t)(tok - start) + 1);
}

static int a4_cmp(const void *a, const void *b)
{
	const struct fwd_a4range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int a6_cmp(const void *a, const void *b)
{
	const struct fwd_a6range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sort and merge overlapping or adjacent ranges into OUT. */
static void sf_finish(struct sf *s, struct fwd_addrset *out)
{
	size_t o = 0;

	if (s->n4)
		qsort(s->v4, s->n4, sizeof(*s->v4), a4_cmp);
	for (size_t i = 0; i < s->n4; i++) {
		if (o && (uint64_t)s->v4[i].lo <= (uint64_t)s->v4[o - 1].hi + 1) {
			if (s->v4[i].hi > s->v4[o - 1].hi)
				s->v4[o - 1].hi = s->v4[i].hi;
		} else {
			s->v4[o++] = s->v4[i];
		}
	}
	out->n4 = (uint32_t)o;
	if (s->n6)
		qsort(s->v6, s->n6, sizeof(*s->v6), a6_cmp);
	o = 0;
	for (size_t i = 0; i < s->n6; i++) {
		if (o && (s->v6[i].lo <= s->v6[o - 1].hi || s->v6[i].lo == s->v6[o - 1].hi + 1)) {
			if (s->v6[i].hi > s->v6[o - 1].hi)
				s->v6[o - 1].hi = s->v6[i].hi;
		} else {
			s->v6[o++] = s->v6[i];
		}
	}
	out->n6 = (uint32_t)o;
	out->v4 = s->v4;
	out->v6 = s->v6;
}

/* PATH, opened as config_load() opens a rules file: a regular file, never blocking. */
static FILE *sf_open(struct sf *s)
{
	struct stat st;
	FILE *f;
	int fd = open(s->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		sf_error(s, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		sf_error(s, 0, "cannot stat: %s", strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		sf_error(s, 0, "is not a regular file");
	} else if (st.st_size > (off_t)FWD_SETFILE_MAX) {
		sf_error(s, 0, "file is larger than %u bytes (%lld)", FWD_SETFILE_MAX,
			 (long long)st.st_size);
	} else if ((f = fdopen(fd, "r"))) {
		return f;
	} else {
		sf_error(s, 0, "cannot open: %s", strerror(errno));
	}
	close(fd);
	return NULL;
}

/* What an editor may put before the first line of a UTF-8 text: not part of it. */
#define UTF8_BOM	"\xef\xbb\xbf"

bool setfile_load(const char *path, struct fwd_pos at, struct fwd_addrset *out,
		  struct fwd_diags *d)
{
	struct sf s = { .path = path, .at = at, .d = d };
	char *line = NULL, *nul;
	size_t cap = 0;
	ssize_t n;
	FILE *f = sf_open(&s);

	memset(out, 0, sizeof(*out));
	if (!f)
		return false;
	while ((n = getline(&line, &cap, f)) > 0 && !s.oom) {
		s.line++;
		if (s.errors == SETFILE_ERRORS_MAX) {
			sf_error(&s, 0, "too many errors; the rest of the file is not read");
			break;
		}
		/* The line is text: a NUL would end it early and hide the rest. */
		nul = memchr(line, '\0', (size_t)n);
		if (nul)
			sf_error(&s, (uint32_t)(nul - line) + 1, "NUL byte; a set file is text");
		else if (s.line == 1 && !strncmp(line, UTF8_BOM, strlen(UTF8_BOM)))
			sf_line(&s, line + strlen(UTF8_BOM));
		else
			sf_line(&s, line);
	}
	if (ferror(f))
		sf_error(&s, 0, "read error: %s", strerror(errno));
	if (s.oom)
		sf_error(&s, 0, "out of memory");
	free(line);
	fclose(f);
	if (s.errors) {
		free(s.v4);
		free(s.v6);
		return false;
	}
	sf_finish(&s, out);
	return true;
}

char *setfile_path(const char *rules_file, const char *path)
{
	const char *slash = rules_file ? strrchr(rules_file, '/') : NULL;
	size_t dl = slash ? (size_t)(slash - rules_file) + 1 : 0;
	char *full;

	if (path[0] == '/')
		dl = 0;
	full = malloc(dl + strlen(path) + 1);
	if (full) {
		if (dl)
			memcpy(full, rules_file, dl);
		strcpy(full + dl, path);
	}
	return full;
}

/* The ranges of AS into L (an empty range list of the loader). */
static bool to_rl(struct rl *l, const struct fwd_addrset *as, bool v6)
{
	uint32_t n = v6 ? as->n6 : as->n4;

	if (!n)
		return true;
	l->r = malloc(n * sizeof(*l->r));
	if (!l->r)
		return false;
	for (uint32_t i = 0; i < n; i++)
		l->r[i] = v6 ? (struct r128){ as->v6[i].lo, as->v6[i].hi }
			     : (struct r128){ as->v4[i].lo, as->v4[i].hi };
	l->n = l->cap = n;
	return true;
}

void set_file(struct ld *l, struct lset *set, const struct ynode *v)
{
	const struct ynode *path = NULL;
	struct fwd_addrset as;
	char *full;

	for (size_t i = 0; i + 1 < v->n; i += 2) {
		if (ykid(v)[i]->kind == Y_SCALAR && !strcmp(ykid(v)[i]->s, "file"))
			path = ykid(v)[i + 1];
		else
			diag_error(l->d, ykid(v)[i]->pos, "unknown key '%s' in set '%s'; expected: file",
				   ykid(v)[i]->kind == Y_SCALAR ? ykid(v)[i]->s : "?", set->name);
	}
	if (!path || !want_scalar(l, path, "file:")) {
		if (!path)
			diag_error(l->d, v->pos, "set '%s' needs a list, a value or {file: PATH}",
				   set->name);
		return;
	}
	full = setfile_path(l->d->base ? l->d->base : l->d->file, path->s);
	if (!full || !setfile_load(full, path->pos, &as, l->d)) {
		l->oom |= !full;
		free(full);
		return;
	}
	if (set->v4.n || set->v6.n || !to_rl(&set->v4, &as, false) || !to_rl(&set->v6, &as, true))
		l->oom = true;
	set->kind = SET_ADDRS;
	set->val = NULL;
	free(as.v4);
	free(as.v6);
	free(full);
}
