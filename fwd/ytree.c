// SPDX-License-Identifier: MIT
/*
 * ytree.c - the positioned YAML node tree of a rules file (include/fwd/load.h).
 *
 * libyaml's event API builds a small node tree in which every node keeps
 * its line and column; anything YAML allows but a rules file has no use for
 * (anchors, aliases, tags, several documents) is rejected here, and the tree
 * is bounded in depth, node count and scalar length so a hostile file cannot
 * make us allocate without limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#include "fwd/config.h"
#include "fwd/value.h"
#include "fwd/load.h"

/* ---- the node tree ---------------------------------------------------- */

/*
 * The tree's arena: mappings of YCHUNK bytes (a list too long for one gets
 * a mapping of its own), bump-allocated and unmapped together, or those of
 * the rules as they are converted (ytree_release()), so that the tree's
 * memory is back with the system before the rules are compiled. A malloc()
 * per node cost a header and a size class each: 77 MiB for the 8 MiB file
 * of 100,000 rules.
 */
#define YCHUNK	(1u << 20)

struct ychunk {
	struct ychunk *next;
	size_t size, used;
	uint64_t first, last;	/* the numbers of its first and last blocks */
};

static void *ymap(size_t size)
{
	void *p;

	if (LOAD_EXACT)
		return calloc(1, size);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void *yalloc(struct ytree *t, size_t size)
{
	struct ychunk *c = t->chunks;
	size_t head = (sizeof(*c) + 15) & ~(size_t)15, map;
	void *p;

	size = (size + 7) & ~(size_t)7;
	t->nalloc++;
	if (c && c->size - c->used >= size) {
		p = (char *)c + c->used;
		c->used += size;
		c->last = t->nalloc;
		return p;
	}
	map = LOAD_EXACT || size + head > YCHUNK / 4 ? size + head : YCHUNK;
	c = ymap(map);
	if (!c)
		return NULL;
	c->size = map;
	c->used = head + size;
	c->first = c->last = t->nalloc;
	if (map == YCHUNK || !t->chunks) {
		c->next = t->chunks;
		t->chunks = c;
	} else {	/* full already: behind the chunk being filled */
		c->next = t->chunks->next;
		t->chunks->next = c;
	}
	return (char *)c + head;
}

static void yunmap(struct ychunk *c)
{
	if (LOAD_EXACT)
		free(c);
	else
		munmap(c, c->size);
}

void ytree_free(struct ytree *t)
{
	struct ychunk *c = t->chunks, *next;

	for (; c; c = next) {
		next = c->next;
		yunmap(c);
	}
	t->chunks = NULL;
	t->root = NULL;
}

static struct ychunk *chunk_of(const struct ytree *t, const void *p)
{
	for (struct ychunk *c = t->chunks; c; c = c->next)
		if ((const char *)p >= (const char *)c && (const char *)p < (const char *)c + c->size)
			return c;
	return NULL;
}

/* Blocks are numbered as they are made, and a list or map after its children. */
const struct ynode *ytree_lead(const struct ynode *n)
{
	while (n->kind != Y_SCALAR && n->n)
		n = ykid(n)[0];
	return n;
}

/*
 * LEAD is the span's first block and LAST its last. A mapping whose blocks
 * all fall after the end of the one holding LEAD and before the start of the
 * one holding LAST holds nothing else. (Built with AddressSanitizer, every
 * block is a mapping of its own: the span less its ends is freed exactly.)
 */
void ytree_release(struct ytree *t, const struct ynode *lead, const struct ynode *last)
{
	const struct ychunk *a = chunk_of(t, lead), *b = chunk_of(t, last);
	struct ychunk **pp, *c;

	if (!a || !b)
		return;
	for (pp = &t->chunks; (c = *pp);) {
		if (c->first > a->last && c->last < b->first) {
			*pp = c->next;
			yunmap(c);
		} else {
			pp = &c->next;
		}
	}
}

/* The children of an open list or map, gathered until it ends. */
struct ykids {
	struct ynode **v;
	size_t n, cap;
};

struct ybuild {
	struct fwd_diags *d;
	struct ytree *t;
	struct yopen {			/* a list or map not ended yet (its node comes at the end) */
		struct fwd_pos pos;
		enum ykind kind;
	} stack[Y_DEPTH_MAX];
	struct ykids kids[Y_DEPTH_MAX];	/* of stack[i]; reused by its siblings */
	int depth;
	size_t nodes;
	bool fatal;
	const char *buf;	/* the input in memory, or NULL and */
	size_t len;
	FILE *f;		/* the file being read (ytree_file()), */
	size_t read;		/* its bytes read so far */
	bool too_large;		/* ... more than FWD_CONFIG_MAX */
};

static struct fwd_pos mark_pos(yaml_mark_t m)
{
	struct fwd_pos p = { (uint32_t)m.line + 1, (uint32_t)m.column + 1 };

	return p;
}

static int key_cmp(const void *a, const void *b)
{
	const struct ynode *x = *(const struct ynode *const *)a;
	const struct ynode *y = *(const struct ynode *const *)b;
	int c = strcmp(x->s, y->s);

	if (c)
		return c;
	if (x->pos.line != y->pos.line)
		return x->pos.line < y->pos.line ? -1 : 1;
	return x->pos.col < y->pos.col ? -1 : x->pos.col > y->pos.col;
}

/* Sort a copy of the keys so a map of many keys costs n log n, not n^2. */
static void check_dup_keys(struct ybuild *b, const struct ynode *map)
{
	size_t nk = 0, i;
	const struct ynode **k;

	if (map->n < 4)
		return;
	k = malloc(map->n / 2 * sizeof(*k));
	if (!k) {
		diag_error(b->d, map->pos, "out of memory");
		return;
	}
	for (i = 0; i + 1 < map->n; i += 2)
		if (ykid(map)[i]->kind == Y_SCALAR)
			k[nk++] = ykid(map)[i];
	qsort(k, nk, sizeof(*k), key_cmp);
	for (i = 1; i < nk; i++)
		if (!strcmp(k[i - 1]->s, k[i]->s))
			diag_error(b->d, k[i]->pos, "duplicate key '%s' (first at line %u)",
				   k[i]->s, k[i - 1]->pos.line);
	free(k);
}

static bool yattach(struct ybuild *b, struct ynode *n)
{
	struct ykids *k;

	if (b->depth == 0) {
		if (b->t->root)
			return false;
		b->t->root = n;
		return true;
	}
	k = &b->kids[b->depth - 1];
	if (b->stack[b->depth - 1].kind == Y_MAP && k->n % 2 == 0 && n->kind != Y_SCALAR)
		diag_error(b->d, n->pos, "mapping keys must be scalars");
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 16;
		struct ynode **v = realloc(k->v, cap * sizeof(*v));

		if (!v)
			return false;
		k->v = v;
		k->cap = cap;
	}
	k->v[k->n++] = n;
	return true;
}

