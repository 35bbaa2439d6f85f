// SPDX-License-Identifier: MIT
/*
 * crowdsec.c - the CrowdSec thread: pulls the Local API's decision stream
 * into a dynamic set, pushes fwd's own blocks as alerts (see
 * include/fwd/crowdsec.h).
 *
 * The thread is started once and outlives reloads: a reload hands it the
 * new section under st->lock (crowdsec_configure) and wakes it. HTTP runs
 * with no lock held, so a slow or dead LAPI delays nothing but the next
 * pull; only applying a parsed answer takes st->lock, for as long as it
 * takes to write the entries. A failed pull is counted, logged at most once
 * per interval, and retried after interval, 2x, 4x (at most), while the set
 * keeps its entries until they expire.
 *
 * Workers hand detections over through fwd/outbox.c; the thread drains it
 * every CS_TICK_MS. The packet path never waits on the thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "fwd/crowdsec.h"
#include "fwd/dyn.h"
#include "fwd/live.h"
#include "fwd/log.h"
#include "fwd/outbox.h"
#include "fwd/value.h"

#define CS_TICK_MS		250u		/* how soon a queued alert goes out */
#define CS_BACKOFF_SHIFT_MAX	2		/* retries at most 4 intervals apart */
#define CS_BODY_MAX		(64u << 20)	/* a startup stream of ~300k decisions */
#define CS_CONNECT_MS		5000L
#define CS_TIMEOUT_MS		30000L
#define CS_KEY_MAX		256

static struct {
	pthread_mutex_t mu;		/* conf, gen, restart; taken after st->lock, never before */
	pthread_cond_t cv;
	struct fwd_crowdsec_conf *conf;	/* NULL: no section in force */
	uint64_t gen;
	bool restart;			/* start the stream over (startup=true) */
	struct fwd_state *st;
	pthread_t thread;
	bool started;
	_Atomic bool stop;
	_Atomic bool push_on;		/* a machine_file is set: reports are queued */
	_Atomic uint64_t pulls, pull_errors, applied, removed;
	_Atomic uint64_t alerts_pushed, alert_errors;
} CS = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
};

/* ---- settings ---------------------------------------------------------------- */

void crowdsec_configure(const struct fwd_crowdsec_conf *cs)
{
	struct fwd_crowdsec_conf *copy = cs ? crowdsec_conf_dup(cs) : NULL;

	if (cs && !copy) {
		log_warn("crowdsec: out of memory; the old settings stay");
		return;
	}
	pthread_mutex_lock(&CS.mu);
	if (!crowdsec_conf_same_stream(CS.conf, copy))
		CS.restart = true;
	crowdsec_conf_free(CS.conf);
	CS.conf = copy;
	CS.gen++;
	atomic_store(&CS.push_on, copy && copy->machine_file);
	outbox_enable(atomic_load(&CS.push_on));
	if (CS.started)
		pthread_cond_signal(&CS.cv);
	pthread_mutex_unlock(&CS.mu);
}

/* ---- HTTP ---------------------------------------------------------------------- */

struct cs_body {
	char *p;
	size_t len, cap;
};

/* What the thread keeps between rounds; only it touches this. */
struct cs_run {
	CURL *curl;
	struct fwd_crowdsec_conf *conf;	/* its own copy */
	uint64_t gen;
	bool startup;			/* the next pull asks for startup=true */
	uint64_t next_pull;		/* monotonic ms */
	unsigned errors;		/* failed pulls in a row */
	uint64_t last_pull_log, last_push_log;
	char *token;			/* the machine's JWT, or NULL */
	struct cs_body body;
	char errbuf[CURL_ERROR_SIZE];
};

static size_t on_body(char *ptr, size_t size, size_t n, void *arg)
{
	struct cs_body *b = arg;
	size_t add = size * n;

	if (add > CS_BODY_MAX - b->len)
		return 0;	/* curl fails the transfer: too large */
	if (b->len + add + 1 > b->cap) {
		size_t cap = (b->len + add + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, ptr, add);
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

/* Lets crowdsec_stop() end a transfer under way. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)arg, (void)dt, (void)dn, (void)ut, (void)un;
	return atomic_load(&CS.stop) ? 1 : 0;
}

static void http_setup(struct cs_run *r, const char *url, struct curl_slist *hdr,
		       const char *post)
{
	CURL *c = r->curl;

	curl_easy_reset(c);	/* keeps the open connection for the next request */
	r->body.len = 0;
	r->errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CS_CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, CS_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "fwd-crowdsec-bouncer/1");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
}

