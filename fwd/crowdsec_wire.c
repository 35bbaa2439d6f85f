// SPDX-License-Identifier: MIT
/*
 * crowdsec_wire.c - the Local API's JSON and fwd's values, both ways, with
 * no I/O (see include/fwd/crowdsec.h). JSON is json-c; the credentials file
 * is YAML, read with libyaml as the rules are.
 *
 * A decision stream answer is {"new": [...] | null, "deleted": [...] | null},
 * each decision {"value", "scope", "type", "duration", ...}. fwd bans what
 * is of type "ban" and scope "Ip" or "Range"; the rest is counted, not
 * guessed at. Anything that is not such an object is garbage: the whole
 * answer is refused, nothing of it applied.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <yaml.h>

#include "fwd/crowdsec.h"
#include "fwd/dyn.h"
#include "fwd/value.h"

/* ---- Go's time.Duration text ------------------------------------------------ */

static const struct {
	const char *name;
	int64_t ns;
} go_units[] = {
	{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 },
	{ "ms", 1000000 }, { "s", 1000000000 }, { "m", 60000000000 }, { "h", 3600000000000 },
};

#define GO_NS_MAX	(INT64_MAX / 2)	/* about 146 years: anything longer is refused */

/* The unit at *P (longest match), advancing P; 0 when none. */
static int64_t go_unit(const char **p)
{
	int64_t best = 0;
	size_t blen = 0;

	for (size_t i = 0; i < sizeof(go_units) / sizeof(go_units[0]); i++) {
		size_t n = strlen(go_units[i].name);

		if (n > blen && !strncmp(*p, go_units[i].name, n)) {
			best = go_units[i].ns;
			blen = n;
		}
	}
	*p += blen;
	return best;
}

/* One "12.5m" component added to *NS. */
static bool go_component(const char **p, int64_t *ns)
{
	const char *s = *p;
	uint64_t whole = 0, frac = 0, scale = 1;
	int64_t unit;
	long double add;

	if ((*s < '0' || *s > '9') && *s != '.')
		return false;
	for (; *s >= '0' && *s <= '9'; s++)
		if ((whole = whole * 10 + (uint64_t)(*s - '0')) > (uint64_t)GO_NS_MAX)
			return false;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			if (scale < 1000000000000000000ull) {
				frac = frac * 10 + (uint64_t)(*s - '0');
				scale *= 10;
			}
	if (s == *p || (s == *p + 1 && **p == '.'))
		return false;
	unit = go_unit(&s);
	if (!unit)
		return false;
	add = (long double)whole * unit + (long double)frac * unit / scale;
	if (add + *ns > GO_NS_MAX)
		return false;
	*ns += (int64_t)add;
	*p = s;
	return true;
}

bool cs_go_duration_ms(const char *s, int64_t *ms)
{
	bool neg = false;
	int64_t ns = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!strcmp(s, "0")) {
		*ms = 0;
		return true;
	}
	if (!*s)
		return false;
	while (*s)
		if (!go_component(&s, &ns))
			return false;
	*ms = (neg ? -ns : ns) / 1000000;
	return true;
}

/* ---- decisions -------------------------------------------------------------- */

/* "10.0.0.0/8", "2001:db8::/32" (Range) or a bare address (Ip). */
static bool parse_value(const char *v, bool range, struct fwd_cs_decision *out)
{
	unsigned plen;
	int fam;

	if ((strchr(v, '/') != NULL) != range || !(fam = prefix_parse(v, &out->addr, &plen)))
		return false;
	if (plen == 0)		/* a ban of everything: never from a feed */
		return false;
	out->family = (uint8_t)fam;
	out->plen = (uint8_t)plen;
	return true;
}

static const char *str_field(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int push(struct fwd_cs_stream *s, const struct fwd_cs_decision *d)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct fwd_cs_decision *p = realloc(s->d, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->d = p;
		s->cap = cap;
	}
	s->d[s->n++] = *d;
	return 0;
}

