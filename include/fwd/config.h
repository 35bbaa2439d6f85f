/* SPDX-License-Identifier: MIT */
/*
 * config.h - the checked form of a rules file (DESIGN.md section 3).
 *
 * config_load() reads a YAML rules file with libyaml and returns a complete,
 * caller-owned struct fwd_config, or NULL with every problem recorded in a
 * struct fwd_diags as "FILE:LINE:COLUMN: error: TEXT". Nothing here runs on
 * the packet path. Every match field is normalised to sorted, disjoint,
 * inclusive ranges, so negation, lists and $sets are gone after loading:
 * the compiler and the oracle only ever see plain sets.
 */
#ifndef FWD_CONFIG_H
#define FWD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 fwd_u128;

#define FWD_NAME_MAX	64	/* rule and set names, bytes without NUL */
/* The longest a dynamic set holds a member: set, knock and block timeouts. */
#define FWD_DYN_TIMEOUT_MAX_MS	(7ull * 86400 * 1000)
#define FWD_IFNAMSIZ	16	/* as IFNAMSIZ, with the NUL */
#define FWD_NOPORT	65536u	/* port value of a packet that carries no ports */

/* Where a node stands in the rules file; 1-based, as editors count. */
struct fwd_pos {
	uint32_t line;
	uint32_t col;
};

/* One diagnostic: where, what kind, and its line in fwd_diags.text. */
struct fwd_diag {
	struct fwd_pos pos;	/* line 0: about the file as a whole */
	bool warning;
	size_t off, len;	/* "FILE:L:C: error: ...\n" at text + off */
};

/*
 * Diagnostics, as records and as text. They are found section by section
 * (and the policy tests run last); diags_sort() puts both in file order,
 * the way compilers print them, once the whole load is done.
 */
struct fwd_diags {
	const char *file;	/* name printed in front of each message */
	/*
	 * The rules file whose directory a relative set-file path is taken
	 * from; NULL: FILE. `fwd apply` checks NEWFILE where the daemon will
	 * read it, as LIVEFILE, so that both load the same set files.
	 */
	const char *base;
	unsigned errors;
	unsigned warnings;
	char *text;		/* "FILE:L:C: error: ...\n" lines, NUL-terminated */
	size_t len, cap;
	struct fwd_diag *rec;
	size_t nrec, caprec;
};

void diags_init(struct fwd_diags *d, const char *file);
void diags_free(struct fwd_diags *d);
__attribute__((format(printf, 3, 4)))
void diag_error(struct fwd_diags *d, struct fwd_pos pos, const char *fmt, ...);
/*
 * IN as one line of a diagnostic shows it (control bytes, DEL and the
 * backslash as \xHH) into OUT: for errors printed outside fwd_diags.
 */
size_t diag_escape(char *out, size_t outlen, const char *in);
__attribute__((format(printf, 3, 4)))
void diag_warning(struct fwd_diags *d, struct fwd_pos pos, const char *fmt, ...);
/*
 * An error in another file the rules file names (a set's file): printed as
 * FILE:POS, sorted with the rules file's own messages as if it were at AT.
 */
__attribute__((format(printf, 5, 6)))
void diag_error_in(struct fwd_diags *d, struct fwd_pos at, const char *file,
		   struct fwd_pos pos, const char *fmt, ...);
/* Sort the records by line, column, then the order found, and the text with them. */
void diags_sort(struct fwd_diags *d);
/* "FILE: note: TEXT": neither an error nor a warning. */
__attribute__((format(printf, 3, 4)))
void diag_note(struct fwd_diags *d, struct fwd_pos pos, const char *fmt, ...);

/* Inclusive ranges. A set with n == 0 matches nothing. */
struct fwd_prange {
	uint32_t lo, hi;	/* 0..65535 */
};
struct fwd_portset {
	uint32_t n;
	struct fwd_prange *r;
};

struct fwd_a4range {
	uint32_t lo, hi;	/* host byte order */
};
struct fwd_a6range {
	fwd_u128 lo, hi;	/* host order: bit 127 is the first bit on the wire */
};
struct fwd_addrset {
	uint32_t n4, n6;
	struct fwd_a4range *v4;
	struct fwd_a6range *v6;
};