/* A node at POS with BYTES after its head: a scalar's text and NUL, or a list's children. */
static struct ynode *ynew(struct ybuild *b, enum ykind kind, struct fwd_pos pos, size_t bytes)
{
	struct ynode *n;

	if (++b->nodes > Y_NODES_MAX) {
		diag_error(b->d, pos, "more than %u nodes; the file is too large", Y_NODES_MAX);
		b->fatal = true;
		return NULL;
	}
	n = yalloc(b->t, sizeof(*n) + bytes);	/* zeroed: a list's s is "" */
	if (!n) {
		diag_error(b->d, pos, "out of memory");
		b->fatal = true;
		return NULL;
	}
	n->kind = kind;
	n->pos = pos;
	return n;
}

/* Anchors and tags are legal YAML but have no meaning in a rules file. */
static void check_anchor_tag(struct ybuild *b, yaml_mark_t m, const yaml_char_t *anchor,
			     const yaml_char_t *tag)
{
	if (anchor)
		diag_error(b->d, mark_pos(m), "anchors and aliases are not allowed ('&%s')",
			   (const char *)anchor);
	/* Fatal: the value behind a tag would only produce a confusing second error. */
	if (tag) {
		diag_error(b->d, mark_pos(m),
			   "tags are not allowed ('%s'); quote a value that starts with '!', as in \"!22\"",
			   (const char *)tag);
		b->fatal = true;
	}
}

