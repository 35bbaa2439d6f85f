/* SPDX-License-Identifier: MIT */
/*
 * queue.h - the NFQUEUE side of the packet path (DESIGN.md section 4).
 *
 * One worker thread per queue, each with its own netlink socket and its own
 * counters. A worker receives a burst of packets (one blocking receive, then
 * non-blocking ones up to a limit), judges each against the live table, and
 * sends every verdict of the burst in one sendto(): runs of the same
 * verdict with the same mark collapse into one NFQNL_MSG_VERDICT_BATCH
 * (the kernel sets a batch's mark on each of its packets).
 */
#ifndef FWD_QUEUE_H
#define FWD_QUEUE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "fwd/live.h"
#include "fwd/log.h"
#include "fwd/packet.h"

#define FWD_QUEUE_BURST		64	/* messages per burst */
#define FWD_QUEUE_COPY		256	/* bytes of each packet copied to us */
#define FWD_QUEUE_MAXLEN	8192	/* packets the kernel holds per queue */
#define FWD_QUEUE_RCVBUF	(8 << 20)
/* The most bytes one verdict message takes (header, verdict, mark, alignment). */
#define FWD_VERDICT_MAX		64
/* Room for the verdicts of one burst: at most one message per packet. */
#define FWD_VBUF_SIZE		(FWD_QUEUE_BURST * FWD_VERDICT_MAX)

/*
 * The verdicts of one burst, built into a caller-owned buffer. Packets must
 * be added in the order they were received (ascending ids): a batch verdict
 * covers every id up to its own, which is right only because every earlier
 * id already has its verdict earlier in the same buffer.
 */
struct fwd_vbuf {
	char *buf;
	size_t cap, len;
	uint16_t queue;
	bool pending;		/* a run of plain verdicts not yet written */
	uint32_t run_id;	/* its last id */
	uint32_t run_len;
	int run_verdict;
	uint32_t run_mark;	/* its mark, 0: none */
	unsigned nmsg;		/* messages written */
};

void vbuf_init(struct fwd_vbuf *v, char *buf, size_t cap, uint16_t queue);
/* Add the verdict of packet ID; MARK 0 means none. 0, or -ENOSPC. */
int vbuf_add(struct fwd_vbuf *v, uint32_t id, int verdict, uint32_t mark);
/* Write the pending run; returns the bytes to send. */
size_t vbuf_finish(struct fwd_vbuf *v);

/* A worker's own counters; only it writes them, `stats` reads them relaxed. */
struct fwd_wstats {
	_Alignas(64) _Atomic uint64_t received;
	_Atomic uint64_t enobufs;
	/*
	 * Receive failures but ENOBUFS, and verdicts not sent or refused by
	 * the kernel: their packets wait in its queue (run.c warns).
	 */
	_Atomic uint64_t errors;
	_Atomic uint64_t unanswered;		/* rejects past FWD_REJECT_RATE or unsendable: no answer */
	_Atomic uint64_t looped;		/* back from a repeat verdict: accepted (queue.c) */
	_Atomic uint64_t unseen_iface;		/* from a link not in the ifmap yet */
	_Atomic uint64_t dflt_packets;
	_Atomic uint64_t dflt_bytes;
	_Atomic uint64_t malformed[FWD_PKT_NREASONS];
};

struct fwd_worker {
	unsigned id;
	uint16_t queue;
	int fd;
	int raw4, raw6;			/* reject answers (fwd/reject.c); -1: none */
	struct mnl_socket *nl;
	uint32_t portid;
	pthread_t thread;
	bool started;
	struct fwd_state *st;
	struct fwd_ring *ring;
	struct fwd_bucket dflt_bucket;		/* log buckets of what has no rule */
	struct fwd_bucket malformed_bucket;
	struct fwd_bucket dyn_bucket;		/* doors opened, scans, limits' adds */
	char *rxbuf;
	struct fwd_wstats stats;
};

/* Set when the workers must leave their loop. */
extern _Atomic bool fwd_queue_stop;

/*
 * Open W's socket and bind it to queue W->queue with fwd's settings. Errors
 * are reported as text in ERR ("queue 0 is already taken by another
 * process") and returned as -errno.
 */
int queue_open(struct fwd_worker *w, enum fwd_fail fail, char *err, size_t errlen);
int queue_start(struct fwd_worker *w);
/* After fwd_queue_stop is set: join the thread, unbind, close. */
void queue_close(struct fwd_worker *w);

/* queue_dropped and user_dropped of queue Q from /proc; 0 if not there. */
void queue_proc_drops(uint32_t q, uint64_t *queue_dropped, uint64_t *user_dropped);

/*
 * Over queues BASE .. BASE + N - 1 from /proc: the packets the kernel holds
 * for them now (HELD) and those it dropped, queue full or socket buffer
 * full (DROPPED). Either may be NULL; 0 when the file cannot be read.
 */
void queue_proc_sum(uint32_t base, uint32_t n, uint64_t *held, uint64_t *dropped);

/* Packets the N workers W have received so far, summed. */
uint64_t queue_received(struct fwd_worker *w, unsigned n);

#endif
