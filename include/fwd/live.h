/* SPDX-License-Identifier: MIT */
/*
 * live.h - the state the running daemon publishes to its workers.
 *
 * One struct fwd_live holds everything a packet is judged by: the compiled
 * table, the per-worker per-rule counters and log buckets sized for it, and
 * the malformed verdict. Workers read it under liburcu's QSBR flavour; a
 * reload builds a complete new one off the packet path and publishes it with
 * one rcu_xchg_pointer(), then frees the old one after synchronize_rcu().
 * The ifindex -> interface class map hangs off it behind its own RCU
 * pointer, so link changes republish only the map.
 *
 * Everything that changes the published state, and `stats`, runs under
 * st->lock: they are off the packet path and must see a consistent table.
 */
#ifndef FWD_LIVE_H
#define FWD_LIVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwd/config.h"
#include "fwd/dyn.h"
#include "fwd/hooks.h"
#include "fwd/log.h"
#include "fwd/ruleset.h"

/*
 * One rule's counters in one worker. Only that worker writes. The log
 * buckets are apart (fwd_live.bucket), for the rules that log alone: 24
 * bytes a rule and worker, not 72.
 */
struct fwd_rule_ctr {
	_Atomic uint64_t packets;
	_Atomic uint64_t bytes;
	_Atomic uint64_t last_hit_ms;	/* CLOCK_MONOTONIC_COARSE ms; 0: never */
};

/*
 * Interface index -> class of fwd_key.iface, for the table it was built
 * for: the class of each ifindex present when the map was built. An
 * index beyond it, or absent then, is a link that came up since: while the
 * rules name interfaces its class is FWD_IFACE_UNSEEN until the main thread
 * reads the link event and builds the map again, and the packet is judged
 * as `fail:` says, not as from no named interface (fwd/queue.c).
 */
#define FWD_IFACE_UNSEEN	UINT16_MAX	/* never a class: they are 0 to 65534 */
struct fwd_ifmap {
	uint32_t n;
	uint16_t unknown;		/* class of an index beyond the map */
	/*
	 * The gateway's IPv4 broadcast addresses, host order, when the map was
	 * built (address changes rebuild it too): a reject never answers a
	 * packet sent to one. In the same block, after cls.
	 */
	uint32_t nbcast;
	const uint32_t *bcast;
	uint16_t cls[];
};

struct fwd_live {
	struct fwd_ruleset *rs;
	uint32_t gen;			/* 1 for the first table, + 1 a reload; never 0 */
	uint32_t nrules;
	unsigned nworkers;
	struct fwd_ifmap *ifmap;	/* RCU pointer of its own */
	struct fwd_rule_ctr **ctr;	/* [worker][rule], each cache-line aligned */
	struct fwd_bucket **bucket;	/* [worker][log_idx]: a logging rule's log bucket */
	uint64_t *carry_packets;	/* [rule]: counts carried over reloads */
	uint64_t *carry_bytes;
	uint64_t *carry_last_ms;
	enum fwd_action malformed;	/* verdict of unparsable packets */
	uint32_t log_rate, log_burst;
	const char **names;		/* [rule], in l->rs: freed with it */
	struct fwd_dyn *dyn;		/* dynamic sets and knocks (fwd/dyn.c); NULL: none */
	uint32_t mark_gen;		/* FWD_MARK_GEN or 0, added to forward marks */
	bool every_packet;		/* daemon.inspect: replies reach the workers */
	struct fwd_early *early;	/* what the hooks drop before the queue, counts */
};

struct fwd_worker;