/* One element of `in:`: "eth0" (exact), "eth+" (prefix "eth"), "!x" (not x). */
struct fwd_ifpat {
	char name[FWD_IFNAMSIZ];
	bool prefix;
	bool neg;
};
struct fwd_ifset {
	uint32_t n;
	struct fwd_ifpat *p;	/* matches when any element matches */
};

enum fwd_action {
	FWD_ALLOW,
	FWD_DROP,
	FWD_FORWARD,
	FWD_REJECT,	/* dropped; fwd answers it itself (fwd/reject.c) */
};

/* Bits of fwd_rule.present: which match fields the rule names. */
enum {
	FWD_F_PROTO = 1u << 0,
	FWD_F_SRC = 1u << 1,
	FWD_F_DST = 1u << 2,
	FWD_F_SPORT = 1u << 3,
	FWD_F_DPORT = 1u << 4,
	FWD_F_IN = 1u << 5,
	FWD_F_ICMP = 1u << 6,	/* `icmp_type:`, held in sport above the ports (fwd/icmp.h) */
};

/*
 * `to:` of a forward rule. port == 0 keeps the packet's destination port.
 * The address first: 32 bytes, not 48, in every rule and table entry.
 */
struct fwd_target {
	fwd_u128 addr;		/* host order, as the address sets */
	uint16_t port;
	uint8_t family;		/* 4 or 6 */
};

enum fwd_log {
	FWD_LOG_INHERIT = -1,
	FWD_LOG_NO = 0,
	FWD_LOG_YES = 1,
};

/* A rule's `limit: {rate: N/DUR, burst: B, per: src}` and `on_exceed:`. */
#define FWD_LIMIT_SOURCES	16384	/* sources tracked per limited rule */
struct fwd_limit_conf {
	uint32_t count, per_ms;		/* refill: COUNT tokens every PER_MS */
	uint32_t burst;			/* bucket size */
	int add_set;			/* on_exceed: {add: SET}: its index; -1: drop only */
	uint32_t add_timeout_ms;	/* 0: the set's own timeout */
};

#define FWD_PROTO_BYTES	32	/* a bitmap of the 256 IP protocol numbers */

/*
 * One rule: 152 bytes on 64-bit, so that 100,000 of them take 15 MiB while the
 * compiler reads them. The name is in fwd_config.rule_names; the lists, the
 * target and the protocol bitmap in fwd_config.rule_mem.
 */
struct fwd_rule {
	const char *name;		/* "" when the rule has none (an error) */
	struct fwd_pos pos;		/* of the rule's `- ` item */
	uint32_t present;		/* FWD_F_* */
	enum fwd_action action;
	const uint8_t *protos;		/* FWD_PROTO_BYTES: a bitmap of IP protocol numbers,
					 * all ones if absent; in c->rule_mem, shared */
	struct fwd_addrset src, dst;	/* meaningful when present */
	struct fwd_portset sport, dport;	/* sport: with FWD_F_ICMP, ICMP values */
	struct fwd_ifset in;
	enum fwd_log log;
	int dyn_src;			/* `src: $SET` of a dynamic set: its index, else -1 */
	struct fwd_target *to;		/* FWD_FORWARD only, else NULL */
	struct fwd_limit_conf *limit;	/* `limit:` per source, or NULL */
};

enum fwd_logmode {
	FWD_LOGMODE_NONE,
	FWD_LOGMODE_DROPS,
	FWD_LOGMODE_ALL,
};

/* One entry of `tests:`. */
struct fwd_test {
	struct fwd_pos pos;
	char *packet;		/* "tcp 203.0.113.9:40000 198.51.100.7:22 [in=eth0]" */
	char *expect;		/* "drop", "allow ssh-admins", "forward to=1.2.3.4:80" */
};

enum fwd_inspect {
	FWD_INSPECT_NEW,	/* only conntrack NEW is queued (default) */
	FWD_INSPECT_EVERY,	/* every packet is queued */
};
enum fwd_fail {
	FWD_FAIL_CLOSED,	/* queued packets are dropped while fwd is down */
	FWD_FAIL_OPEN,
};
/*
 * daemon: rpfilter: does a new packet's source route back through the
 * interface it came in on? (fwd's hooks drop it before the queue if not.)
 */
