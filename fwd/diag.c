// SPDX-License-Identifier: MIT
/*
 * diag.c - compiler-style diagnostics: "FILE:LINE:COLUMN: error: TEXT".
 *
 * Messages are collected, not printed, so `fwd check` can print them on
 * stderr, the daemon can log them, and `fwd reload` can send them back over
 * the control socket. Collection is bounded: past FWD_DIAG_MAX bytes further
 * messages are counted but not kept.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/config.h"
#include "fwd/value.h"

#define FWD_DIAG_MAX (1u << 20)

void diags_init(struct fwd_diags *d, const char *file)
{
	memset(d, 0, sizeof(*d));
	d->file = file;
}

void diags_free(struct fwd_diags *d)
{
	free(d->text);
	free(d->rec);
	d->text = NULL;
	d->rec = NULL;
	d->len = d->cap = d->nrec = d->caprec = 0;
}

/* Keep the record of the line just appended at OFF; a failed allocation loses only the record. */
static void diag_record(struct fwd_diags *d, struct fwd_pos pos, bool warning, size_t off,
			size_t len)
{
	if (d->nrec == d->caprec) {
		size_t cap = d->caprec ? d->caprec * 2 : 16;
		struct fwd_diag *r = realloc(d->rec, cap * sizeof(*r));

		if (!r)
			return;
		d->rec = r;
		d->caprec = cap;
	}
	d->rec[d->nrec++] = (struct fwd_diag){ pos, warning, off, len };
}

/*
 * One diagnostic is one line: the daemon logs reload diagnostics line by
 * line, so a newline in a quoted value (a rule's name, a path) would make a
 * log line of the rules file's choosing, and an escape byte would reach a
 * terminal. Control bytes, DEL and the backslash become \xHH, the form of
 * log_escape() (fwd/log.h); other bytes, UTF-8 included, stay.
 */
static bool diag_plain(unsigned char c)
{
	return c >= 0x20 && c != 0x7f && c != '\\';
}

size_t diag_escape(char *out, size_t outlen, const char *in)
{
	return hex_escape(out, outlen, in, strlen(in), diag_plain);
}

__attribute__((format(printf, 4, 0)))
static void diag_append(struct fwd_diags *d, struct fwd_pos pos, const char *kind,
			const char *fmt, va_list ap)
{
	char msg[1024], raw[1400], line[4 * sizeof(raw) + 2];
	size_t n;
	int r;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (pos.line)
		r = snprintf(raw, sizeof(raw), "%s:%u:%u: %s: %s",
			     d->file ? d->file : "<input>", pos.line, pos.col, kind, msg);
	else
		r = snprintf(raw, sizeof(raw), "%s: %s: %s",
			     d->file ? d->file : "<input>", kind, msg);
	if (r < 0)
		return;
	n = hex_escape(line, sizeof(line) - 1, raw, strnlen(raw, sizeof(raw)), diag_plain);
	line[n++] = '\n';
	line[n] = '\0';
	if (d->len + n + 1 > FWD_DIAG_MAX)
		return;
	if (d->len + n + 1 > d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 1024;
		char *t;

		while (cap < d->len + n + 1)
			cap *= 2;
		t = realloc(d->text, cap);
		if (!t)
			return;
		d->text = t;
		d->cap = cap;
	}
	memcpy(d->text + d->len, line, n + 1);
	diag_record(d, pos, !strcmp(kind, "warning"), d->len, n);
	d->len += n;
}

void diag_error(struct fwd_diags *d, struct fwd_pos pos, const char *fmt, ...)
{
	va_list ap;

	d->errors++;
	va_start(ap, fmt);
	diag_append(d, pos, "error", fmt, ap);
	va_end(ap);
}

void diag_warning(struct fwd_diags *d, struct fwd_pos pos, const char *fmt, ...)
{
	va_list ap;

	d->warnings++;
	va_start(ap, fmt);
	diag_append(d, pos, "warning", fmt, ap);
	va_end(ap);
}

void diag_error_in(struct fwd_diags *d, struct fwd_pos at, const char *file,
		   struct fwd_pos pos, const char *fmt, ...)
{
	const char *own = d->file;
	size_t n = d->nrec;
	va_list ap;

	d->errors++;
	d->file = file;
	va_start(ap, fmt);
	diag_append(d, pos, "error", fmt, ap);
	va_end(ap);
	d->file = own;
	if (d->nrec > n)
		d->rec[n].pos = at;
}

void diag_note(struct fwd_diags *d, struct fwd_pos pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_append(d, pos, "note", fmt, ap);
	va_end(ap);
}

static int diag_cmp(const void *a, const void *b)
{
	const struct fwd_diag *x = a, *y = b;

	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	if (x->pos.col != y->pos.col)
		return x->pos.col < y->pos.col ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;	/* the order found */
}

void diags_sort(struct fwd_diags *d)
{
	char *t;
	size_t o = 0;

	for (size_t i = 0; i < d->nrec; i++)
		o += d->rec[i].len;
	if (!d->nrec || !d->text || o != d->len)	/* a record was lost: keep the order found */
		return;
	o = 0;
	t = malloc(d->len + 1);
	if (!t)
		return;
	qsort(d->rec, d->nrec, sizeof(*d->rec), diag_cmp);
	for (size_t i = 0; i < d->nrec; i++) {
		memcpy(t + o, d->text + d->rec[i].off, d->rec[i].len);
		d->rec[i].off = o;
		o += d->rec[i].len;
	}
	t[o] = '\0';
	free(d->text);
	d->text = t;
	d->len = o;
	d->cap = d->len + 1;
}