/* The daemon, as `run` sets it up and control/reload see it. */
struct fwd_state {
	struct fwd_live *live;		/* RCU-published */
	pthread_mutex_t lock;		/* reload, ifmap, stats */
	const char *config_path;
	unsigned nworkers;
	struct fwd_worker *workers;
	uint32_t queue_base;
	struct fwd_hooks_conf hooks;
	bool no_hooks;
	bool repeat;			/* fwd's hooks are in: pass with a repeat verdict */
	/*
	 * A rule comes before fwd's jump in mangle PREROUTING (or the last
	 * look could not read the table): one that rewrites the mark makes
	 * allowed packets loop, so the workers' loop guards act at once
	 * (loopguard.h). Written by the main loop's hooks watch.
	 */
	_Atomic bool preceded;
	bool foreground;
	uint64_t reloads_ok, reloads_failed;
	uint64_t hooks_restored;	/* put back after another tool took them away */
	char *metrics_file;		/* daemon.metrics, under lock; NULL: none */
	uint32_t metrics_interval;	/* seconds */
};

/* Increment a counter only its owner writes; readers load it relaxed. */
static inline void ctr_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* Set a value only its owner writes (a time, not a sum). */
static inline void ctr_set(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

static inline uint64_t ctr_get(_Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/*
 * Build a complete live state for RS (taken over) and C (its daemon and
 * malformed settings) with counters for NWORKERS workers. NULL on ENOMEM.
 */
struct fwd_live *live_new(struct fwd_ruleset *rs, const struct fwd_config *c,
			  unsigned nworkers);
/*
 * live_new() in two steps, so that a reload can build what needs C's rules
 * before the compile frees them (ruleset_load_lean()): live_prepare() reads
 * C (the dynamic tables, the early drops, the daemon's settings), NULL on
 * ENOMEM; live_attach() takes RS over and adds what needs the table (the
 * interface map, the counters), or frees L and RS and returns NULL.
 */
struct fwd_live *live_prepare(const struct fwd_config *c, unsigned nworkers);
struct fwd_live *live_attach(struct fwd_live *l, struct fwd_ruleset *rs);
/* Free L and everything it owns. Only once no reader can see it. */
void live_free(struct fwd_live *l);

/*
 * Build the ifindex -> class map of RS from the interfaces present now;
 * NULL when they cannot be listed or memory is short.
 */
struct fwd_ifmap *ifmap_build(const struct fwd_ruleset *rs);
static inline uint16_t ifmap_class(const struct fwd_ifmap *m, uint32_t ifindex)
{
	return ifindex < m->n ? m->cls[ifindex] : m->unknown;
}

static inline bool ifmap_broadcast(const struct fwd_ifmap *m, uint32_t addr)
{
	for (uint32_t i = 0; i < m->nbcast; i++)
		if (m->bcast[i] == addr)
			return true;
	return false;
}

/* Publish L as the first state (no old one), generation 1. */
void live_publish_first(struct fwd_state *st, struct fwd_live *l);
/*
 * Under st->lock: publish L, wait for every worker to leave the old state,
 * carry the counters of rules that kept their name, free the old state.
 */
void live_replace(struct fwd_state *st, struct fwd_live *l);
/* Under st->lock: rebuild and republish the interface map (links changed). */
int live_refresh_ifmap(struct fwd_state *st);

/*
 * Reload the rules file: load, compile, publish, re-sync the hooks. On
 * failure the old table stays and D holds the diagnostics; on success D
 * holds only a warning for each `daemon:` setting the file changed that
 * waits for a restart (fail, queues, queue_num), also logged. Returns the
 * new number of rules, or -1. Takes st->lock itself and logs the outcome.
 */
int live_reload(struct fwd_state *st, struct fwd_diags *d);

/* Install fwd's chains for the live table, its forward marks as the workers set them. */
int live_install_hooks(struct fwd_state *st);

#define FWD_METRICS_INTERVAL_DEFAULT	15u	/* seconds */
/* Under st->lock (or before any thread): take daemon.metrics from C. */
void live_set_metrics(struct fwd_state *st, const struct fwd_config *c);

/*
 * rtnetlink socket that reports changes of links and of addresses
 * (RTMGRP_LINK, RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR); -errno on failure.
 */
int link_open(void);
/*
 * Drain LINK_FD and, if anything came, refresh the interface map and
 * FWD-HAIRPIN's prefixes (hooks_hairpin()).
 */
void link_event(struct fwd_state *st, int link_fd);

#endif
