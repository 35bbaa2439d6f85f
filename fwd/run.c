// SPDX-License-Identifier: MIT
/*
 * run.c - `fwd run`: load the rules, install the hooks, start the logger,
 * the workers and the control socket, then wait on signals (signalfd: no
 * work in signal handlers) and link changes until told to stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <urcu-qsbr.h>

#include "fwd/bridged.h"
#include "fwd/bypass.h"
#include "fwd/cmd.h"
#include "fwd/control.h"
#include "fwd/crowdsec.h"
#include "fwd/gateway.h"
#include "fwd/gate.h"
#include "fwd/hooks.h"
#include "fwd/instance.h"
#include "fwd/keep.h"
#include "fwd/live.h"
#include "fwd/log.h"
#include "fwd/metrics.h"
#include "fwd/nftwatch.h"
#include "fwd/priv.h"
#include "fwd/queue.h"
#include "fwd/recheck.h"
#include "fwd/stats.h"
#include "fwd/suppress.h"
#include "fwd/value.h"

#define RUN_USAGE "fwd run [-c FILE] [--foreground] [--queues N] [--queue-num BASE] " \
		  "[--socket PATH] [--pidfile PATH] [--state-file PATH] [--no-hooks] [--no-seccomp]"
#define LOG_RING_EVENTS	4096

struct run_opts {
	const char *config;
	const char *socket;
	const char *pidfile;
	const char *state_file;	/* the dynamic sets across a restart (fwd/keep.c) */
	long queues;		/* -1: not given */
	long queue_num;
	bool foreground;
	bool no_hooks;
	bool no_seccomp;
};

static const struct option run_longopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "foreground", no_argument, NULL, 'f' },
	{ "queues", required_argument, NULL, 'q' },
	{ "queue-num", required_argument, NULL, 'n' },
	{ "socket", required_argument, NULL, 's' },
	{ "pidfile", required_argument, NULL, 'p' },
	{ "state-file", required_argument, NULL, 'k' },
	{ "no-hooks", no_argument, NULL, 'H' },
	{ "no-seccomp", no_argument, NULL, 'S' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static bool parse_num(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > max)
		return false;
	*out = v;
	return true;
}

/* Returns -1 to go on, else the exit code. */
static int parse_opts(int argc, char **argv, struct run_opts *o)
{
	int c;

	*o = (struct run_opts){ .config = "/etc/fwd/rules.yaml", .socket = FWD_SOCKET_DEFAULT,
				.queues = -1, .queue_num = -1 };
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", run_longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'f': o->foreground = true; break;
		case 's': o->socket = optarg; break;
		case 'p': o->pidfile = optarg; break;
		case 'k': o->state_file = optarg; break;
		case 'H': o->no_hooks = true; break;
		case 'S': o->no_seccomp = true; break;
		case 'q':
			if (!parse_num(optarg, 1024, &o->queues) || !o->queues) {
				fprintf(stderr, "fwd: --queues '%s': expected 1..1024\n", optarg);
				return 2;
			}
			break;
		case 'n':
			if (!parse_num(optarg, 65535, &o->queue_num)) {
				fprintf(stderr, "fwd: --queue-num '%s': expected 0..65535\n", optarg);
				return 2;
			}
			break;
		case 'h':
			printf("usage: %s\n", RUN_USAGE);
			return 0;
		default:
			fprintf(stderr, "usage: %s\n", RUN_USAGE);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "fwd: unexpected argument '%s'; usage: %s\n", argv[optind], RUN_USAGE);
		return 2;
	}
	return -1;
}

/* ---- sd_notify, without libsystemd --------------------------------------- */