/*
 * One request: the status in *STATUS and the answer in r->body. 0, or
 * -EIO with the reason in ERR (curl's words, never the server's).
 */
static int http(struct cs_run *r, const char *path, const char *auth, const char *post,
		long *status, char *err, size_t errlen)
{
	char url[768];
	struct curl_slist *hdr = NULL, *h;
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", r->conf->url, path);
	h = curl_slist_append(hdr, auth);
	if (h && post)
		h = curl_slist_append(hdr = h, "Content-Type: application/json");
	if (!h) {
		curl_slist_free_all(hdr);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	hdr = h;
	http_setup(r, url, hdr, post);
	rc = curl_easy_perform(r->curl);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
		return -EIO;
	}
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, status);
	if (!r->body.p) {	/* no body at all: an empty text */
		r->body.p = calloc(1, 1);
		r->body.cap = 1;
	}
	if (!r->body.p) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* ---- pulling the decision stream ---------------------------------------------- */

static int read_key(const char *path, char *key, size_t len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		snprintf(err, errlen, "cannot read the key_file '%s': %s", path, strerror(errno));
		return -errno;
	}
	n = fread(key, 1, len - 1, f);
	fclose(f);
	key[n] = '\0';
	while (n && strchr(" \t\r\n", key[n - 1]))
		key[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] <= ' ' || (unsigned char)key[i] >= 0x7f)
			n = 0;
	if (!n) {
		snprintf(err, errlen, "the key_file '%s' holds no key", path);
		return -EINVAL;
	}
	return 0;
}

/* Under st->lock: write S into the set. */
static void apply(struct cs_run *r, const struct fwd_cs_stream *s)
{
	struct fwd_state *st = CS.st;
	uint64_t now = clock_mono_ms(), added = 0, gone = 0;
	int set;

	pthread_mutex_lock(&st->lock);
	set = dyn_set_find(st->live->dyn, r->conf->set);
	for (size_t i = 0; set >= 0 && i < s->n; i++) {
		const struct fwd_cs_decision *d = &s->d[i];

		if (d->deleted)
			gone += dyn_prefix_del(st->live->dyn, set, d->family, d->addr, d->plen);
		else if (dyn_prefix_put(st->live->dyn, set, d->family, d->addr, d->plen,
					now + (uint64_t)d->remain_ms, now) >= 0)
			added++;
	}
	pthread_mutex_unlock(&st->lock);
	atomic_fetch_add(&CS.applied, added);
	atomic_fetch_add(&CS.removed, gone);
	if (set < 0)
		log_warn("crowdsec: set '%s' is not in the running rules; decisions dropped",
			 r->conf->set);
}

static void pull_failed(struct cs_run *r, uint64_t now, const char *why)
{
	unsigned shift = r->errors < CS_BACKOFF_SHIFT_MAX ? r->errors : CS_BACKOFF_SHIFT_MAX;
	uint64_t wait = (uint64_t)r->conf->interval_ms << shift;

	atomic_fetch_add(&CS.pull_errors, 1);
	r->errors++;
	r->next_pull = now + wait;
	if (r->last_pull_log && now - r->last_pull_log < r->conf->interval_ms)
		return;
	r->last_pull_log = now;
	log_warn("crowdsec: pull from %s failed: %s; %u in a row, next try in %" PRIu64 " ms",
		 r->conf->url, why, r->errors, wait);
}

static void pulled(struct cs_run *r, uint64_t now, const struct fwd_cs_stream *s)
{
	uint64_t skipped = 0;

	for (int i = 0; i < FWD_CS_NSKIP; i++)
		skipped += s->skipped[i];
	atomic_fetch_add(&CS.pulls, 1);
	if (r->errors)
		log_info("crowdsec: %s answers again after %u failed pulls", r->conf->url,
			 r->errors);
	if (r->startup || s->n || skipped)
		log_info("crowdsec: %s%zu decisions from %s (%" PRIu64 " not for a firewall)",
			 r->startup ? "startup: " : "", s->n, r->conf->url, skipped);
	r->errors = 0;
	r->startup = false;
	r->next_pull = now + r->conf->interval_ms;
}

