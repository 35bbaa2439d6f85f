/* SPDX-License-Identifier: MIT */
/*
 * value.h - the small values every part of fwd names the same way: actions,
 * protocols, addresses and targets, durations, clocks, a growing text buffer
 * and the search of a sorted address range list. One spelling each (fwd/value.c);
 * a leaf module: it uses nothing else of fwd's.
 */
#ifndef FWD_VALUE_H
#define FWD_VALUE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fwd/config.h"

#define FWD_PROTO_ICMP		1
#define FWD_PROTO_TCP		6
#define FWD_PROTO_UDP		17
#define FWD_PROTO_ICMPV6	58
#define FWD_PROTO_SCTP		132

/* "allow", "drop", "forward", "reject". */
const char *action_name(enum fwd_action a);
/* The action named S (the first LEN bytes; LEN 0: up to the NUL), or -1. */
int action_parse(const char *s, size_t len);
/* The names of the actions, NULL-terminated, in enum order. */
extern const char *const action_names[];
/* The names of `fail:`'s modes, NULL-terminated, in enum fwd_fail's order. */
extern const char *const fail_names[];
/* The names of `rpfilter:`'s modes, NULL-terminated, in enum fwd_rpfilter's order. */
extern const char *const rpfilter_names[];

/* "tcp", "udp", "icmp", "icmpv6", "esp", ... (value.c), or NULL for another number. */
const char *proto_name(unsigned proto);
/* The number of the protocol named S ("tcp", "esp", ..., or "0" to "255"), or -1. */
int proto_number(const char *s);
/* What proto_number() takes, for "expected ..." messages: "tcp, udp, ..., a number 0-255". */
void proto_names(char *out, size_t outlen);

/*
 * A bare IPv4 or IPv6 address, no prefix, into A in the host order of the
 * address sets. Returns 4, 6, or 0 when S is neither.
 */
int addr_parse(const char *s, fwd_u128 *a);
/*
 * FAMILY/A/PLEN, an IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291
 * 2.5.5.2), as the IPv4 address it names; anything else as it is. Returns
 * the family. A dual-stack socket reports an IPv4 peer so, and an operator
 * copies that from a server's log: as IPv6 it would match nothing, since no
 * packet carries it. Whole addresses only (PLEN 128): a prefix such as
 * ::ffff:0:0/96, which IPv6 bogon lists hold, stays IPv6. PLEN may be NULL
 * (a whole address).
 */
int addr_unmap(int family, fwd_u128 *a, unsigned *plen);
/* The network mask of a PLEN-bit prefix in the host order of fwd_u128 addresses. */
static inline fwd_u128 fwd_prefix_mask(int family, unsigned plen)
{
	unsigned bits = family == 4 ? 32 : 128;
	fwd_u128 all = family == 4 ? (fwd_u128)0xffffffffu : ~(fwd_u128)0;

	if (plen == 0)
		return 0;
	if (plen >= bits)
		return all;
	return all & ~((((fwd_u128)1) << (bits - plen)) - 1);
}
/*
 * "ADDR" or "ADDR/LEN" into the network (host bits cleared) and its length
 * (ADDR alone: 32 or 128), a mapped address unmapped (addr_unmap()).
 * Returns 4, 6, or 0 when S is neither.
 */
int prefix_parse(const char *s, fwd_u128 *a, unsigned *plen);
/* The N bytes at B (network order: 4 or 16) as an address in that host order. */
static inline fwd_u128 addr_from_bytes(const uint8_t *b, size_t n)
{
	fwd_u128 a = 0;

	for (size_t i = 0; i < n; i++)
		a = a << 8 | b[i];
	return a;
}
/* ADDR of FAMILY (4 or 6) as text; "-" for another family. No allocation. */
void addr_format(char *out, size_t outlen, unsigned family, fwd_u128 addr);
/*
 * A forward target: "ADDR:PORT" or "[V6]:PORT"; a target port of 0 takes
 * DPORT; with no port at all (0 or FWD_NOPORT) "ADDR" or "[V6]".
 */
void target_format(char *out, size_t outlen, const struct fwd_target *t, uint32_t dport);
/*
 * "HOST:PORT" or "[V6]:PORT" (PORT 1..65535) into family, address and port.
 * Returns 4 or 6, or 0 when S is not of that form.
 */
int endpoint_parse(const char *s, fwd_u128 *addr, uint32_t *port);

/* Is A (of FAMILY) in one of S's sorted, disjoint ranges? */
bool addrset_has(const struct fwd_addrset *s, unsigned family, fwd_u128 a);

/*
 * The one duration grammar: digits followed by ms, s, m, h or d; a bare number
 * counts BARE_MS each (0: a unit is required). Into *MS, 1 .. MAX_MS.
 */
bool duration_parse(const char *s, uint64_t bare_ms, uint64_t max_ms, uint64_t *ms);
/* MS in the largest unit that divides it, as duration_parse() reads it: "90s", "1d", "250ms". */
void duration_format(char *out, size_t outlen, uint64_t ms);

/*
 * Is S a name iptables-save prints verbatim in a comment (letters, digits,
 * '-', '_', '.'; 1 to 200 bytes)? Names that are not go in by index.
 */
bool ipt_comment_plain(const char *s);

/*
 * A nonblocking netlink socket of PROTOCOL (NETLINK_ROUTE, ...) bound to the
 * multicast GROUPS (a mask), for a poll loop; or -errno.
 */
int netlink_listen(int protocol, uint32_t groups);

/* Clock ID (CLOCK_REALTIME, CLOCK_BOOTTIME, ...) in milliseconds. */
uint64_t clock_ms(clockid_t id);
/* CLOCK_MONOTONIC in microseconds, and in milliseconds. */
uint64_t clock_mono_us(void);
uint64_t clock_mono_ms(void);
/* CLOCK_MONOTONIC_COARSE in milliseconds (vDSO: no syscall; the packet path's clock). */
uint64_t clock_coarse_ms(void);
/* A clock_coarse_ms() time as unix seconds; 0 stays 0. */
uint64_t clock_unix_time(uint64_t coarse_ms);

/* Growing text; remembers that an allocation failed (then every call is a no-op). */
struct fwd_text {
	char *s;
	size_t len, cap;
	bool oom;
};

__attribute__((format(printf, 2, 3)))
void text_printf(struct fwd_text *t, const char *fmt, ...);
__attribute__((format(printf, 2, 0)))
void text_vprintf(struct fwd_text *t, const char *fmt, va_list ap);
/* A JSON string body: quotes, backslashes and control bytes escaped. */
void text_json_str(struct fwd_text *t, const char *s);
/* The text (never NULL unless out of memory: then it is freed and NULL). */
char *text_take(struct fwd_text *t);
/*
 * The LEN bytes of IN into OUT (OUTLEN >= 1, always terminated), each byte
 * that PLAIN refuses as \xHH, cut before a byte whose form does not fit:
 * the one escaped form of log lines (log_escape()) and diagnostics. Returns
 * the length written.
 */
size_t hex_escape(char *out, size_t outlen, const char *in, size_t len,
		  bool (*plain)(unsigned char c));

#endif