static void notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;
	int fd;

	if (!path || (*path != '/' && *path != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	len = strlen(path);
	memcpy(sa.sun_path, path, len);
	if (*path == '@')
		sa.sun_path[0] = '\0';	/* abstract namespace */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	close(fd);
}

/* Half of WATCHDOG_USEC in ms, or -1 when systemd wants no keep-alive. */
static int watchdog_ms(void)
{
	const char *s = getenv("WATCHDOG_USEC");
	unsigned long long us;

	if (!s || sscanf(s, "%llu", &us) != 1 || !us)
		return -1;
	us /= 2000;
	return us ? (us > 1000000 ? 1000000 : (int)us) : 1;
}

/* ---- start-up ------------------------------------------------------------ */

/* A counter a warning is logged for when it grows: its value then, and when. */
struct grew {
	uint64_t logged, at_ms;
};

struct daemon {
	struct fwd_state st;
	struct run_opts o;
	bool hooks_installed;
	bool keep_hooks;	/* SIGQUIT: stopping for a restart, the hooks stay */
	bool log_started;
	bool pidfile_written;	/* only then is the pidfile ours to remove */
	unsigned opened;	/* workers whose queue is bound */
	uint64_t metrics_next_ms;	/* monotonic; 0: write at once */
	int metrics_err;		/* last write's error, logged once */
	uint64_t sweep_next_ms;		/* next suppress_sweep(), monotonic */
	uint64_t keep_next_ms;		/* next look at the kept sets (keep_tick()) */
	uint32_t keep_gen;		/* the table the state file was written from; 0: none */
	int keep_err;			/* the last write's error, logged once */
	uint64_t hooks_next_ms;		/* next look at the hooks (hooks_tick()) */
	uint64_t hooks_last_ms;		/* the last look */
	int hooks_err;			/* the last look's error, logged once */
	bool preceded_said;		/* the last look saw a rule before fwd's jump */
	struct grew looped, unseen, errors;	/* counter_warns()'s last lines */
	int link_fd;			/* link changes (link_open()); -errno: none */
	int nft_fd;			/* nf_tables events (nftwatch_open()); < 0: none */
};

static unsigned default_queues(const struct fwd_config *c, const struct run_opts *o)
{
	long n;

	if (o->queues > 0)
		return (unsigned)o->queues;
	if (c->daemon.queues)
		return c->daemon.queues;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* Print what --no-hooks leaves to the operator, the early drops of C with it. */
static int print_hooks(const struct fwd_hooks_conf *hc0, const struct fwd_ruleset *rs,
		       const struct fwd_config *c)
{
	static const int families[] = { 4, 6 };
	struct fwd_hooks_conf hcv = *hc0, *hc = &hcv;
	struct fwd_early *early = early_build(c);
	int rc = -1;

	hcv.early = early;
	hcv.recheck = dyn_config_blocks(c) || ruleset_blocks_src(rs);
	hooks_hairpin_scan();
	for (size_t i = 0; i < 2; i++) {
		size_t cap = 1 << 16;
		char *buf = NULL;
		int n = early ? -ENOSPC : -ENOMEM;

		while (n == -ENOSPC && cap <= (1u << 28)) {
			free(buf);
			buf = malloc(cap);
			n = buf ? hooks_render(families[i], hc, rs, buf, cap) : -ENOMEM;
			cap *= 4;
		}
		if (n < 0) {
			fprintf(stderr, "fwd: cannot render the IPv%d hooks: %s\n", families[i],
				strerror(-n));
			free(buf);
			goto out;
		}
		printf("# %s\n", families[i] == 4 ? "iptables-restore --noflush" :
		       "ip6tables-restore --noflush");
		fwrite(buf, 1, (size_t)n, stdout);
		free(buf);
	}
	if (hc->bridged_pass)
		bridged_print(stdout);
	fflush(stdout);
	rc = 0;
out:
	early_free(early);
	return rc;
}

static int load(struct daemon *dm, struct fwd_config **cp, struct fwd_ruleset **rsp)
{
	struct fwd_diags d;
	int e;

	diags_init(&d, dm->o.config);
	e = ruleset_load(dm->o.config, FWD_LOAD_TESTS, &d, cp, rsp);
	if (d.text && d.len)
		fputs(d.text, stderr);
	diags_free(&d);
	return e ? -1 : 0;
}

static int open_queues(struct daemon *dm, enum fwd_fail fail)
{
	struct fwd_state *st = &dm->st;
	char err[256];

	st->workers = calloc(st->nworkers, sizeof(*st->workers));
	if (!st->workers)
		return -1;
	for (unsigned i = 0; i < st->nworkers; i++) {
		struct fwd_worker *w = &st->workers[i];

		w->id = i;
		w->queue = (uint16_t)(st->queue_base + i);
		w->st = st;
		if (queue_open(w, fail, err, sizeof(err)) < 0) {
			fprintf(stderr, "fwd: %s\n", err);
			return -1;
		}
		dm->opened = i + 1;
	}
	return 0;
}

static int start_threads(struct daemon *dm)
{
	struct fwd_state *st = &dm->st;
	int e = log_start(st->nworkers, LOG_RING_EVENTS);

	if (e) {
		fprintf(stderr, "fwd: cannot start the logger: %s\n", strerror(-e));
		return -1;
	}
	dm->log_started = true;
	for (unsigned i = 0; i < st->nworkers; i++) {
		st->workers[i].ring = log_ring(i);
		e = queue_start(&st->workers[i]);
		if (e) {
			fprintf(stderr, "fwd: cannot start worker %u: %s\n", i, strerror(-e));
			return -1;
		}
	}
	return 0;
}

/* Never through a link: PATH may be in a directory others can write. */
static int write_pidfile(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");

	if (!f) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f) ? -errno : 0;
}

static int setup_log(const struct daemon *dm, const struct fwd_config *c)
{
	struct fwd_log_conf lc = {
		.sink = c->daemon.log_sink,
		.fmt = c->daemon.log_format,
		.file = c->daemon.log_file,
		.foreground = dm->o.foreground,
	};
	int e = log_open(&lc);

	if (e)
		fprintf(stderr, "fwd: cannot open the log '%s': %s\n",
			c->daemon.log_file ? c->daemon.log_file : "", strerror(-e));
	return e;
}

static int start_kernel_side(struct daemon *dm, const struct fwd_config *c)
{
	struct fwd_state *st = &dm->st;
	char err[512];
	int e;

	/* Before anything another instance could own: socket, queues, chains. */
	if (!st->no_hooks && instance_claim(dm->o.socket, err, sizeof(err))) {
		fprintf(stderr, "fwd: %s\n", err);
		return -1;
	}
	e = control_start(st, dm->o.socket, err, sizeof(err));
	if (e) {
		fprintf(stderr, "fwd: %s\n", err);
		return -1;
	}
	if (open_queues(dm, c->daemon.fail))
		return -1;
	if (!st->no_hooks) {
		/*
		 * Ours to remove from the first try: a failed install can leave
		 * part of them (a restore commits table by table, IPv4 before
		 * IPv6), and stop() takes them away.
		 */
		dm->hooks_installed = true;
		e = live_install_hooks(st);
		if (e) {
			fprintf(stderr, "fwd: cannot install the kernel hooks: %s\n", strerror(-e));
			return -1;
		}
		st->repeat = true;	/* FWD-QUEUE now lets FWD_REPEAT_MARK by */
	}
	/* Before any thread: capabilities and filters are per thread, inherited. */
	e = priv_drop(dm->o.no_seccomp, err, sizeof(err));
	if (e) {
		fprintf(stderr, "fwd: %s\n", err);
		return -1;
	}
	if (start_threads(dm))
		return -1;
	e = instance_serve();
	if (e) {
		fprintf(stderr, "fwd: cannot start the instance thread: %s\n", strerror(-e));
		return -1;
	}
	e = crowdsec_start(st);
	if (e) {
		fprintf(stderr, "fwd: cannot start the crowdsec thread: %s\n", strerror(-e));
		return -1;
	}
	e = control_serve();
	if (e) {
		fprintf(stderr, "fwd: cannot start the control thread: %s\n", strerror(-e));
		return -1;
	}
	return 0;
}

/*
 * The dynamic sets' members the last fwd left in --state-file, at its stop
 * or as they changed (not those of the CrowdSec set: the LAPI sends its
 * decisions again).
 */
static void restore_sets(struct daemon *dm)
{
	const char *path = dm->o.state_file;
	struct keep_report r;
	int e = keep_load(dm->st.live->dyn, path, &r);

	if (e == -ENOENT)
		return;
	if (e)
		log_warn("state: '%s': %s", path, strerror(-e));
	if (r.bad)
		log_warn("state: %s:%s; %u lines that are not members skipped", path, r.first_bad,
			 r.bad);
	if (!e || r.restored)
		log_info("state: %u members of dynamic sets restored from %s, saved %" PRIu64
			 " s ago (%u expired meanwhile, %u of sets not kept, %u without room)",
			 r.restored, path, r.age_ms / 1000, r.expired, r.skipped, r.refused);
}

static void save_sets(struct daemon *dm)
{
	unsigned n = 0;
	int e = keep_save(dm->st.live->dyn, dm->o.state_file, &n);

	if (e)
		log_warn("state: cannot save the dynamic sets to '%s': %s", dm->o.state_file,
			 strerror(-e));
	else
		log_info("state: %u members of dynamic sets saved to %s", n, dm->o.state_file);
}

/* Everything up to the main loop. Returns 0, or the exit code. */
static int start(struct daemon *dm)
{
	struct fwd_state *st = &dm->st;
	struct fwd_config *c;
	struct fwd_ruleset *rs;
	struct fwd_live *l;
	unsigned nq;
	int rc = 1;

	if (load(dm, &c, &rs))
		return 1;
	nq = default_queues(c, &dm->o);
	st->queue_base = dm->o.queue_num >= 0 ? (uint32_t)dm->o.queue_num :
			 c->daemon.queue_num_set ? c->daemon.queue_num : 0;
	if (st->queue_base + nq > 65536) {
		fprintf(stderr, "fwd: queues %u..%u: past queue 65535\n", st->queue_base,
			st->queue_base + nq - 1);
		goto out_free;
	}
	st->hooks = (struct fwd_hooks_conf){ .queue_base = st->queue_base, .queues = nq,
					     .fail = c->daemon.fail };
	hooks_conf_daemon(&st->hooks, &c->daemon);
	if (st->no_hooks && print_hooks(&st->hooks, rs, c))
		goto out_free;
	if (setup_log(dm, c))
		goto out_free;
	st->nworkers = nq;
	/*
	 * Listening before the first interface map is built: a link that comes
	 * up after it has its event waiting for the main loop, not lost.
	 */
	dm->link_fd = link_open();
	/* Before the hooks go in; the events of fwd's own install bring one look. */
	if (!st->no_hooks && (dm->nft_fd = nftwatch_open()) < 0)
		log_info("hooks: no nf_tables events (%s): fwd looks at its hooks every %d s only",
			 strerror(-dm->nft_fd), FWD_HOOKS_CHECK_MS / 1000);
	l = live_new(rs, c, nq);
	rs = NULL;
	if (!l) {
		fprintf(stderr, "fwd: out of memory\n");
		goto out_free;
	}
	live_publish_first(st, l);
	if (dm->o.state_file)
		restore_sets(dm);
	live_set_metrics(st, c);
	crowdsec_configure(c->crowdsec);
	if (start_kernel_side(dm, c))
		goto out_free;
	log_info("started: %u queues from %u, inspect %s, fail %s", nq, st->queue_base,
		 c->daemon.inspect == FWD_INSPECT_EVERY ? "every-packet" : "new-connections",
		 fail_names[c->daemon.fail]);
	gateway_forwarding_warn(c, "start");
	if (!st->no_hooks)
		bridged_note(c->daemon.bridged_pass, "start");
	if (dm->o.pidfile && !write_pidfile(dm->o.pidfile))
		dm->pidfile_written = true;
	else if (dm->o.pidfile)
		log_warn("cannot write the pidfile '%s': %s", dm->o.pidfile, strerror(errno));
	rc = 0;
out_free:
	ruleset_free(rs);
	config_free(c);
	/* The file's node tree and the compiler's work are gone: give their pages back. */
	malloc_trim(0);
	return rc;
}

/* Undo whatever start() did, in reverse. */
static void stop(struct daemon *dm)
{
	struct fwd_state *st = &dm->st;

	/*
	 * The control thread first: a reload or rollback it has under way
	 * installs the hooks again, and must be over before they go. Then the
	 * hooks: packets stop coming while the workers still answer.
	 */
	control_stop();
	if (dm->hooks_installed && !dm->keep_hooks && hooks_remove())
		log_warn("removing the kernel hooks failed; see 'iptables -t mangle -S'");
	atomic_store(&fwd_queue_stop, true);
	for (unsigned i = 0; i < dm->opened; i++)
		queue_close(&st->workers[i]);
	crowdsec_stop();
	/* Nothing adds members now: no worker, no control or CrowdSec thread. */
	if (dm->o.state_file && st->live && st->live->dyn)
		save_sets(dm);
	if (dm->log_started)
		suppress_sweep(st);
	if (dm->pidfile_written)
		unlink(dm->o.pidfile);
	if (dm->log_started)
		log_stop();
	if (dm->link_fd >= 0)
		close(dm->link_fd);
	if (dm->nft_fd >= 0)
		close(dm->nft_fd);
	free(st->workers);
	free(st->metrics_file);
	st->metrics_file = NULL;
	live_free(st->live);
	st->live = NULL;
	/* Last: the chains are gone, another instance may have the namespace. */
	instance_release();
}

/*
 * The last line. A stop for a restart (SIGQUIT: systemd's RestartKillSignal)
 * says what the hooks it leaves do until the next fwd reads the queues.
 */
static void log_stopped(const struct daemon *dm)
{
	const struct fwd_hooks_conf *hc = &dm->st.hooks;

	if (!dm->keep_hooks || !dm->hooks_installed) {
		log_info("stopped");
		return;
	}
	log_info("stopped for a restart: the hooks stay, and until the next fwd reads queue %u "
		 "the kernel %s %s (fail: %s)", hc->queue_base,
		 hc->fail == FWD_FAIL_OPEN ? "accepts" : "drops",
		 hc->inspect == FWD_INSPECT_EVERY ? "every packet they queue" : "new connections",
		 fail_names[hc->fail]);
}

/* ---- main loop ----------------------------------------------------------- */

static void reload(struct daemon *dm)
{
	struct fwd_diags d;
	char msg[64];

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, clock_mono_us());
	notify(msg);
	diags_init(&d, dm->st.config_path);
	live_reload(&dm->st, &d);
	diags_free(&d);
	notify("READY=1");
}