static void pull(struct cs_run *r)
{
	char key[CS_KEY_MAX], auth[CS_KEY_MAX + 16], err[CURL_ERROR_SIZE + 64];
	struct fwd_cs_stream s = { 0 };
	uint64_t now = clock_mono_ms();
	long status = 0;

	if (read_key(r->conf->key_file, key, sizeof(key), err, sizeof(err)))
		{
		pull_failed(r, now, err);
		return;
	}
	snprintf(auth, sizeof(auth), "X-Api-Key: %s", key);
	if (http(r, r->startup ? "/v1/decisions/stream?startup=true" : "/v1/decisions/stream",
		 auth, NULL, &status, err, sizeof(err)))
		{
		pull_failed(r, clock_mono_ms(), err);
		return;
	}
	now = clock_mono_ms();
	if (status != 200) {
		snprintf(err, sizeof(err), "HTTP status %ld%s", status,
			 status == 403 ? " (is the key from 'cscli bouncers add'?)" : "");
		{
		pull_failed(r, now, err);
		return;
	}
	}
	if (crowdsec_stream_parse(r->body.p, r->body.len, &s, err, sizeof(err))) {
		char why[sizeof(err) + 32];

		snprintf(why, sizeof(why), "bad answer: %s", err);
		crowdsec_stream_free(&s);
		{
		pull_failed(r, now, why);
		return;
	}
	}
	apply(r, &s);
	pulled(r, now, &s);
	crowdsec_stream_free(&s);
}

/* ---- pushing alerts ----------------------------------------------------------- */

static void push_log(struct cs_run *r, const char *why)
{
	uint64_t now = clock_mono_ms();

	atomic_fetch_add(&CS.alert_errors, 1);
	if (r->last_push_log && now - r->last_push_log < r->conf->interval_ms)
		return;
	r->last_push_log = now;
	log_warn("crowdsec: alert to %s not sent: %s", r->conf->url, why);
}

static char *login_body(const char *login, const char *password)
{
	json_object *o = json_object_new_object(), *sc = json_object_new_array();
	char *out = NULL;

	if (o && sc) {
		json_object_object_add(o, "machine_id", json_object_new_string(login));
		json_object_object_add(o, "password", json_object_new_string(password));
		json_object_array_add(sc, json_object_new_string("fwd/port-scan"));
		json_object_array_add(sc, json_object_new_string("fwd/rate-limit"));
		json_object_object_add(o, "scenarios", sc);
		sc = NULL;
		out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	}
	json_object_put(sc);
	json_object_put(o);
	return out;
}

/* The token of {"code":200,"token":"..."}, malloc'd, or NULL. */
static char *login_token(const char *text)
{
	json_object *o = json_tokener_parse(text), *t;
	char *out = NULL;

	if (o && json_object_object_get_ex(o, "token", &t) &&
	    json_object_is_type(t, json_type_string) && json_object_get_string_len(t) > 0 &&
	    json_object_get_string_len(t) < 4096)
		out = strdup(json_object_get_string(t));
	json_object_put(o);
	return out;
}

static int login(struct cs_run *r, char *err, size_t errlen)
{
	char *user = NULL, *pw = NULL, *body;
	long status = 0;
	int e;

	free(r->token);
	r->token = NULL;
	if ((e = crowdsec_machine_read(r->conf->machine_file, &user, &pw, err, errlen)))
		return e;
	body = login_body(user, pw);
	free(user);
	free(pw);
	if (!body) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	e = http(r, "/v1/watchers/login", "Accept: application/json", body, &status, err,
		 errlen);
	free(body);
	if (e)
		return e;
	if (status != 200 || !(r->token = login_token(r->body.p))) {
		snprintf(err, errlen, "login as the machine of '%s' refused: HTTP status %ld",
			 r->conf->machine_file, status);
		return -EACCES;
	}
	return 0;
}

