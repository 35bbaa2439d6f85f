// SPDX-License-Identifier: MIT
/*
 * crowdsec_conf.c - the `crowdsec:` section of a rules file, checked as
 * strictly as the rest: every key known, every value parsed, the set a
 * `dynamic:` one (decisions come and go; a static set cannot hold them).
 * fwd/rules.c walks the YAML mapping and hands each key here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/crowdsec.h"
#include "fwd/value.h"

struct fwd_crowdsec_conf *crowdsec_conf_new(struct fwd_pos pos)
{
	struct fwd_crowdsec_conf *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return NULL;
	cs->pos = pos;
	cs->set_index = -1;
	cs->interval_ms = FWD_CS_INTERVAL_DEFAULT;
	return cs;
}

void crowdsec_conf_free(struct fwd_crowdsec_conf *cs)
{
	if (!cs)
		return;
	free(cs->url);
	free(cs->key_file);
	free(cs->machine_file);
	free(cs);
}

static bool dup_into(char **to, const char *s)
{
	free(*to);
	*to = s ? strdup(s) : NULL;
	return !s || *to;
}

struct fwd_crowdsec_conf *crowdsec_conf_dup(const struct fwd_crowdsec_conf *cs)
{
	struct fwd_crowdsec_conf *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	*c = *cs;
	c->url = c->key_file = c->machine_file = NULL;
	if (!dup_into(&c->url, cs->url) || !dup_into(&c->key_file, cs->key_file) ||
	    !dup_into(&c->machine_file, cs->machine_file)) {
		crowdsec_conf_free(c);
		return NULL;
	}
	return c;
}

static bool str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

bool crowdsec_conf_same_stream(const struct fwd_crowdsec_conf *a,
			       const struct fwd_crowdsec_conf *b)
{
	return a && b && str_same(a->url, b->url) && str_same(a->key_file, b->key_file) &&
	       !strcmp(a->set, b->set);
}

/* "http://host:port" or "https://...", printable, no spaces; trailing '/' dropped. */
static bool url_ok(const char *s)
{
	const char *host;

	if (!strncmp(s, "http://", 7))
		host = s + 7;
	else if (!strncmp(s, "https://", 8))
		host = s + 8;
	else
		return false;
	if (!*host || *host == '/')
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return false;
	return strlen(s) < 512;
}

static bool take_url(struct fwd_crowdsec_conf *cs, const char *v, struct fwd_pos vp,
		     struct fwd_diags *d)
{
	size_t n;

	if (!url_ok(v)) {
		diag_error(d, vp, "invalid crowdsec url '%s'; expected http://HOST:PORT or https://HOST:PORT",
			   v);
		return false;
	}
	if (!dup_into(&cs->url, v))
		return false;
	n = strlen(cs->url);
	while (n && cs->url[n - 1] == '/')
		cs->url[--n] = '\0';
	return true;
}

static bool take_path(char **to, const char *what, const char *v, struct fwd_pos vp,
		      struct fwd_diags *d)
{
	if (!v[0]) {
		diag_error(d, vp, "crowdsec %s is empty", what);
		return false;
	}
	return dup_into(to, v);
}

static bool take_interval(struct fwd_crowdsec_conf *cs, const char *v, struct fwd_pos vp,
			  struct fwd_diags *d)
{
	uint64_t ms;

	/* fwd's own duration grammar, as everywhere in the rules file */
	if (!duration_parse(v, 0, FWD_CS_INTERVAL_MAX, &ms) || ms < FWD_CS_INTERVAL_MIN) {
		diag_error(d, vp, "invalid crowdsec interval '%s'; expected a duration from 100ms to 1h, such as 10s",
			   v);
		return false;
	}
	cs->interval_ms = (uint32_t)ms;
	return true;
}

bool crowdsec_conf_key(struct fwd_crowdsec_conf *cs, enum fwd_cs_key key, const char *name,
		       const char *val, struct fwd_pos vpos, struct fwd_diags *d)
{
	cs->seen |= 1u << key;
	if (!val) {
		diag_error(d, vpos, "crowdsec %s must be a single value", name);
		return false;
	}
	switch (key) {
	case FWD_CS_URL:
		return take_url(cs, val, vpos, d);
	case FWD_CS_KEY_FILE:
		return take_path(&cs->key_file, name, val, vpos, d);
	case FWD_CS_SET:
		if (strlen(val) > FWD_NAME_MAX || !val[0]) {
			diag_error(d, vpos, "invalid crowdsec set '%s'", val);
			return false;
		}
		strcpy(cs->set, val);
		cs->set_pos = vpos;
		return true;
	case FWD_CS_INTERVAL:
		return take_interval(cs, val, vpos, d);
	case FWD_CS_MACHINE_FILE:
		return take_path(&cs->machine_file, name, val, vpos, d);
	case FWD_CS_NKEYS:
		break;
	}
	return false;
}

bool crowdsec_conf_finish(struct fwd_crowdsec_conf *cs, const struct fwd_config *c,
			  struct fwd_diags *d)
{
	bool ok = true;

	if (!(cs->seen & 1u << FWD_CS_URL)) {
		diag_error(d, cs->pos, "crowdsec: needs url: (the Local API, http://HOST:PORT)");
		ok = false;
	}
	if (!(cs->seen & 1u << FWD_CS_KEY_FILE)) {
		diag_error(d, cs->pos, "crowdsec: needs key_file: (a key from 'cscli bouncers add')");
		ok = false;
	}
	if (!(cs->seen & 1u << FWD_CS_SET)) {
		diag_error(d, cs->pos, "crowdsec: needs set: naming a set under dynamic:");
		return false;
	}
	if (!cs->set[0])
		return false;
	for (uint32_t i = 0; i < c->ndynsets; i++)
		if (!strcmp(c->dynsets[i].name, cs->set))
			cs->set_index = (int)i;
	if (cs->set_index < 0) {
		diag_error(d, cs->set_pos,
			   "crowdsec set '%s' is not a set under dynamic:; decisions expire, so they need a dynamic set",
			   cs->set);
		ok = false;
	}
	return ok;
}