/* SIGUSR2: the `fwd stats` table to the log sink, one line each. */
static void dump_stats(struct daemon *dm)
{
	char *t = control_stats(&dm->st, true), *line, *save = NULL;

	/* format: json: one object, what `fwd stats --json` prints */
	if (t && log_json_object("stats", t)) {
		free(t);
		return;
	}
	free(t);
	t = control_stats(&dm->st, false);
	if (!t) {
		log_warn("stats: out of memory");
		return;
	}
	log_info("stats:");
	for (line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		log_info("stats: %s", line);
	free(t);
}

/* Returns false when the daemon must stop. */
static bool on_signal(struct daemon *dm, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			reload(dm);
			break;
		case SIGUSR1:
			log_reopen();
			break;
		case SIGUSR2:
			dump_stats(dm);
			break;
		case SIGQUIT:
			dm->keep_hooks = true;
			return false;
		case SIGTERM:
		case SIGINT:
			return false;
		}
	}
	return true;
}

/*
 * Write the metrics file when it is due; returns the ms until the next
 * write, or -1 when there is no file. The path and interval may change on
 * reload (from the control thread too), so they are read under the lock.
 */
static int metrics_tick(struct daemon *dm)
{
	struct fwd_state *st = &dm->st;
	uint64_t now = clock_mono_us() / 1000;
	char *path = NULL;
	uint64_t iv_ms;
	int e;

	pthread_mutex_lock(&st->lock);
	if (st->metrics_file)
		path = strdup(st->metrics_file);
	iv_ms = (uint64_t)st->metrics_interval * 1000;
	pthread_mutex_unlock(&st->lock);
	if (!path)
		return -1;
	if (now >= dm->metrics_next_ms) {
		e = metrics_write(st, path);
		if (e && e != dm->metrics_err)
			log_warn("cannot write the metrics file '%s': %s", path, strerror(-e));
		dm->metrics_err = e;
		dm->metrics_next_ms = now + iv_ms;
	}
	free(path);
	return (int)(dm->metrics_next_ms - now);
}