static void stamp_now(char *out, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* POST one alert; a 401 (the token expired) logs in again once. */
static void push(struct cs_run *r, const struct fwd_cs_report *rep)
{
	char stamp[32], auth[4200], err[CURL_ERROR_SIZE + 128];
	char *body;
	long status = 0;

	stamp_now(stamp, sizeof(stamp));
	body = crowdsec_alert_json(rep, stamp);
	if (!body) {
		push_log(r, "out of memory");
		return;
	}
	for (int tries = 0; tries < 2; tries++) {
		if (!r->token && login(r, err, sizeof(err)))
			break;
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", r->token);
		if (http(r, "/v1/alerts", auth, body, &status, err, sizeof(err)))
			break;
		if (status == 200 || status == 201) {
			atomic_fetch_add(&CS.alerts_pushed, 1);
			free(body);
			return;
		}
		snprintf(err, sizeof(err), "HTTP status %ld", status);
		free(r->token);
		r->token = NULL;
		if (status != 401)
			break;
	}
	free(body);
	push_log(r, err);
}

static void push_all(struct cs_run *r)
{
	struct fwd_cs_report rep;

	while (!atomic_load(&CS.stop) && outbox_pop(&rep)) {
		if (r->conf && r->conf->machine_file)
			push(r, &rep);
	}
}

/* ---- the thread ------------------------------------------------------------------ */

/* Take new settings, if any. Under no other lock. */
static void sync_conf(struct cs_run *r)
{
	struct fwd_crowdsec_conf *c = NULL;
	bool restart;

	pthread_mutex_lock(&CS.mu);
	if (CS.gen == r->gen) {
		pthread_mutex_unlock(&CS.mu);
		return;
	}
	r->gen = CS.gen;
	restart = CS.restart;
	CS.restart = false;
	if (CS.conf)
		c = crowdsec_conf_dup(CS.conf);
	pthread_mutex_unlock(&CS.mu);
	crowdsec_conf_free(r->conf);
	r->conf = c;
	free(r->token);
	r->token = NULL;
	if (!c)
		return;
	if (restart) {
		r->startup = true;
		r->next_pull = 0;
		r->errors = 0;
	}
	log_info("crowdsec: decisions from %s into set %s every %u ms%s", c->url, c->set,
		 c->interval_ms, c->machine_file ? "; alerts pushed as its machine" : "");
}

static void wait_tick(struct cs_run *r)
{
	struct timespec ts;
	uint64_t now = clock_mono_ms(), wait = CS_TICK_MS;

	if (!r->conf)
		wait = 60000;	/* configure() wakes us */
	else if (!atomic_load(&CS.push_on) && r->next_pull > now)
		wait = r->next_pull - now;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(wait / 1000);
	ts.tv_nsec += (long)(wait % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&CS.mu);
	if (!atomic_load(&CS.stop) && CS.gen == r->gen)
		pthread_cond_timedwait(&CS.cv, &CS.mu, &ts);
	pthread_mutex_unlock(&CS.mu);
}

static void *cs_main(void *arg)
{
	struct cs_run r = { .startup = true };

	(void)arg;
	r.curl = curl_easy_init();
	if (!r.curl) {
		log_warn("crowdsec: cannot start libcurl; no decisions will be pulled");
		return NULL;
	}
	while (!atomic_load(&CS.stop)) {
		sync_conf(&r);
		if (r.conf && clock_mono_ms() >= r.next_pull)
			pull(&r);
		push_all(&r);
		wait_tick(&r);
	}
	curl_easy_cleanup(r.curl);
	crowdsec_conf_free(r.conf);
	free(r.token);
	free(r.body.p);
	return NULL;
}

int crowdsec_start(struct fwd_state *st)
{
	pthread_condattr_t ca;
	int e;

	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return -EIO;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&CS.cv, &ca);
	pthread_condattr_destroy(&ca);
	CS.st = st;
	atomic_store(&CS.stop, false);
	e = -pthread_create(&CS.thread, NULL, cs_main, NULL);
	if (e) {
		curl_global_cleanup();
		return e;
	}
	pthread_mutex_lock(&CS.mu);
	CS.started = true;
	pthread_mutex_unlock(&CS.mu);
	return 0;
}

void crowdsec_stop(void)
{
	pthread_mutex_lock(&CS.mu);
	if (!CS.started) {
		pthread_mutex_unlock(&CS.mu);
		return;
	}
	atomic_store(&CS.stop, true);
	atomic_store(&CS.push_on, false);
	outbox_enable(false);
	pthread_cond_signal(&CS.cv);
	CS.started = false;
	pthread_mutex_unlock(&CS.mu);
	pthread_join(CS.thread, NULL);
	pthread_cond_destroy(&CS.cv);
	curl_global_cleanup();
	crowdsec_conf_free(CS.conf);
	CS.conf = NULL;
}