static void yscalar(struct ybuild *b, const yaml_event_t *ev)
{
	struct ynode *n;

	check_anchor_tag(b, ev->start_mark, ev->data.scalar.anchor, ev->data.scalar.tag);
	if (b->fatal)
		return;
	if (ev->data.scalar.length > Y_SCALAR_MAX) {
		diag_error(b->d, mark_pos(ev->start_mark),
			   "value of %zu bytes is longer than %u", ev->data.scalar.length,
			   Y_SCALAR_MAX);
		b->fatal = true;
		return;
	}
	n = ynew(b, Y_SCALAR, mark_pos(ev->start_mark), ev->data.scalar.length + 1);
	if (!n)
		return;
	memcpy(n->s, ev->data.scalar.value, ev->data.scalar.length);
	n->s[ev->data.scalar.length] = '\0';
	if (strlen(n->s) != ev->data.scalar.length)
		diag_error(b->d, n->pos, "value contains a NUL byte");
	if (!yattach(b, n))
		b->fatal = true;
}

static void ystart(struct ybuild *b, const yaml_event_t *ev, enum ykind kind)
{
	if (kind == Y_SEQ)
		check_anchor_tag(b, ev->start_mark, ev->data.sequence_start.anchor,
				 ev->data.sequence_start.tag);
	else
		check_anchor_tag(b, ev->start_mark, ev->data.mapping_start.anchor,
				 ev->data.mapping_start.tag);
	if (b->fatal)
		return;
	if (b->depth >= Y_DEPTH_MAX) {
		diag_error(b->d, mark_pos(ev->start_mark), "nesting deeper than %d levels",
			   Y_DEPTH_MAX);
		b->fatal = true;
		return;
	}
	b->stack[b->depth++] = (struct yopen){ mark_pos(ev->start_mark), kind };
}

/* A list or map ends: its node is made, with the children from the scratch list. */
static void yend(struct ybuild *b)
{
	struct ykids *k;
	struct ynode *n;

	if (b->depth == 0)
		return;
	k = &b->kids[--b->depth];
	n = ynew(b, b->stack[b->depth].kind, b->stack[b->depth].pos,
		 YKID_AT - sizeof(*n) + k->n * sizeof(*k->v));
	if (!n)
		return;
	if (k->n)	/* an empty list's scratch may never have been allocated */
		memcpy((char *)n + YKID_AT, k->v, k->n * sizeof(*k->v));
	n->n = (uint32_t)k->n;
	k->n = 0;
	if (n->kind == Y_MAP)
		check_dup_keys(b, n);
	if (!yattach(b, n))
		b->fatal = true;
}

/*
 * The input read back for a diagnostic, a block at a time: libyaml's marks
 * count characters and its reader errors bytes, and only the bytes tell
 * where one is in the other's terms.
 */
struct yback {
	const struct ybuild *b;
	size_t base, n;
	unsigned char buf[4096];
};

/* The input's byte AT, or -1 past its end. */
static int ybyte(struct yback *r, size_t at)
{
	const struct ybuild *b = r->b;
	ssize_t k;

	if (!b->f)
		return at < b->len ? (unsigned char)b->buf[at] : -1;
	if (at < r->base || at >= r->base + r->n) {
		k = pread(fileno(b->f), r->buf, sizeof(r->buf), (off_t)at);
		r->base = at;
		r->n = k > 0 ? (size_t)k : 0;
		if (!r->n)
			return -1;
	}
	return r->buf[at - r->base];
}