#define GREW_LOG_MS	60000	/* counter_warns(): one line a minute each at the most */

/* How much N grew since G's last line, if a line is due; else 0. */
static uint64_t grew_by(struct grew *g, uint64_t n, uint64_t now)
{
	uint64_t d = n - g->logged;

	if (n <= g->logged || (g->at_ms && now - g->at_ms < GREW_LOG_MS))
		return 0;
	g->logged = n;
	g->at_ms = now;
	return d;
}

/*
 * Say what came back from a repeat verdict without its mark (queue.c:
 * looped()), what came in on a link fwd had no name for yet (queue.c:
 * judge_unseen()), and the queues' failures (a verdict lost leaves its
 * packets in the kernel's queue until it overflows).
 */
static void counter_warns(struct daemon *dm, uint64_t now)
{
	struct fwd_totals t;
	uint64_t d;

	stats_worker_totals(&dm->st, &t);
	if ((d = grew_by(&dm->looped, t.looped, now)))
		log_warn("%" PRIu64 " packets came back to the queue after fwd allowed them, "
			 "without mark bit 0x%08x (%" PRIu64 " since start): a rule before fwd's "
			 "jump in mangle PREROUTING rewrites the mark (CONNMARK --restore-mark?); fwd "
			 "accepted them, and the rules after its jump did not see them", d,
			 FWD_REPEAT_MARK, t.looped);
	if ((d = grew_by(&dm->unseen, t.unseen_iface, now)))
		log_warn("%" PRIu64 " packets came in on a link fwd had not read the name of yet "
			 "(%" PRIu64 " since start): %s, as fail: %s says; see fwd-rules(5), in", d,
			 t.unseen_iface, dm->st.hooks.fail == FWD_FAIL_OPEN ? "accepted" : "dropped",
			 fail_names[dm->st.hooks.fail]);
	if ((d = grew_by(&dm->errors, t.errors, now)))
		log_warn("%" PRIu64 " failed receives, or verdicts not sent or refused by the "
			 "kernel (%" PRIu64 " since start): packets without a verdict wait in the "
			 "kernel's queue", d, t.errors);
}

