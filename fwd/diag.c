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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/config.h"

#define FWD_DIAG_MAX (1u << 20)

void diags_init(struct fwd_diags *d, const char *file)
{
	memset(d, 0, sizeof(*d));
	d->file = file;
}

void diags_free(struct fwd_diags *d)
{
	free(d->text);
	d->text = NULL;
	d->len = d->cap = 0;
}

__attribute__((format(printf, 4, 0)))
static void diag_append(struct fwd_diags *d, struct fwd_pos pos, const char *kind,
			const char *fmt, va_list ap)
{
	char msg[1024];
	char line[1400];
	int n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (pos.line)
		n = snprintf(line, sizeof(line), "%s:%u:%u: %s: %s\n",
			     d->file ? d->file : "<input>", pos.line, pos.col, kind, msg);
	else
		n = snprintf(line, sizeof(line), "%s: %s: %s\n",
			     d->file ? d->file : "<input>", kind, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (d->len + (size_t)n + 1 > FWD_DIAG_MAX)
		return;
	if (d->len + (size_t)n + 1 > d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 1024;
		char *t;

		while (cap < d->len + (size_t)n + 1)
			cap *= 2;
		t = realloc(d->text, cap);
		if (!t)
			return;
		d->text = t;
		d->cap = cap;
	}
	memcpy(d->text + d->len, line, (size_t)n + 1);
	d->len += (size_t)n;
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