/* ---- counters ---------------------------------------------------------------------- */

void crowdsec_counters(struct fwd_cs_counters *c)
{
	c->pulls = atomic_load(&CS.pulls);
	c->pull_errors = atomic_load(&CS.pull_errors);
	c->applied = atomic_load(&CS.applied);
	c->removed = atomic_load(&CS.removed);
	c->alerts_pushed = atomic_load(&CS.alerts_pushed);
	c->alert_errors = atomic_load(&CS.alert_errors);
	c->alerts_dropped = outbox_dropped();
	pthread_mutex_lock(&CS.mu);
	c->on = CS.conf != NULL;
	pthread_mutex_unlock(&CS.mu);
}

uint32_t crowdsec_held(struct fwd_live *l)
{
	char set[FWD_NAME_MAX + 1] = "";

	pthread_mutex_lock(&CS.mu);
	if (CS.conf)
		strcpy(set, CS.conf->set);
	pthread_mutex_unlock(&CS.mu);
	if (!set[0] || !l)
		return 0;
	return dyn_prefix_count(l->dyn, dyn_set_find(l->dyn, set), clock_mono_ms());
}

char *crowdsec_stats_text(struct fwd_live *l)
{
	struct fwd_cs_counters c;
	char *out = NULL;

	crowdsec_counters(&c);
	if (!c.on && !c.pulls && !c.pull_errors)
		return strdup("");
	if (asprintf(&out, "crowdsec:   decisions held %u, pulls %" PRIu64 ", pull errors %" PRIu64
		     ", taken %" PRIu64 ", removed %" PRIu64 ", alerts pushed %" PRIu64
		     ", alert errors %" PRIu64 ", alerts dropped %" PRIu64 "\n",
		     crowdsec_held(l), c.pulls, c.pull_errors, c.applied, c.removed,
		     c.alerts_pushed, c.alert_errors, c.alerts_dropped) < 0)
		return NULL;
	return out;
}

char *crowdsec_stats_json(struct fwd_live *l)
{
	struct fwd_cs_counters c;
	char *out = NULL;

	crowdsec_counters(&c);
	if (asprintf(&out, "\"crowdsec\":{\"on\":%s,\"decisions\":%u,\"pulls\":%" PRIu64
		     ",\"pull_errors\":%" PRIu64 ",\"taken\":%" PRIu64 ",\"removed\":%" PRIu64
		     ",\"alerts_pushed\":%" PRIu64 ",\"alert_errors\":%" PRIu64
		     ",\"alerts_dropped\":%" PRIu64 "}", c.on ? "true" : "false", crowdsec_held(l),
		     c.pulls, c.pull_errors, c.applied, c.removed, c.alerts_pushed,
		     c.alert_errors, c.alerts_dropped) < 0)
		return NULL;
	return out;
}

void crowdsec_metrics(FILE *f, struct fwd_live *l)
{
	static const char *const help[][2] = {
		{ "fwd_crowdsec_pulls_total", "Decision stream pulls that succeeded." },
		{ "fwd_crowdsec_pull_errors_total", "Decision stream pulls that failed." },
		{ "fwd_crowdsec_alerts_pushed_total", "Alerts pushed to the Local API." },
		{ "fwd_crowdsec_alert_errors_total", "Alerts the Local API did not take." },
		{ "fwd_crowdsec_alerts_dropped_total", "Alerts dropped: the queue was full." },
	};
	struct fwd_cs_counters c;
	uint64_t v[5];

	crowdsec_counters(&c);
	v[0] = c.pulls;
	v[1] = c.pull_errors;
	v[2] = c.alerts_pushed;
	v[3] = c.alert_errors;
	v[4] = c.alerts_dropped;
	fprintf(f, "# HELP fwd_crowdsec_decisions CrowdSec decisions the set holds.\n"
		"# TYPE fwd_crowdsec_decisions gauge\nfwd_crowdsec_decisions %u\n",
		crowdsec_held(l));
	for (int i = 0; i < 5; i++)
		fprintf(f, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n", help[i][0],
			help[i][1], help[i][0], help[i][0], v[i]);
}