/*
 * Summarise suppressed log events, and warn of what counter_warns() watches,
 * when due; returns the ms until the next.
 */
static int sweep_tick(struct daemon *dm)
{
	uint64_t now = clock_mono_ms();

	if (now >= dm->sweep_next_ms) {
		suppress_sweep(&dm->st);
		counter_warns(dm, now);
		dm->sweep_next_ms = now + FWD_SUPPRESS_SWEEP_MS;
	}
	return (int)(dm->sweep_next_ms - now);
}

/*
 * Write --state-file when a kept set changed or a reload replaced the table,
 * FWD_KEEP_MS after the last look at the most (longer after a write that
 * took more than 1/FWD_KEEP_SHARE of that), and remove it when the rules
 * have no dynamic set: a crash, the watchdog's kill or a power cut loses
 * the changes of the last seconds, not every block. The text is made under
 * the lock (a reload frees the table), the file written after it. Returns
 * the ms until the next look, or -1 without a state file.
 */
static int keep_tick(struct daemon *dm)
{
	struct fwd_state *st = &dm->st;
	const char *path = dm->o.state_file;
	uint64_t now = clock_mono_ms(), took;
	bool due, none;
	char *text = NULL;
	unsigned n = 0;
	int e = 0;

	if (!path)
		return -1;
	if (now < dm->keep_next_ms)
		return (int)(dm->keep_next_ms - now);
	dm->keep_next_ms = now + FWD_KEEP_MS;
	pthread_mutex_lock(&st->lock);
	none = !st->live->dyn;
	due = dyn_kept_changed(st->live->dyn) || dm->keep_gen != st->live->gen;
	dm->keep_gen = st->live->gen;
	if (due && !none && !(text = keep_text(st->live->dyn, &n)))
		e = -ENOMEM;
	pthread_mutex_unlock(&st->lock);
	if (!due)
		return FWD_KEEP_MS;
	if (text)
		e = keep_write(path, text);
	else if (none && unlink(path) < 0 && errno != ENOENT)
		e = -errno;
	free(text);
	/* Sets full of a flood's sources: the writes take 1/FWD_KEEP_SHARE of the time at most. */
	took = clock_mono_ms() - now;
	if (took * FWD_KEEP_SHARE > FWD_KEEP_MS)
		dm->keep_next_ms = now + took * FWD_KEEP_SHARE;
	if (e && e != dm->keep_err)
		log_warn("state: cannot write the dynamic sets to '%s': %s; trying again at "
			 "each look (every %d s)", path, strerror(-e), FWD_KEEP_MS / 1000);
	else if (!e && dm->keep_err)
		log_info("state: %u members of dynamic sets written to %s again", n, path);
	dm->keep_err = e;
	if (e)
		dm->keep_gen = 0;	/* again at the next look: no table is generation 0 */
	return (int)(dm->keep_next_ms - clock_mono_ms());
}

