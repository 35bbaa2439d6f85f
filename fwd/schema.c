// SPDX-License-Identifier: MIT
/*
 * schema.c - a rules file's schema as data (include/fwd/load.h): each
 * mapping of the file has a table of its keys, and ywalk() is the one loop
 * that hands each key to its handler and, for a key the table does not
 * hold, writes the "expected one of" list from the table itself. Also the
 * "did you mean" hint for a name close to a known one.
 */
#include <stdio.h>
#include <string.h>

#include "fwd/config.h"
#include "fwd/load.h"

/* ---- did you mean ------------------------------------------------------ */

#define NEAR_LEN_MAX	64u

static unsigned min3(unsigned a, unsigned b, unsigned c)
{
	unsigned m = a < b ? a : b;

	return m < c ? m : c;
}

/*
 * Edit distance of A and B counting a swap of two neighbours as one edit
 * (the optimal string alignment distance): "dprot" is one from "dport".
 */
static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d[NEAR_LEN_MAX + 1][NEAR_LEN_MAX + 1];

	if (la > NEAR_LEN_MAX || lb > NEAR_LEN_MAX)
		return NEAR_LEN_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned char)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned char)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			unsigned c = a[i - 1] != b[j - 1];
			unsigned v = min3(d[i - 1][j] + 1u, d[i][j - 1] + 1u, d[i - 1][j - 1] + c);

			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1u < v)
				v = d[i - 2][j - 2] + 1u;
			d[i][j] = (unsigned char)v;
		}
	return d[la][lb];
}

void near_init(struct near *n, const char *s)
{
	n->s = s;
	n->score = ~0u;
	n->best[0] = '\0';
}

/*
 * Remember CAND when it is the closest to the unknown name so far: at most
 * one edit from a name of up to 3 characters, two from a longer one, or
 * one of the two a prefix of the other (at least 3 characters shared),
 * which ranks after any close spelling.
 */
void near_try(struct near *n, const char *cand)
{
	size_t ls = strlen(n->s), lc = strlen(cand), m = ls < lc ? ls : lc;
	unsigned max = ls <= 3 ? 1 : 2, d;

	if (!strcmp(cand, n->s) || lc >= sizeof(n->best))
		return;
	d = edit_distance(n->s, cand);
	if (d > max) {
		if (m < 3 || strncmp(n->s, cand, m))
			return;
		d = max + 1;
	}
	if (d < n->score) {
		n->score = d;
		memcpy(n->best, cand, lc + 1);
	}
}

const char *near_hint(const struct near *n, char *buf, size_t len)
{
	if (!n->best[0])
		return "";
	snprintf(buf, len, "; did you mean '%s'?", n->best);
	return buf;
}

/* ---- the walker -------------------------------------------------------- */

/* "name, proto, src": the keys of TAB, in its order. */
void ykeys_list(const struct ykey *tab, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (const struct ykey *k = tab; k->name && o < len; k++) {
		int n = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", k->name);

		if (n < 0)
			break;
		o += (size_t)n;
	}
}

static void yunknown(struct ld *l, const struct ynode *k, const struct ykey *tab,
		     const char *where)
{
	char list[512], hint[NEAR_HINT_MAX];
	struct near n;

	near_init(&n, k->s);
	for (const struct ykey *t = tab; t->name; t++)
		near_try(&n, t->name);
	ykeys_list(tab, list, sizeof(list));
	diag_error(l->d, k->pos, "unknown key '%s'%s%s; expected one of: %s%s", k->s,
		   where ? " in " : "", where ? where : "", list, near_hint(&n, hint, sizeof(hint)));
}

/*
 * Each scalar key of the mapping M to the entry of TAB (ended by a NULL
 * name) that names it: its handler with CTX, or, for an entry without one,
 * the value kept in ((const struct ynode **)CTX)[its index]. WHERE names
 * the mapping in the message for an unknown key ("daemon log"; NULL at the
 * top level). The caller has checked that M is a mapping.
 */
void ywalk(struct ld *l, const struct ynode *m, const struct ykey *tab, const char *where,
	   void *ctx)
{
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const struct ynode *k = ykid(m)[i], *v = ykid(m)[i + 1];
		const struct ykey *t;

		if (k->kind != Y_SCALAR)
			continue;
		for (t = tab; t->name && strcmp(t->name, k->s); t++)
			;
		if (!t->name)
			yunknown(l, k, tab, where);
		else if (t->fn)
			t->fn(l, k, v, ctx);
		else
			((const struct ynode **)ctx)[t - tab] = v;
	}
}

/* "; did you mean 'X'?" for S among the NULL-terminated NAMES, or "". */
const char *names_hint(const char *const *names, const char *s, char *buf, size_t len)
{
	struct near n;

	near_init(&n, s);
	for (int i = 0; names[i]; i++)
		near_try(&n, names[i]);
	return near_hint(&n, buf, len);
}

/* The same among the dynamic sets of C. */
const char *dynset_hint(const struct fwd_config *c, const char *s, char *buf, size_t len)
{
	struct near n;

	near_init(&n, s);
	for (uint32_t i = 0; i < c->ndynsets; i++)
		near_try(&n, c->dynsets[i].name);
	return near_hint(&n, buf, len);
}

void names_list(const char *const *names, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; names[i] && o < len; i++) {
		int n = snprintf(buf + o, len - o, "%s%s", o ? ", " : "", names[i]);

		if (n < 0)
			break;
		o += (size_t)n;
	}
}
