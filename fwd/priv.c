// SPDX-License-Identifier: MIT
/*
 * priv.c - capability drop (libcap-ng), no_new_privs and the seccomp
 * allow-list (libseccomp) of the running daemon; see include/fwd/priv.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include <cap-ng.h>
#include <seccomp.h>

#include "fwd/priv.h"

/*
 * Every system call the daemon makes after start-up, found with `strace -f -c`
 * of a full run (start, traffic, reload with changed hooks, stats, SIGUSR1,
 * SIGUSR2, metrics, stop), plus what the iptables-restore child (nf_tables
 * flavour, or legacy with its raw socket) makes: the filter is inherited
 * across fork and execve. Names unknown to this kernel's table are skipped.
 */
static const char *const allowed[] = {
	/* memory, threads, time */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex",
	"set_robust_list", "get_robust_list", "rseq", "membarrier", "sched_yield",
	"sched_getaffinity", "sched_setaffinity", "clock_gettime", "clock_nanosleep",
	"nanosleep", "gettimeofday", "time", "getrandom", "restart_syscall",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "tgkill", "tkill",
	"clone", "clone3", "exit", "exit_group", "set_tid_address", "gettid", "getpid",
	"getppid", "prlimit64", "arch_prctl", "uname", "sysinfo", "getuid", "geteuid",
	"getpriority", "setpriority",	/* the logger lowers its own; raising needs CAP_SYS_NICE */
	"getgid", "getegid", "getresuid", "getresgid", "getgroups", "capget", "prctl",
	/* files */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "open", "openat",
	"close", "close_range", "lseek", "fstat", "stat", "lstat", "newfstatat", "statx",
	"fstatfs", "statfs", "fcntl", "ioctl", "access", "faccessat", "faccessat2",
	"readlink", "readlinkat", "getdents64", "getcwd", "rename", "renameat",
	"renameat2", "unlink", "unlinkat", "mkdir", "mkdirat", "chmod", "fchmod",
	"fchmodat", "flock", "dup", "dup2", "dup3", "pipe", "pipe2", "fsync", "fdatasync",
	"ftruncate", "umask", "chdir", "memfd_create",	/* the hooks' ruleset text */
	/* poll and signals */
	"poll", "ppoll", "select", "pselect6", "epoll_create1", "epoll_ctl", "epoll_wait",
	"epoll_pwait", "signalfd4", "eventfd2", "kill",
	/* sockets: netlink (NFQUEUE, rtnetlink, nf_tables), unix (control, syslog,
	 * sd_notify), inet (iptables-legacy's sockopts) */
	"socket", "bind", "connect", "listen", "accept", "accept4", "getsockname",
	"getpeername", "setsockopt", "getsockopt", "sendto", "sendmsg", "sendmmsg",
	"recvfrom", "recvmsg", "recvmmsg", "shutdown", "socketpair",
	/* the hooks' iptables-restore child */
	"fork", "vfork", "execve", "execveat", "wait4", "waitid",
};

static int drop_caps(char *err, size_t errlen)
{
	capng_select_t sets = CAPNG_SELECT_BOTH;
	int rc;

	/*
	 * The bounding set too, where fwd may change it (CAP_SETPCAP: root
	 * started by hand). Under the unit, CapabilityBoundingSet= has cut it
	 * to these two already and holds no CAP_SETPCAP, and libcap-ng would
	 * log a warning at every start for the drop it cannot make. Either
	 * way no_new_privs, set next, keeps an exec'd iptables-restore from
	 * gaining more than fwd's permitted set.
	 */
	if (capng_get_caps_process() == 0 && !capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP))
		sets = CAPNG_SELECT_CAPS;
	capng_clear(CAPNG_SELECT_BOTH);
	/*
	 * CAP_NET_RAW too: root's execve of iptables-restore gets the bounding
	 * set, iptables-legacy opens a raw socket for its sockopts, and the
	 * workers' reject answers go out on raw sockets (opened before this).
	 */
	rc = capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
			   CAP_NET_ADMIN, CAP_NET_RAW, -1);
	if (!rc)
		rc = capng_apply(sets);
	if (rc) {
		snprintf(err, errlen, "cannot drop capabilities: capng_apply returned %d", rc);
		return -EPERM;
	}
	return 0;
}

static int load_filter(char *err, size_t errlen)
{
	/*
	 * EPERM rather than killing: a forgotten call then fails where the
	 * caller already handles errors (a reload, a control request) instead
	 * of taking the gateway down; systemd's filter answers EPERM too.
	 */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int rc;

	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return -ENOMEM;
	}
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc) {
			snprintf(err, errlen, "seccomp: cannot allow '%s': %s", allowed[i],
				 strerror(-rc));
			seccomp_release(ctx);
			return rc;
		}
	}
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc)
		snprintf(err, errlen, "seccomp: cannot load the filter: %s", strerror(-rc));
	return rc;
}

/*
 * LeakSanitizer inspects the process at exit from a ptrace-attached clone,
 * which the allow-list (rightly) forbids: a sanitizer build keeps the
 * capability drop and skips the filter, so its leak report still works.
 */
#if defined(__SANITIZE_ADDRESS__)
#define FWD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FWD_SANITIZED 1
#endif
#endif
#ifndef FWD_SANITIZED
#define FWD_SANITIZED 0
#endif

int priv_drop(bool no_seccomp, char *err, size_t errlen)
{
	int rc = drop_caps(err, errlen);

	if (rc)
		return rc;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		snprintf(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return rc;
	}
	return no_seccomp || FWD_SANITIZED ? 0 : load_filter(err, errlen);
}