/*
 * Tell the workers' loop guards whether a rule comes before fwd's jump in
 * mangle PREROUTING (BEFORE, from hooks_missing(), which returned E; a table
 * it could not read counts as such a rule), and say when what it read
 * changes, naming the rule: an ACCEPT there would pass packets unjudged.
 */
static void note_preceded(struct daemon *dm, int e, const char *before)
{
	char rule[512];
	bool preceded = *before;

	atomic_store_explicit(&dm->st.preceded, preceded || e < 0, memory_order_relaxed);
	if (e < 0 || preceded == dm->preceded_said)
		return;
	dm->preceded_said = preceded;
	if (!preceded) {
		log_info("hooks: fwd's jump is the first rule of mangle PREROUTING again");
		return;
	}
	diag_escape(rule, sizeof(rule), before);
	log_warn("hooks: a rule comes before fwd's jump in mangle PREROUTING (%s): packets it "
		 "ends there are never judged, each packet fwd allows meets it twice, and if it "
		 "rewrites the mark, fwd accepts such a packet on its third pass (see fwd(8), "
		 "KERNEL HOOKS)", rule);
}

/*
 * Another tool that restores or flushes a whole table (netfilter-persistent,
 * iptables-restore without --noflush, iptables -F, nft flush ruleset) takes
 * fwd's hooks with it: without mangle's nothing is judged, without nat's
 * no forward works. Put them back, and say so. Every FWD_HOOKS_CHECK_MS;
 * returns the ms until the next look, or -1 without hooks.
 */