static bool ycont(int c)
{
	return c >= 0 && (c & 0xc0) == 0x80;
}

/*
 * Walk the input from its start, as libyaml counts (a byte order mark not
 * counted, CR LF one line break, a column per character), to the byte END
 * or the mark M, whichever comes first. Returns that position (1-based);
 * *AT is its byte offset.
 */
static struct fwd_pos yback_walk(struct yback *r, size_t end, const yaml_mark_t *m, size_t *at)
{
	size_t off = 0, line = 0, col = 0;
	int c;

	if (ybyte(r, 0) == 0xef && ybyte(r, 1) == 0xbb && ybyte(r, 2) == 0xbf)
		off = 3;
	for (; off < end && (c = ybyte(r, off)) >= 0; off++) {
		if (ycont(c))
			continue;
		if (m && line == m->line && col == m->column)
			break;
		if (c == '\r' && ybyte(r, off + 1) == '\n')
			off++;
		if (c == '\r' || c == '\n') {
			line++;
			col = 0;
		} else {
			col++;
		}
	}
	*at = off;
	return (struct fwd_pos){ (uint32_t)line + 1, (uint32_t)col + 1 };
}

/* The input, in memory or read so far, is over FWD_CONFIG_MAX. */
static void ytoo_large(struct fwd_diags *d)
{
	diag_error(d, (struct fwd_pos){ 0, 0 }, "file is larger than %u bytes", FWD_CONFIG_MAX);
}

/* The length of the UTF-8 sequence lead byte C announces; 1 for any other byte. */
static size_t ylead_len(int c)
{
	return (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
}

/*
 * Where the sequence holding the bad byte AT starts: the lead byte up to 3
 * bytes back whose length reaches AT (AT is a bad trailing byte), else AT.
 */
static size_t ylead_of(struct yback *r, size_t at)
{
	for (size_t k = 1; k <= 3 && k <= at; k++) {
		int c = ybyte(r, at - k);

		if (!ycont(c))
			return c >= 0xc0 && ylead_len(c) > k ? at - k : at;
	}
	return at;
}

/*
 * libyaml's reader error (bad UTF-8, a control character) leaves the mark
 * at zero and gives a byte offset: the position comes from the bytes, and
 * the message quotes them, from the lead byte of the bad sequence.
 */
static void yreader_error(struct ybuild *b, const yaml_parser_t *p)
{
	struct yback r = { .b = b };
	size_t at = p->problem_offset, from = ylead_of(&r, at), to = at, off;
	char hex[32] = "";
	struct fwd_pos pos;
	int c, n = 0;

	if (from == at)
		to = at + ylead_len(ybyte(&r, at)) - 1;
	for (off = from; off <= to && (c = ybyte(&r, off)) >= 0; off++, n++)
		snprintf(hex + strlen(hex), sizeof(hex) - strlen(hex), " 0x%02x", (unsigned)c);
	pos = yback_walk(&r, from, NULL, &off);
	diag_error(b->d, pos, "YAML syntax error: %s (byte%s%s); a rules file is UTF-8 text "
		   "without control characters", p->problem ? p->problem : "unreadable input",
		   n > 1 ? "s" : "", hex);
}

/* Is libyaml's problem at P's mark a tab character? */
static bool ytab_at(struct ybuild *b, const yaml_parser_t *p)
{
	struct yback r = { .b = b };
	size_t at;

	yback_walk(&r, SIZE_MAX, &p->problem_mark, &at);
	return ybyte(&r, at) == '\t';
}

static void ysyntax(struct ybuild *b, const yaml_parser_t *p)
{
	struct fwd_pos pos = mark_pos(p->problem_mark);

	if (b->too_large)
		ytoo_large(b->d);
	else if (p->error == YAML_READER_ERROR && b->f && ferror(b->f))
		diag_error(b->d, (struct fwd_pos){ 0, 0 }, "read error: %s", strerror(errno));
	else if (p->error == YAML_READER_ERROR)
		yreader_error(b, p);
	else if (p->error == YAML_MEMORY_ERROR)
		diag_error(b->d, pos, "out of memory");
	else if (ytab_at(b, p))
		diag_error(b->d, pos, "YAML syntax error: a tab character; YAML indents with spaces only");
	else if (p->context)
		diag_error(b->d, pos, "YAML syntax error: %s (%s at line %u)", p->problem,
			   p->context, (unsigned)p->context_mark.line + 1);
	else
		diag_error(b->d, pos, "YAML syntax error: %s",
			   p->problem ? p->problem : "unknown problem");
	b->fatal = true;
}

/* Returns true when the stream ended; handles one event. */
static bool yevent(struct ybuild *b, const yaml_event_t *ev, unsigned *docs)
{
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return true;
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1) {
			diag_error(b->d, mark_pos(ev->start_mark),
				   "a second YAML document; a rules file holds exactly one");
			b->fatal = true;
		}
		break;
	case YAML_ALIAS_EVENT:
		diag_error(b->d, mark_pos(ev->start_mark),
			   "anchors and aliases are not allowed ('*%s')",
			   (const char *)ev->data.alias.anchor);
		b->fatal = true;
		break;
	case YAML_SCALAR_EVENT:
		yscalar(b, ev);
		break;
	case YAML_SEQUENCE_START_EVENT:
		ystart(b, ev, Y_SEQ);
		break;
	case YAML_MAPPING_START_EVENT:
		ystart(b, ev, Y_MAP);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		yend(b);
		break;
	default:
		break;
	}
	return false;
}