enum fwd_rpfilter {
	FWD_RPF_OFF,		/* no check (the default) */
	FWD_RPF_STRICT,		/* the route back leaves by the input interface */
	FWD_RPF_LOOSE,		/* some route back exists */
};
enum fwd_logsink {
	FWD_SINK_DEFAULT,	/* syslog, or stderr with --foreground */
	FWD_SINK_SYSLOG,
	FWD_SINK_STDERR,
	FWD_SINK_FILE,
};
enum fwd_logfmt {
	FWD_FMT_KV,
	FWD_FMT_JSON,
};

/*
 * `daemon: ha:` - the HA pair's own traffic (packaging/ha/), passed in
 * fwd's hooks before the queue, whatever the rules say: keepalived's VRRP
 * adverts and conntrackd's state sync. config_parse() turns both on, the
 * sync on FWD_HA_SYNC_PORT from any interface; the file may narrow the sync
 * to one interface, move its port, or turn either off.
 */
#define FWD_HA_SYNC_PORT	3780	/* conntrackd's default Port / Group */
struct fwd_ha {
	bool vrrp;			/* IP protocol 112 to 224.0.0.18 or ff02::12 */
	bool sync;			/* UDP to sync_port */
	uint16_t sync_port;
	struct fwd_ifpat sync_in;	/* name "" and no prefix: any interface */
};

/* The `daemon:` section. Zero/NULL fields mean "not given". */
struct fwd_daemon {
	uint32_t queues;		/* 0: one per CPU */
	uint32_t queue_num;		/* first queue number */
	bool queue_num_set;
	enum fwd_inspect inspect;
	enum fwd_fail fail;
	enum fwd_rpfilter rpfilter;
	bool bridged_pass;		/* bridged: pass (else judge, the default) */
	bool nd_rules;			/* neighbor_discovery: rules (else accepted in the hook) */
	struct fwd_pos nd_pos;		/* of that key, for fwd check's warning */
	bool dhcpv6_rules;		/* dhcpv6_client: rules (else accepted in the hook) */
	bool no_nat_loopback;		/* nat_loopback: off (FWD-HAIRPIN left empty) */
	enum fwd_logsink log_sink;
	enum fwd_logfmt log_format;
	char *log_file;			/* FWD_SINK_FILE */
	uint32_t log_rate;		/* events per second per rule; 0: default */
	uint32_t log_burst;
	char *metrics_file;
	uint32_t metrics_interval;	/* seconds */
	struct fwd_ha ha;
	bool no_early_drop;		/* early_drop: off (fwd/early.c) */
	bool no_shed;			/* shed: off (fwd/gate.c) */
};

/* A `dynamic:` set: members added at run time, each for a time. */
#define FWD_DYNSETS_MAX	16
struct fwd_dynset_conf {
	char name[FWD_NAME_MAX + 1];
	struct fwd_pos pos;
	uint32_t timeout_ms;		/* default lifetime of a member */
	uint32_t max;			/* members at most (memory is bounded by it) */
};

/* A `knock:` sequence: the ports, in order, within the window, open a door. */
#define FWD_KNOCK_STEPS_MAX	8
struct fwd_knock_step {
	uint8_t proto;			/* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t port;
};
struct fwd_knock_conf {
	char name[FWD_NAME_MAX + 1];
	struct fwd_pos pos;
	uint32_t nsteps;
	struct fwd_knock_step step[FWD_KNOCK_STEPS_MAX];
	uint32_t window_ms;		/* from the first knock to the last */
	int set;			/* index in fwd_config.dynsets */
	struct fwd_knock_step open;	/* what the door opens; port 0: everything */
	uint32_t timeout_ms;		/* how long it stays open */
};
/* `scan:` detection: more than PORTS distinct destination ports within WINDOW. */
#define FWD_SCAN_PORTS_MAX	64
struct fwd_scan_conf {
	bool on;
	struct fwd_pos pos;
	uint32_t ports;
	uint32_t window_ms;
	int set;			/* block: set, index in fwd_config.dynsets */
	uint32_t timeout_ms;		/* block: timeout (0: the set's own) */
	uint32_t max;			/* sources tracked; the table's bound */
	struct fwd_addrset ignore;	/* never counted */
};
#define FWD_KNOCKS_MAX		16
#define FWD_KNOCK_PROGRESS_MAX	65536	/* sources with a sequence under way */
#define FWD_KNOCK_SLACK_MS	50	/* how long a step that came early waits for those before it */

