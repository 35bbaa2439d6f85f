/* SPDX-License-Identifier: MIT */
/*
 * crowdsec.h - fwd as a CrowdSec bouncer and source (the `crowdsec:` section).
 *
 * Three parts, leaves first:
 *
 * - The section (fwd/crowdsec_conf.c): `crowdsec: {url, key_file, set,
 *   interval, machine_file}`, checked at load like every other section.
 * - The wire (fwd/crowdsec_wire.c): pure mappings between the Local API's
 *   JSON and fwd's values, with no I/O, so the unit tests feed them text:
 *   a `/v1/decisions/stream` answer -> decisions, a detection -> the
 *   `/v1/alerts` body, Go's duration text -> milliseconds.
 * - The thread (fwd/crowdsec.c): off the packet path, it pulls the decision
 *   stream every `interval` (startup, then deltas) into the dynamic set and
 *   pushes fwd's own detections as alerts. HTTP is libcurl, JSON is json-c.
 *   Workers reach it only through crowdsec_report(), which writes one slot
 *   of a bounded lock-free queue and never blocks, allocates or logs.
 */
#ifndef FWD_CROWDSEC_H
#define FWD_CROWDSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fwd/config.h"
#include "fwd/outbox.h"

/* ---- the section --------------------------------------------------------- */

#define FWD_CS_INTERVAL_DEFAULT	10000u		/* ms */
#define FWD_CS_INTERVAL_MIN	100u
#define FWD_CS_INTERVAL_MAX	3600000u

struct fwd_crowdsec_conf {
	struct fwd_pos pos;		/* of the `crowdsec:` key's value */
	char *url;			/* "http://HOST:PORT", no trailing '/' */
	char *key_file;			/* holds the bouncer key */
	char set[FWD_NAME_MAX + 1];	/* a `dynamic:` set */
	struct fwd_pos set_pos;
	int set_index;			/* in fwd_config.dynsets */
	uint32_t interval_ms;
	char *machine_file;		/* cscli's credentials file; NULL: no alerts */
	uint32_t seen;			/* keys given, valid or not: bit per key */
};

struct fwd_crowdsec_conf *crowdsec_conf_new(struct fwd_pos pos);
/* The keys of `crowdsec:`. Their names are spelled in fwd/rules.c's table, in this order. */
enum fwd_cs_key {
	FWD_CS_URL,
	FWD_CS_KEY_FILE,
	FWD_CS_SET,
	FWD_CS_INTERVAL,
	FWD_CS_MACHINE_FILE,
	FWD_CS_NKEYS,
};
/*
 * KEY (called NAME in the file): VAL of the section (VAL NULL when the value
 * is not a scalar), checked; problems go to D at VPOS. False when it was
 * rejected.
 */
bool crowdsec_conf_key(struct fwd_crowdsec_conf *cs, enum fwd_cs_key key, const char *name,
		       const char *val, struct fwd_pos vpos, struct fwd_diags *d);
/* After every key, with the dynamic sets of C known: required keys, the set. */
bool crowdsec_conf_finish(struct fwd_crowdsec_conf *cs, const struct fwd_config *c,
			  struct fwd_diags *d);
void crowdsec_conf_free(struct fwd_crowdsec_conf *cs);
/* A copy (for the thread, which outlives the config). NULL on ENOMEM. */
struct fwd_crowdsec_conf *crowdsec_conf_dup(const struct fwd_crowdsec_conf *cs);
/* Do A and B name the same LAPI, key and set (a restart of the stream if not)? */
bool crowdsec_conf_same_stream(const struct fwd_crowdsec_conf *a,
			       const struct fwd_crowdsec_conf *b);

/* ---- the wire -------------------------------------------------------------- */

/*
 * Go's time.Duration text ("4h0m0s", "1m59.018s", "-15.6ms", "300ms") in
 * milliseconds, rounded toward zero. False on anything else.
 */
bool cs_go_duration_ms(const char *s, int64_t *ms);