/* One element of "new" or "deleted": taken, skipped (counted), or garbage. */
static int one_decision(json_object *o, bool deleted, struct fwd_cs_stream *s)
{
	const char *type = str_field(o, "type"), *scope = str_field(o, "scope");
	const char *value = str_field(o, "value"), *dur = str_field(o, "duration");
	struct fwd_cs_decision d = { .deleted = deleted };
	bool range;

	if (!json_object_is_type(o, json_type_object))
		return -EINVAL;
	if (!type || strcasecmp(type, "ban")) {
		s->skipped[FWD_CS_SKIP_TYPE]++;
		return 0;
	}
	if (!scope || (strcasecmp(scope, "ip") && strcasecmp(scope, "range"))) {
		s->skipped[FWD_CS_SKIP_SCOPE]++;
		return 0;
	}
	range = !strcasecmp(scope, "range");
	if (!value || !parse_value(value, range, &d) ||
	    (!deleted && (!dur || !cs_go_duration_ms(dur, &d.remain_ms)))) {
		s->skipped[FWD_CS_SKIP_VALUE]++;
		return 0;
	}
	if (!deleted && d.remain_ms <= 0) {
		s->skipped[FWD_CS_SKIP_EXPIRED]++;
		return 0;
	}
	return push(s, &d);
}

static int one_list(json_object *top, const char *key, bool deleted, struct fwd_cs_stream *s,
		    char *err, size_t errlen)
{
	json_object *a;
	size_t n;
	int e;

	if (!json_object_object_get_ex(top, key, &a) || json_object_is_type(a, json_type_null))
		return 0;
	if (!json_object_is_type(a, json_type_array)) {
		snprintf(err, errlen, "\"%s\" is not a list", key);
		return -EINVAL;
	}
	n = json_object_array_length(a);
	for (size_t i = 0; i < n; i++) {
		e = one_decision(json_object_array_get_idx(a, i), deleted, s);
		if (e == -EINVAL)
			snprintf(err, errlen, "\"%s\"[%zu] is not a decision object", key, i);
		if (e)
			return e;
	}
	return 0;
}

int crowdsec_stream_parse(const char *text, size_t len, struct fwd_cs_stream *out,
			  char *err, size_t errlen)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *top;
	size_t end;
	int e = -EINVAL;

	if (!tok)
		return -ENOMEM;
	top = json_tokener_parse_ex(tok, text, (int)(len > INT32_MAX ? INT32_MAX : len));
	end = json_tokener_get_parse_end(tok);
	while (end < len && strchr(" \t\r\n", text[end]))
		end++;
	if (!top || json_tokener_get_error(tok) != json_tokener_success || end != len)
		snprintf(err, errlen, "not JSON (%s at byte %zu)",
			 top ? "trailing data" : json_tokener_error_desc(json_tokener_get_error(tok)),
			 end);
	else if (!json_object_is_type(top, json_type_object))
		snprintf(err, errlen, "not a JSON object");
	else if (!json_object_object_get_ex(top, "new", NULL) &&
		 !json_object_object_get_ex(top, "deleted", NULL))
		snprintf(err, errlen, "neither \"new\" nor \"deleted\" in the answer");
	else if (!(e = one_list(top, "deleted", true, out, err, errlen)))
		e = one_list(top, "new", false, out, err, errlen);
	if (e == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	json_object_put(top);
	json_tokener_free(tok);
	return e;
}

void crowdsec_stream_free(struct fwd_cs_stream *s)
{
	free(s->d);
	s->d = NULL;
	s->n = s->cap = 0;
}

static void addr_text(uint8_t family, fwd_u128 a, char *out, size_t outlen)
{
	unsigned char b[16];
	int n = family == 4 ? 4 : 16;

	for (int i = 0; i < n; i++)
		b[i] = (unsigned char)(a >> (8 * (n - 1 - i)));
	if (!inet_ntop(family == 4 ? AF_INET : AF_INET6, b, out, (socklen_t)outlen))
		snprintf(out, outlen, "?");
}

void crowdsec_decision_text(const struct fwd_cs_decision *d, char *out, size_t outlen)
{
	char a[64];

	addr_text(d->family, d->addr, a, sizeof(a));
	if (d->deleted)
		snprintf(out, outlen, "delete %s/%u", a, d->plen);
	else
		snprintf(out, outlen, "ban %s/%u %" PRId64 "ms", a, d->plen, d->remain_ms);
}

/* ---- alerts ----------------------------------------------------------------- */

static void put_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

static json_object *alert_decision(const struct fwd_cs_report *r, const char *addr,
				   const char *scenario)
{
	json_object *d = json_object_new_object();
	char dur[32];

	if (!d)
		return NULL;
	if (r->duration_ms % 1000)
		snprintf(dur, sizeof(dur), "%" PRIu32 "ms", r->duration_ms);
	else
		snprintf(dur, sizeof(dur), "%" PRIu32 "s", r->duration_ms / 1000);
	put_str(d, "duration", dur);
	put_str(d, "type", "ban");
	put_str(d, "scope", "Ip");
	put_str(d, "value", addr);
	put_str(d, "origin", "fwd");
	put_str(d, "scenario", scenario);
	return d;
}