struct fwd_crowdsec_conf;	/* include/fwd/crowdsec.h */
struct fwd_chunk;		/* fwd/rvalue.c */

struct fwd_config {
	enum fwd_action default_action;	/* FWD_ALLOW or FWD_DROP */
	enum fwd_action malformed_action;	/* FWD_ALLOW or FWD_DROP; default drop */
	enum fwd_logmode log;
	uint32_t nrules;
	struct fwd_rule *rules;
	char *rule_names;		/* the rules' names, end to end */
	struct fwd_chunk *rule_mem;	/* their lists, targets and protocol bitmaps */
	uint32_t ntests;
	struct fwd_test *tests;
	struct fwd_daemon daemon;
	uint32_t ndynsets;
	struct fwd_dynset_conf *dynsets;
	uint32_t nknocks;
	struct fwd_knock_conf *knocks;
	struct fwd_scan_conf scan;
	struct fwd_crowdsec_conf *crowdsec;	/* `crowdsec:`, or NULL */
	uint32_t left_rules, left_tests;	/* left out by config_load_partial() */
};

/*
 * Read and check PATH. On success returns the config (d->errors == 0; warnings
 * may be recorded). On failure returns NULL with d->errors > 0. Never reads
 * more than FWD_CONFIG_MAX bytes.
 */
#define FWD_CONFIG_MAX (16u << 20)
struct fwd_config *config_load(const char *path, struct fwd_diags *d);
/* The same from memory; d->file names the input in messages. */
struct fwd_config *config_parse(const char *buf, size_t len, struct fwd_diags *d);
void config_free(struct fwd_config *c);
/*
 * Free C's rules and leave it none, once they are compiled and their other
 * readers are done: the rest of C (the daemon's sections, the policy tests,
 * which run on the compiled table) stays.
 */
void config_drop_rules(struct fwd_config *c);
/*
 * For `fwd check` (fwd/ruleload.c): as config_load() and config_parse(),
 * but a file with errors still gives a config when its YAML could be read,
 * with each rule that has an error (or uses a set that has one) left out,
 * and each test that has an error or names a rule left out; a note says
 * so. The shadow analysis and the policy tests then run on what loaded.
 */
struct fwd_config *config_load_partial(const char *path, struct fwd_diags *d);
struct fwd_config *config_parse_partial(const char *buf, size_t len, struct fwd_diags *d);

/*
 * Names by hash (fwd/nameidx.c), room for N. The index holds numbers only:
 * NAME(ARG, I) is the name of entry I, which must outlive it. nameidx_add()
 * returns the index of an earlier entry named like I, else records I and
 * returns -1 (also when init failed); nameidx_find() the index of NAME, or -1.
 */
struct fwd_nameidx {
	uint32_t *tab;		/* index + 1, 0 = empty */
	uint32_t mask;
	const char *(*name)(const void *arg, uint32_t i);
	const void *arg;
};
int nameidx_init(struct fwd_nameidx *x, uint32_t n,
		 const char *(*name)(const void *arg, uint32_t i), const void *arg);
long nameidx_add(struct fwd_nameidx *x, uint32_t i);
long nameidx_find(const struct fwd_nameidx *x, const char *name);
void nameidx_free(struct fwd_nameidx *x);

/*
 * An address set's file (`sets: {NAME: {file: PATH}}`, fwd/setfile.c): one
 * address or prefix per line, blank lines, comments from `#` or `;`. Into
 * OUT sorted and merged (caller frees v4, v6); false with the errors at
 * PATH:LINE:COL in D, sorted there with the rules file's at AT (where the
 * file is named). Never reads a file above FWD_SETFILE_MAX bytes.
 */
#define FWD_SETFILE_MAX (256u << 20)
bool setfile_load(const char *path, struct fwd_pos at, struct fwd_addrset *out,
		  struct fwd_diags *d);
/* PATH as named in RULES_FILE: a relative one is relative to its directory. Malloc'd. */
char *setfile_path(const char *rules_file, const char *path);

/* Evaluate a rule's `in:` against an interface name ("" when unknown). */
bool ifset_match(const struct fwd_ifset *s, const char *name);

#endif