static int hooks_tick(struct daemon *dm)
{
	struct fwd_state *st = &dm->st;
	uint64_t now = clock_mono_ms();
	char what[384], said[512], before[384];
	int e;

	if (!dm->hooks_installed || st->no_hooks)
		return -1;
	if (now < dm->hooks_next_ms)
		return (int)(dm->hooks_next_ms - now);
	dm->hooks_next_ms = now + FWD_HOOKS_CHECK_MS;
	dm->hooks_last_ms = now;
	e = hooks_missing(what, sizeof(what), before, sizeof(before));
	note_preceded(dm, e, before);
	if (e < 0 && e != dm->hooks_err)
		log_warn("hooks: cannot read the tables to see that fwd's hooks are there: %s",
			 strerror(-e));
	dm->hooks_err = e < 0 ? e : 0;
	if (e != 1)
		return FWD_HOOKS_CHECK_MS;
	pthread_mutex_lock(&st->lock);
	e = live_install_hooks(st);
	if (!e)
		st->hooks_restored++;
	pthread_mutex_unlock(&st->lock);
	diag_escape(said, sizeof(said), what);
	log_warn("hooks: %s (another tool restored or flushed the table?); %s", said,
		 e ? "putting fwd's hooks back failed, trying again" : "fwd's hooks are back");
	return FWD_HOOKS_CHECK_MS;
}