static json_object *alert_source(const char *addr)
{
	json_object *s = json_object_new_object();

	if (!s)
		return NULL;
	put_str(s, "scope", "Ip");
	put_str(s, "value", addr);
	put_str(s, "ip", addr);
	return s;
}

static void alert_message(const struct fwd_cs_report *r, const char *addr, char *msg,
			  size_t len)
{
	if (r->kind == FWD_CS_SCAN)
		snprintf(msg, len, "fwd: %s scanned %" PRIu32 " ports; blocked in set %s", addr,
			 r->detail, r->rule);
	else
		snprintf(msg, len, "fwd: %s exceeded the limit of rule %s", addr, r->rule);
}

char *crowdsec_alert_json(const struct fwd_cs_report *r, const char *stamp)
{
	const char *scenario = r->kind == FWD_CS_SCAN ? "fwd/port-scan" : "fwd/rate-limit";
	json_object *arr = json_object_new_array(), *al = json_object_new_object(), *ds;
	char addr[64], msg[256];
	char *out = NULL;

	if (!arr || !al)
		goto out_put;
	json_object_array_add(arr, al);
	addr_text(r->family, r->addr, addr, sizeof(addr));
	alert_message(r, addr, msg, sizeof(msg));
	put_str(al, "scenario", scenario);
	put_str(al, "scenario_hash", "");
	put_str(al, "scenario_version", "");
	put_str(al, "message", msg);
	json_object_object_add(al, "events_count", json_object_new_int(1));
	put_str(al, "start_at", stamp);
	put_str(al, "stop_at", stamp);
	json_object_object_add(al, "capacity", json_object_new_int(0));
	put_str(al, "leakspeed", "0");
	json_object_object_add(al, "simulated", json_object_new_boolean(0));
	json_object_object_add(al, "events", json_object_new_array());
	json_object_object_add(al, "source", alert_source(addr));
	ds = json_object_new_array();
	if (ds)
		json_object_array_add(ds, alert_decision(r, addr, scenario));
	json_object_object_add(al, "decisions", ds);
	out = strdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	al = NULL;
out_put:
	json_object_put(al);
	json_object_put(arr);
	return out;
}

/* ---- the machine's credentials file ------------------------------------------- */

#define MACHINE_FILE_MAX	4096

/* The scalar values of KEYS[] in a flat YAML mapping. */
static int yaml_pairs(const char *buf, size_t len, const char *const *keys, char **vals,
		      size_t n)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, want = -1, e = 0;
	bool key_next = true, done = false;

	if (!yaml_parser_initialize(&p))
		return -ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!done && !e) {
		if (!yaml_parser_parse(&p, &ev)) {
			e = -EINVAL;
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT) {
			depth++;
			if (depth > 1)
				e = -EINVAL;
		} else if (ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
		} else if (ev.type == YAML_SCALAR_EVENT && depth == 1) {
			const char *s = (const char *)ev.data.scalar.value;

			if (key_next) {
				want = -1;
				for (size_t i = 0; i < n; i++)
					if (!strcmp(s, keys[i]))
						want = (int)i;
			} else if (want >= 0) {
				free(vals[want]);
				vals[want] = strdup(s);
				if (!vals[want])
					e = -ENOMEM;
			}
			key_next = !key_next;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return e;
}

static int read_small(const char *path, char *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, cap, f);
	fclose(f);
	if (n == cap)
		return -EFBIG;
	*len = n;
	return 0;
}

int crowdsec_machine_read(const char *path, char **login, char **password, char *err,
			  size_t errlen)
{
	static const char *const keys[] = { "login", "password" };
	char *vals[2] = { NULL, NULL }, buf[MACHINE_FILE_MAX];
	size_t len = 0;
	int e = read_small(path, buf, sizeof(buf), &len);

	if (e) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(-e));
		return e;
	}
	e = yaml_pairs(buf, len, keys, vals, 2);
	if (!e && (!vals[0] || !vals[1] || !vals[0][0] || !vals[1][0]))
		e = -EINVAL;
	if (e) {
		snprintf(err, errlen, "'%s' is not a credentials file with login: and password:",
			 path);
		free(vals[0]);
		free(vals[1]);
		return e;
	}
	*login = vals[0];
	*password = vals[1];
	return 0;
}