/* Events from P, set to its input, into B's tree. */
static void ybuild_run(struct ybuild *b, yaml_parser_t *p)
{
	yaml_event_t ev;
	unsigned docs = 0;
	bool done = false;

	while (!done && !b->fatal) {
		if (!yaml_parser_parse(p, &ev)) {
			ysyntax(b, p);
			break;
		}
		done = yevent(b, &ev, &docs);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(p);
	for (int i = 0; i < Y_DEPTH_MAX; i++)
		free(b->kids[i].v);
	if (b->fatal)
		ytree_free(b->t);
	else if (!b->t->root)
		diag_error(b->d, (struct fwd_pos){ 1, 1 }, "no document; the file is empty");
}

static bool yinit(yaml_parser_t *p, struct fwd_diags *d, struct ytree *t)
{
	*t = (struct ytree){ 0 };
	if (yaml_parser_initialize(p))
		return true;
	diag_error(d, (struct fwd_pos){ 0, 0 }, "out of memory");
	return false;
}

void ytree(const char *buf, size_t len, struct fwd_diags *d, struct ytree *t)
{
	struct ybuild b = { .d = d, .t = t, .buf = buf, .len = len };
	yaml_parser_t p;

	if (len > FWD_CONFIG_MAX) {
		*t = (struct ytree){ 0 };
		ytoo_large(d);
		return;
	}
	if (!yinit(&p, d, t))
		return;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	ybuild_run(&b, &p);
}

/* libyaml's reader: the file, up to FWD_CONFIG_MAX bytes. */
static int yread(void *data, unsigned char *buf, size_t size, size_t *got)
{
	struct ybuild *b = data;

	*got = fread(buf, 1, size, b->f);
	b->read += *got;
	b->too_large = b->read > FWD_CONFIG_MAX;
	return !ferror(b->f) && !b->too_large;
}

void ytree_file(FILE *f, struct fwd_diags *d, struct ytree *t)
{
	struct ybuild b = { .d = d, .t = t, .f = f };
	yaml_parser_t p;

	if (!yinit(&p, d, t))
		return;
	yaml_parser_set_input(&p, yread, &b);
	ybuild_run(&b, &p);
}