/*
 * nf_tables reported a change that may concern fwd's hooks (nftwatch.h):
 * look FWD_HOOKS_SETTLE_MS from now, when the other tool's restore of the
 * other family may be done too, and FWD_HOOKS_GAP_MS after the last look at
 * the soonest, so a tool that keeps changing them costs bounded work.
 */
static void hooks_soon(struct daemon *dm)
{
	uint64_t at = clock_mono_ms() + FWD_HOOKS_SETTLE_MS;

	if (at < dm->hooks_last_ms + FWD_HOOKS_GAP_MS)
		at = dm->hooks_last_ms + FWD_HOOKS_GAP_MS;
	if (at < dm->hooks_next_ms)
		dm->hooks_next_ms = at;
}

static int min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static void main_loop(struct daemon *dm, int sfd)
{
	int link_fd = dm->link_fd, nft_fd = dm->nft_fd;
	int wd = watchdog_ms();
	/* poll() passes over an entry whose fd is negative. */
	struct pollfd p[3] = { { .fd = sfd, .events = POLLIN },
			       { .fd = link_fd, .events = POLLIN },
			       { .fd = nft_fd, .events = POLLIN } };

	if (link_fd < 0)
		log_warn("cannot follow link changes: %s", strerror(-link_fd));
	if (wd > 0)
		notify("WATCHDOG=1");
	for (;;) {
		int to = min_timeout(min_timeout(wd, metrics_tick(dm)), sweep_tick(dm));
		int n;

		to = min_timeout(to, min_timeout(bypass_tick(&dm->st), gate_tick(&dm->st)));
		to = min_timeout(to, min_timeout(recheck_tick(&dm->st), keep_tick(dm)));
		to = min_timeout(to, hooks_tick(dm));
		n = poll(p, 3, to);

		if (n < 0 && errno != EINTR)
			break;
		if (wd > 0)
			notify("WATCHDOG=1");
		if (n <= 0)
			continue;
		if (p[0].revents && !on_signal(dm, sfd))
			break;
		if (p[1].revents)
			link_event(&dm->st, link_fd);
		if (p[2].revents && nftwatch_read(nft_fd))
			hooks_soon(dm);
	}
}

static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIGPIPE);
	/* Blocked before any thread starts, so every thread inherits the mask. */
	if (pthread_sigmask(SIG_BLOCK, set, NULL))
		return -1;
	sigdelset(set, SIGPIPE);
	return signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int cmd_run(int argc, char **argv)
{
	struct daemon dm = { .link_fd = -1, .nft_fd = -1 };
	sigset_t set;
	int rc, sfd;

	rc = parse_opts(argc, argv, &dm.o);
	if (rc >= 0)
		return rc;
	/* An unreadable file is an I/O error (2), as for `fwd check`. */
	if (access(dm.o.config, R_OK)) {
		fprintf(stderr, "fwd run: cannot open '%s': %s\n", dm.o.config, strerror(errno));
		return 2;
	}
	/*
	 * A block of 128 KiB or more is a mapping of its own, unmapped when
	 * freed. glibc's default raises this bound after the first such free,
	 * and a reload's freed tables then stayed in the heap, resident.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	pthread_mutex_init(&dm.st.lock, NULL);
	dm.st.config_path = dm.o.config;
	dm.st.no_hooks = dm.o.no_hooks;
	dm.st.foreground = dm.o.foreground;
	sfd = block_signals(&set);
	if (sfd < 0) {
		fprintf(stderr, "fwd: signalfd: %s\n", strerror(errno));
		return 1;
	}
	rc = start(&dm);
	if (!rc) {
		notify("READY=1");
		main_loop(&dm, sfd);
		notify("STOPPING=1");
	}
	stop(&dm);
	if (!rc)
		log_stopped(&dm);
	log_close();
	close(sfd);
	return rc;
}