/* One decision of the stream, as the set holds it. */
struct fwd_cs_decision {
	uint8_t family;		/* 4 or 6 */
	uint8_t plen;		/* prefix length; 32 or 128: one address */
	bool deleted;		/* from "deleted": remove; else add */
	fwd_u128 addr;		/* host order, host bits cleared */
	int64_t remain_ms;	/* "new" only: > 0 */
};

/* Why a decision of the stream was not taken. */
enum fwd_cs_skip {
	FWD_CS_SKIP_TYPE,	/* not "ban" (captcha, ...) */
	FWD_CS_SKIP_SCOPE,	/* not Ip or Range (Country, AS, ...) */
	FWD_CS_SKIP_VALUE,	/* scope Ip/Range with a value that does not parse, or /0 */
	FWD_CS_SKIP_EXPIRED,	/* "new" with a duration <= 0 */
	FWD_CS_NSKIP,
};

struct fwd_cs_stream {
	size_t n, cap;
	struct fwd_cs_decision *d;	/* deleted ones first, in the answer's order */
	uint64_t skipped[FWD_CS_NSKIP];
};

/*
 * Map one `/v1/decisions/stream` answer (JSON text of LEN bytes) into OUT
 * (zeroed by the caller; crowdsec_stream_free() after). Returns 0, -EINVAL
 * when the text is not such an answer (ERR then says why), -ENOMEM.
 */
int crowdsec_stream_parse(const char *text, size_t len, struct fwd_cs_stream *out,
			  char *err, size_t errlen);
void crowdsec_stream_free(struct fwd_cs_stream *s);
/* One decision as "ban 10.0.0.0/8 120000ms" or "delete 2001:db8::1/128". */
void crowdsec_decision_text(const struct fwd_cs_decision *d, char *out, size_t outlen);

/*
 * The `/v1/alerts` body for R (a JSON array of one alert with one ban
 * decision), STAMP the RFC 3339 time of the detection. Malloc'd; NULL on
 * ENOMEM.
 */
char *crowdsec_alert_json(const struct fwd_cs_report *r, const char *stamp);
/*
 * The credentials file of `cscli machines add -f FILE` (YAML: url, login,
 * password) into LOGIN and PASSWORD (malloc'd). 0, or -errno with ERR.
 */
int crowdsec_machine_read(const char *path, char **login, char **password, char *err,
			  size_t errlen);

/* ---- the thread ------------------------------------------------------------- */

struct fwd_state;
struct fwd_live;

/* Start the thread (after the privileges are dropped). 0 or -errno. */
int crowdsec_start(struct fwd_state *st);
/* Stop it; an HTTP request under way is aborted. */
void crowdsec_stop(void);
/*
 * Under st->lock, whenever a rules file takes effect: CS (NULL: no section)
 * becomes the thread's settings. A new url, key_file or set starts the
 * stream over with startup=true.
 */
void crowdsec_configure(const struct fwd_crowdsec_conf *cs);

struct fwd_cs_counters {
	uint64_t pulls, pull_errors;
	uint64_t applied, removed;	/* decisions taken from the stream */
	uint64_t alerts_pushed, alert_errors, alerts_dropped;
	bool on;			/* a `crowdsec:` section is in force */
};
void crowdsec_counters(struct fwd_cs_counters *c);
/*
 * Under st->lock: the decisions the set of L holds now (entries the stream
 * added that have not expired), or 0.
 */
uint32_t crowdsec_held(struct fwd_live *l);
/*
 * Under st->lock: the `fwd stats` line ("" without a section), the
 * `"crowdsec":{...}` member of its JSON (no comma), malloc'd, NULL on
 * ENOMEM; the metrics (fwd_crowdsec_*) written to F.
 */
char *crowdsec_stats_text(struct fwd_live *l);
char *crowdsec_stats_json(struct fwd_live *l);
void crowdsec_metrics(FILE *f, struct fwd_live *l);

#endif
