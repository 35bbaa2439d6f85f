/* SPDX-License-Identifier: MIT */
/*
 * log.h - fwd's log sink (DESIGN.md section 4, "Logging").
 *
 * Two ways in. Daemon messages (log_info/log_warn/log_err) are written
 * synchronously; they never come from the packet path. Packet events are
 * fixed-size records that a worker pushes into its own single-producer,
 * single-consumer ring (no lock, no allocation, no syscall); one logger
 * thread drains every ring and formats the lines. A full ring drops the event
 * and counts it. Per-rule rate limiting is a token bucket the worker keeps
 * beside its counters; the events it suppresses are counted, summed and
 * reported about once a second by the main thread (fwd/suppress.c: "fwd:
 * suppressed N events rule=NAME"), so a flood's count shows when it ends.
 */
#ifndef FWD_LOG_H
#define FWD_LOG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fwd/config.h"

enum fwd_ev_type {
	FWD_EV_VERDICT,
	FWD_EV_MALFORMED,
	FWD_EV_SCAN,	/* fwd/dyn.c: dport = ports seen, sport = window (s), rule = set */
	FWD_EV_KNOCK,	/* a door opened: proto/dport = what it opens (0: all), sport = timeout (s), rule = knock */
	FWD_EV_LIMIT,	/* a limit's on_exceed: add: sport = timeout (s), rule = the rule */
};

/*
 * One logged packet. Everything is copied in: the rule table the name came
 * from may be freed before the logger reads the event.
 */
struct fwd_log_event {
	uint8_t type;			/* enum fwd_ev_type */
	uint8_t action;			/* enum fwd_action */
	uint8_t family;			/* 4 or 6; 0 when the parser got no address */
	uint8_t proto;
	uint8_t reason;			/* enum fwd_pkt_reason, malformed only */
	uint32_t ifindex;		/* input interface, 0 when unknown */
	uint32_t sport, dport;		/* FWD_NOPORT when none */
	uint64_t suppressed;		/* events of this rule dropped just before */
	fwd_u128 src, dst;
	struct fwd_target to;		/* FWD_FORWARD only */
	char rule[FWD_NAME_MAX + 1];
};

/* Single-producer single-consumer ring of events; capacity a power of two. */
struct fwd_ring {
	_Alignas(64) _Atomic uint32_t head;	/* next slot the producer fills */
	_Alignas(64) _Atomic uint32_t tail;	/* next slot the consumer reads */
	_Atomic uint64_t popped;		/* consumer side */
	_Alignas(64) _Atomic uint64_t dropped;	/* producer side: ring was full */
	uint32_t mask;
	struct fwd_log_event *ev;
};

int ring_init(struct fwd_ring *r, uint32_t capacity);
void ring_free(struct fwd_ring *r);
/* Producer: copy EV in; false (and dropped++) when the ring is full. */
bool ring_push(struct fwd_ring *r, const struct fwd_log_event *ev);
/* Consumer: copy the oldest event out; false when empty. */
bool ring_pop(struct fwd_ring *r, struct fwd_log_event *ev);

/*
 * Token bucket, in thousandths of a token so that a rate below the refill
 * granularity still accumulates. Only its owner touches it.
 */
struct fwd_bucket {
	uint64_t milli;			/* tokens * 1000 */
	uint64_t last_ms;		/* time of the last refill */
	uint64_t suppressed;		/* events refused since the last one let through */
	_Atomic uint64_t refused;	/* every event refused; only the owner writes */
	uint64_t summarised;		/* of refused, reported: fwd/suppress.c, under the state lock */
	bool primed;
};

#define FWD_LOG_RATE_DEFAULT	10u
#define FWD_LOG_BURST_DEFAULT	50u

/*
 * Take one token at NOW_MS (a monotonic millisecond clock). Returns true if
 * the event may be logged; false counts it in b->suppressed.
 */
bool bucket_take(struct fwd_bucket *b, uint64_t now_ms, uint32_t rate, uint32_t burst);


/*
 * Copy IN into OUT (OUTLEN >= 1) so that it is safe in a key=value line and
 * inside a JSON string: bytes outside printable ASCII, space, '"', '\\', '='
 * become \xHH. Always NUL-terminates; truncates. Returns strlen(OUT).
 */
size_t log_escape(char *out, size_t outlen, const char *in);

/*
 * Format EV as one line without the newline: key=value ("fwd: drop rule=...")
 * or a JSON object. IFNAME is the input interface's name ("" when unknown),
 * TS the time for JSON's timestamp. Returns the length (truncated to fit).
 */
size_t log_format_kv(char *out, size_t outlen, const struct fwd_log_event *ev,
		     const char *ifname);
size_t log_format_json(char *out, size_t outlen, const struct fwd_log_event *ev,
		       const char *ifname, const struct timespec *ts);
/* "fwd: suppressed N events rule=NAME" or its JSON form (N = ev->suppressed). */
size_t log_format_suppressed(char *out, size_t outlen, enum fwd_logfmt fmt,
			     const struct fwd_log_event *ev, const struct timespec *ts);

/* Where lines go. FILE is copied. */
#define FWD_LOG_FILE_MODE	0640	/* a log file fwd creates; never opened through a link */

struct fwd_log_conf {
	enum fwd_logsink sink;		/* FWD_SINK_DEFAULT: syslog, stderr if foreground */
	enum fwd_logfmt fmt;
	const char *file;
	bool foreground;
};

/* Open the sink (synchronous messages work from here on). 0 or -errno. */
int log_open(const struct fwd_log_conf *c);
/* Change sink or format (reload). The logger picks it up before its next line. */
int log_configure(const struct fwd_log_conf *c);
/* Reopen the log file (SIGUSR1, after rotation). */
void log_reopen(void);
/* Start the logger thread draining NRINGS rings of CAPACITY events each. */
int log_start(unsigned nrings, uint32_t capacity);
/* The ring of worker I (valid between log_start and log_stop). */
struct fwd_ring *log_ring(unsigned i);
/* Drain what is left, stop the thread, free the rings; then close the sink. */
void log_stop(void);
void log_close(void);

/*
 * With format json: write {"timestamp":..,"event_type":TYPE,TYPE:JSON} where
 * JSON is an object's text (a trailing newline is dropped); false, and
 * nothing written, with format kv.
 */
bool log_json_object(const char *type, const char *json);

/* Write the summary of N events of RULE suppressed and count them. */
void log_suppressed(const char *rule, uint64_t n);

/*
 * Lines written; events dropped by full rings or lines the sink refused (a
 * failed write); events suppressed by the rate limit.
 */
struct fwd_log_stats {
	uint64_t written, dropped, suppressed;
};
void log_stats(struct fwd_log_stats *s);

/*
 * Top talkers of the logged drops: the logger thread (off the packet path)
 * keeps a space-saving sketch of destination ports and of sources, so the
 * heaviest FWD_TOP_N of each are counted closely whatever the traffic.
 */
#define FWD_TOP_N	16
struct fwd_top_entry {
	uint64_t count;
	uint8_t family, proto;
	uint32_t port;			/* ports sketch */
	fwd_u128 addr;			/* sources sketch */
};
struct fwd_log_top {
	struct fwd_top_entry ports[FWD_TOP_N], srcs[FWD_TOP_N];
};
/* A copy of the sketches, heaviest first; unused entries have count 0. */
void log_top(struct fwd_log_top *t);

__attribute__((format(printf, 1, 2))) void log_info(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_warn(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_err(const char *fmt, ...);

#endif
