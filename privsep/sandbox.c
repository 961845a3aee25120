/*
 * Privilege drop and seccomp allowlists of the children.
 *
 * sandbox_drop() chroots, drops to the unprivileged user and proves that
 * root cannot come back. The caller then runs whatever setup still needs
 * the unfiltered system and calls sandbox_filter() as its last step before
 * it reads a request: each child gets a libseccomp allowlist whose default
 * action kills the whole process.
 *
 * Each child's filter is a list of groups, and each group is a table of
 * system calls with the action taken and optional argument rules. A call
 * listed with an errno is a harmless probe by a library: failing it keeps
 * the library working without giving the process anything.
 */

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <json-c/json.h>
#include <seccomp.h>

#include "benjid.h"

#ifdef BENJI_SANITIZE
/* Weak, so that a build with UBSan alone links without LeakSanitizer. */
extern void	 __lsan_do_leak_check(void) __attribute__((weak));
extern void	 __sanitizer_symbolize_pc(void *, const char *, char *, size_t)
		    __attribute__((weak));
#endif

static void	 sandbox_prepare_sanitizer(void);

#define SANDBOX_ARGS_MAX	2

/*
 * Placeholder for the process id of the caller, filled in when the filter
 * is loaded. No rule compares an argument with this value otherwise, and
 * a pid on Linux is at most 2^22.
 */
#define SANDBOX_SELF_PID	((scmp_datum_t)UINT64_MAX)

struct sandbox_rule {
	int			 syscall;
	const char		*name;		/* NULL ends a table */
	int			 errnum;	/* 0 allows the call */
	unsigned int		 nargs;
	struct scmp_arg_cmp	 args[SANDBOX_ARGS_MAX];
};

#define ALLOW(call) \
	{ SCMP_SYS(call), #call, 0, 0, { { 0 } } }
#define ALLOW_IF(call, a) \
	{ SCMP_SYS(call), #call, 0, 1, { a } }
#define ALLOW_IF2(call, a, b) \
	{ SCMP_SYS(call), #call, 0, 2, { a, b } }
#define FAIL(call, err) \
	{ SCMP_SYS(call), #call, err, 0, { { 0 } } }
#define FAIL_IF(call, err, a) \
	{ SCMP_SYS(call), #call, err, 1, { a } }
#define TABLE_END \
	{ 0, NULL, 0, 0, { { 0 } } }

#define ARG_EQ(n, value) \
	{ .arg = (n), .op = SCMP_CMP_EQ, .datum_a = (value) }
#define ARG_MASKED_EQ(n, mask, value) \
	{ .arg = (n), .op = SCMP_CMP_MASKED_EQ, .datum_a = (mask), \
	    .datum_b = (value) }

/*
 * Memory: glibc malloc, mmap and mprotect only without PROT_EXEC, and the
 * futex behind glibc's locks.
 */
static const struct sandbox_rule sandbox_memory[] = {
	ALLOW(brk),
	ALLOW_IF(mmap, ARG_MASKED_EQ(2, PROT_EXEC, 0)),
	ALLOW_IF(mprotect, ARG_MASKED_EQ(2, PROT_EXEC, 0)),
	ALLOW(munmap),
	ALLOW(mremap),
	ALLOW(madvise),
	ALLOW(futex),
	TABLE_END
};

/* Time: the vDSO makes these calls when the clock source has no vDSO path. */
static const struct sandbox_rule sandbox_time[] = {
	ALLOW(clock_gettime),
	ALLOW(clock_getres),
	ALLOW(gettimeofday),
	ALLOW(time),
	ALLOW(nanosleep),
	ALLOW(clock_nanosleep),
	TABLE_END
};

/*
 * Event loop: libevent 2.1 with epoll. evbuffer_read() calls ioctl FIONREAD
 * for the number of bytes to read. libevent and libsodium call getrandom.
 */
static const struct sandbox_rule sandbox_event_loop[] = {
	ALLOW(epoll_create1),
	ALLOW(epoll_ctl),
	ALLOW(epoll_wait),
	ALLOW(epoll_pwait),
	ALLOW(eventfd2),
	ALLOW(pipe2),
	ALLOW(read),
	ALLOW(readv),
	ALLOW(write),
	ALLOW(writev),
	ALLOW(close),
	ALLOW_IF(ioctl, ARG_EQ(1, FIONREAD)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_GETFL)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_SETFL)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_GETFD)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_SETFD)),
	ALLOW(getrandom),
	TABLE_END
};

/* IPC: frames and SCM_RIGHTS descriptors on the inherited socketpairs. */
static const struct sandbox_rule sandbox_ipc[] = {
	ALLOW(recvmsg),
	ALLOW(sendmsg),
	TABLE_END
};

/*
 * Signals. tgkill is allowed only for SIGABRT to this process, so that
 * abort() ends with SIGABRT and not with a sandbox violation.
 */
static const struct sandbox_rule sandbox_signals[] = {
	ALLOW(rt_sigaction),
	ALLOW(rt_sigprocmask),
	ALLOW(rt_sigreturn),
	ALLOW(sigaltstack),
	ALLOW(restart_syscall),
	ALLOW_IF2(tgkill, ARG_EQ(0, SANDBOX_SELF_PID), ARG_EQ(2, SIGABRT)),
	TABLE_END
};

/*
 * Logging: dprintf() to stderr seeks and stats the descriptor. For a
 * character device that is no pseudo-terminal, it also calls isatty(),
 * which is ioctl TCGETS.
 */
static const struct sandbox_rule sandbox_logging[] = {
	ALLOW(lseek),
	ALLOW(fstat),
	ALLOW(newfstatat),
	ALLOW_IF(ioctl, ARG_EQ(1, TCGETS)),
	TABLE_END
};

/* Process: ids, the thread name and exit. */
static const struct sandbox_rule sandbox_process[] = {
	ALLOW(getpid),
	ALLOW(gettid),
	ALLOW_IF(prctl, ARG_EQ(0, PR_SET_NAME)),
	ALLOW_IF(prctl, ARG_EQ(0, PR_GET_NAME)),
	ALLOW(exit),
	ALLOW(exit_group),
	TABLE_END
};

/*
 * Sockets of the children that never create one. syslog() sends on the
 * socket that log_init() connected, and only connected sockets may send.
 * When a send fails, glibc syslog() opens a new AF_UNIX socket, so that
 * family fails with EACCES instead of killing the process when syslogd
 * restarts. Every other family kills.
 */
static const struct sandbox_rule sandbox_no_new_sockets[] = {
	FAIL_IF(socket, EACCES, ARG_EQ(0, AF_UNIX)),
	ALLOW_IF(sendto, ARG_EQ(4, 0)),
	TABLE_END
};

/* Network of the http child: connections on the passed listening socket. */
static const struct sandbox_rule sandbox_http_network[] = {
	ALLOW(accept4),
	ALLOW(accept),
	ALLOW(setsockopt),
	ALLOW(getsockopt),
	ALLOW(getsockname),
	ALLOW(getpeername),
	ALLOW(shutdown),
	TABLE_END
};

/*
 * Network of the children that are clients: libcurl and libpq over TCP or
 * unix sockets, glibc DNS over UDP. AF_NETLINK and raw packet sockets
 * kill, so getaddrinfo() must not be called with AI_ADDRCONFIG.
 */
static const struct sandbox_rule sandbox_client_network[] = {
	ALLOW_IF(socket, ARG_EQ(0, AF_INET)),
	ALLOW_IF(socket, ARG_EQ(0, AF_INET6)),
	ALLOW_IF(socket, ARG_EQ(0, AF_UNIX)),
	ALLOW(connect),
	ALLOW(bind),
	ALLOW(poll),
	ALLOW(ppoll),
	ALLOW(sendto),
	ALLOW(recvfrom),
	ALLOW(sendmmsg),
	ALLOW(recvmmsg),
	ALLOW(getsockname),
	ALLOW(getpeername),
	ALLOW(getsockopt),
	ALLOW(setsockopt),
	ALLOW(shutdown),
	TABLE_END
};

/*
 * Threads of the fetcher: the Debian 12 libcurl (7.88, threaded resolver)
 * resolves names in a thread of its own and wakes the multi handle through
 * an AF_UNIX socketpair. clone3 takes its flags in memory that a filter
 * cannot read, so it fails with ENOSYS, glibc 2.36 falls back to clone,
 * and clone must create a thread.
 */
static const struct sandbox_rule sandbox_fetcher_threads[] = {
	FAIL(clone3, ENOSYS),
	ALLOW_IF(clone, ARG_MASKED_EQ(0, CLONE_THREAD, CLONE_THREAD)),
	ALLOW(set_robust_list),
	ALLOW(rseq),
	ALLOW_IF(socketpair, ARG_EQ(0, AF_UNIX)),
	TABLE_END
};

/*
 * Files of the fetcher: glibc, OpenSSL and libcurl probe for files.
 * NOTE: no file opens under this filter, so the CA certificates must be
 * read before it. In an empty chroot glibc finds no /etc/resolv.conf and
 * sends DNS queries to 127.0.0.1.
 */
static const struct sandbox_rule sandbox_fetcher_files[] = {
	FAIL(openat, EACCES),
	TABLE_END
};

/*
 * Files and identity of the db child: libpq looks up the user name and
 * probes for ~/.pgpass and service files.
 */
static const struct sandbox_rule sandbox_db_files[] = {
	FAIL(openat, ENOENT),
	ALLOW(getuid),
	ALLOW(geteuid),
	TABLE_END
};

/* Locked memory of the secrets child: sodium_malloc() and sodium_mlock(). */
static const struct sandbox_rule sandbox_locked_memory[] = {
	ALLOW(mlock),
	ALLOW(munlock),
	TABLE_END
};

#ifdef BENJI_SANITIZE
/*
 * ASan and UBSan runtimes, only in sanitizer builds. Their spin locks
 * yield, and a new thread reads its CPU affinity. A UBSan report reads
 * the executable's name and /proc/self/maps with readlink and open, which
 * glibc never uses on x86_64, and goes on without them.
 */
static const struct sandbox_rule sandbox_sanitizer[] = {
	ALLOW(sched_yield),
	ALLOW(sched_getaffinity),
	FAIL(readlink, EACCES),
	FAIL(open, EACCES),
	TABLE_END
};
#define SANITIZER_RULES		sandbox_sanitizer,
#else
#define SANITIZER_RULES
#endif

/* The filter of each child: the groups above, in the order they appear. */
static const struct sandbox_rule *const sandbox_http[] = {
	sandbox_memory, sandbox_time, sandbox_event_loop, sandbox_ipc,
	sandbox_signals, sandbox_logging, sandbox_process,
	sandbox_no_new_sockets, sandbox_http_network,
	SANITIZER_RULES
	NULL
};

static const struct sandbox_rule *const sandbox_fetcher[] = {
	sandbox_memory, sandbox_time, sandbox_event_loop, sandbox_ipc,
	sandbox_signals, sandbox_logging, sandbox_process,
	sandbox_client_network, sandbox_fetcher_threads, sandbox_fetcher_files,
	SANITIZER_RULES
	NULL
};

static const struct sandbox_rule *const sandbox_db[] = {
	sandbox_memory, sandbox_time, sandbox_event_loop, sandbox_ipc,
	sandbox_signals, sandbox_logging, sandbox_process,
	sandbox_client_network, sandbox_db_files,
	SANITIZER_RULES
	NULL
};

static const struct sandbox_rule *const sandbox_secrets[] = {
	sandbox_memory, sandbox_time, sandbox_event_loop, sandbox_ipc,
	sandbox_signals, sandbox_logging, sandbox_process,
	sandbox_no_new_sockets, sandbox_locked_memory,
	SANITIZER_RULES
	NULL
};

static const struct sandbox_rule *const *const sandbox_policies[PROC_MAX] = {
	[PROC_HTTP] = sandbox_http,
	[PROC_FETCHER] = sandbox_fetcher,
	[PROC_DB] = sandbox_db,
	[PROC_SECRETS] = sandbox_secrets,
};

static void	 sandbox_chroot(const char *);
static void	 sandbox_setid(uid_t, gid_t);
static void	 sandbox_verify_ids(uid_t, gid_t);
static void	 sandbox_limit(void);
static int	 sandbox_add_rule(scmp_filter_ctx, const struct sandbox_rule *);

#ifdef BENJI_SANDBOX_TRAP
static void	 sandbox_trap_handler(int, siginfo_t *, void *);
static int	 sandbox_trap_install(void);
#define SANDBOX_DEFAULT_ACTION	SCMP_ACT_TRAP
#else
#define SANDBOX_DEFAULT_ACTION	SCMP_ACT_KILL_PROCESS
#endif

/*
 * Drops the privileges of a child right after exec. With chroot_dir NULL
 * (benjid started without root) it keeps its directory and ids. The
 * seccomp filter is not loaded here: the caller calls sandbox_filter()
 * once the rest of its setup is done.
 */
void
sandbox_drop(enum procid id, const char *chroot_dir, uid_t uid, gid_t gid)
{
	char	 title[64];

	sandbox_prepare_sanitizer();

	if (chroot_dir != NULL)
		sandbox_chroot(chroot_dir);

	snprintf(title, sizeof(title), "benjid: %s", proc_name(id));
	proctitle_set(title);

	if (chroot_dir != NULL) {
		sandbox_setid(uid, gid);
		sandbox_verify_ids(uid, gid);
	}

	sandbox_limit();
}

/*
 * Rejects a directory that the unprivileged user could change, because
 * the child could then plant files for itself or for its siblings.
 */
static void
sandbox_chroot(const char *dir)
{
	struct stat	 st;

	if (stat(dir, &st) == -1)
		fatal("chroot directory %s", dir);
	if (!S_ISDIR(st.st_mode))
		fatalx("chroot directory %s is not a directory", dir);
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		fatalx("chroot directory %s must be owned by root and not "
		    "writable by group or others", dir);

	if (chroot(dir) == -1)
		fatal("chroot %s", dir);
	if (chdir("/") == -1)
		fatal("chdir / in %s", dir);
}

static void
sandbox_setid(uid_t uid, gid_t gid)
{
	/* The primary gid is enough: no supplementary group at all. */
	if (setgroups(0, NULL) == -1)
		fatal("setgroups to none");
	if (setresgid(gid, gid, gid) == -1)
		fatal("setresgid %u", (unsigned int)gid);
	if (setresuid(uid, uid, uid) == -1)
		fatal("setresuid %u", (unsigned int)uid);
}

/* Proves that the real, effective and saved ids are gone for good. */
static void
sandbox_verify_ids(uid_t uid, gid_t gid)
{
	uid_t	 ruid, euid, suid;
	gid_t	 rgid, egid, sgid, groups[2];
	int	 ngroups;

	if (getresuid(&ruid, &euid, &suid) == -1)
		fatal("getresuid");
	if (ruid != uid || euid != uid || suid != uid)
		fatalx("user ids are %u/%u/%u after setresuid %u",
		    (unsigned int)ruid, (unsigned int)euid,
		    (unsigned int)suid, (unsigned int)uid);

	if (getresgid(&rgid, &egid, &sgid) == -1)
		fatal("getresgid");
	if (rgid != gid || egid != gid || sgid != gid)
		fatalx("group ids are %u/%u/%u after setresgid %u",
		    (unsigned int)rgid, (unsigned int)egid,
		    (unsigned int)sgid, (unsigned int)gid);

	if ((ngroups = getgroups(2, groups)) == -1)
		fatal("getgroups");
	if (ngroups != 0)
		fatalx("%d supplementary groups remain after setgroups",
		    ngroups);

	/* Both succeed when uid or gid is 0, and a child must never be root. */
	if (setresuid(0, 0, 0) != -1)
		fatalx("setresuid 0 succeeded after dropping to uid %u",
		    (unsigned int)uid);
	if (setegid(0) != -1)
		fatalx("setegid 0 succeeded after dropping to gid %u",
		    (unsigned int)gid);
}

/*
 * RLIMIT_NPROC stays: it counts every process of the user, and a limit of
 * 0 would also stop libcurl's resolver thread.
 */
static void
sandbox_limit(void)
{
	struct rlimit	 rl = { 0, 0 };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl PR_SET_DUMPABLE");
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("setrlimit RLIMIT_CORE");
}

/*
 * Loads the seccomp filter of process id. Returns 0, or -1 with errno set
 * after logging what failed.
 */
static void
sandbox_json_seed(void)
{
	struct json_object	*obj;

	obj = json_object_new_object();
	json_object_object_add(obj, "seed", NULL);
	json_object_put(obj);
}

int
sandbox_filter_load(enum procid id)
{
	const struct sandbox_rule *const	*groups;
	const struct sandbox_rule		*rule;
	scmp_filter_ctx				 ctx;
	int					 rc;

	if (id < 0 || id >= PROC_MAX || sandbox_policies[id] == NULL) {
		log_warnx("no seccomp filter for process %d", (int)id);
		errno = EINVAL;
		return -1;
	}

#ifdef BENJI_SANDBOX_TRAP
	if (sandbox_trap_install() == -1)
		return -1;
#endif

	/*
	 * json-c seeds its hash function on the first object with a key,
	 * which may read /dev/urandom: do it before the filter forbids that.
	 */
	sandbox_json_seed();

	if ((ctx = seccomp_init(SANDBOX_DEFAULT_ACTION)) == NULL) {
		log_warnx("seccomp_init failed");
		errno = ENOMEM;
		return -1;
	}
	/*
	 * For a native x86_64 filter, libseccomp 2.5 also sends x32 system
	 * call numbers (bit 30 set) to the bad architecture action.
	 */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SANDBOX_DEFAULT_ACTION)) < 0) {
		log_warnx("seccomp bad architecture action: %s",
		    strerror(-rc));
		goto fail;
	}
	/*
	 * A binary tree of system call numbers instead of a list: every
	 * call of the busy children passes the filter, and most lists are
	 * long.
	 */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) < 0) {
		log_warnx("seccomp filter optimization: %s", strerror(-rc));
		goto fail;
	}

	for (groups = sandbox_policies[id]; *groups != NULL; groups++) {
		for (rule = *groups; rule->name != NULL; rule++) {
			if ((rc = sandbox_add_rule(ctx, rule)) < 0)
				goto fail;
		}
	}

	sandbox_prepare_sanitizer();

	if ((rc = seccomp_load(ctx)) < 0) {
		log_warnx("seccomp_load for %s: %s", proc_name(id),
		    strerror(-rc));
		goto fail;
	}
	seccomp_release(ctx);
	return 0;

 fail:
	seccomp_release(ctx);
	errno = -rc;
	return -1;
}

/* Returns 0 or a negative errno value from libseccomp. */
static int
sandbox_add_rule(scmp_filter_ctx ctx, const struct sandbox_rule *rule)
{
	struct scmp_arg_cmp	 args[SANDBOX_ARGS_MAX];
	uint32_t		 action;
	unsigned int		 i;
	int			 rc;

	for (i = 0; i < rule->nargs; i++) {
		args[i] = rule->args[i];
		if (args[i].datum_a == SANDBOX_SELF_PID)
			args[i].datum_a = (scmp_datum_t)getpid();
	}

	action = rule->errnum == 0 ? SCMP_ACT_ALLOW :
	    SCMP_ACT_ERRNO((uint32_t)rule->errnum);
	rc = seccomp_rule_add_array(ctx, action, rule->syscall, rule->nargs,
	    args);
	if (rc < 0)
		log_warnx("seccomp rule for %s: %s", rule->name, strerror(-rc));
	return rc;
}

/*
 * In sanitizer builds, does now what the runtimes would otherwise do in
 * the chroot or under the filter, where it fails. LeakSanitizer's check at
 * exit reads /proc/<pid>/task and needs clone and ptrace, so it runs now
 * and not at exit. The symbolizer reads /proc/self/exe and the libraries
 * on its first report, so it loads them now. Only the first call acts.
 */
static void
sandbox_prepare_sanitizer(void)
{
#ifdef BENJI_SANITIZE
	char	 buf[256];

	if (__lsan_do_leak_check != NULL)
		__lsan_do_leak_check();
	if (__sanitizer_symbolize_pc != NULL)
		__sanitizer_symbolize_pc(__builtin_return_address(0), "%F",
		    buf, sizeof(buf));
#endif
}

/*
 * Loads the seccomp filter of process id, fatal on failure. A build with
 * -DBENJI_PROFILE loads no filter, because valgrind 3.19 does not
 * implement seccomp(2) and a filtered child dies at once under callgrind.
 * Only the profiling build of make bench sets it, and nothing at run time
 * can turn the filter off in any other build.
 */
void
sandbox_filter(enum procid id)
{
#ifdef BENJI_PROFILE
	log_warnx("%s: seccomp filter off in this profiling build",
	    proc_name(id));
#else
	if (sandbox_filter_load(id) == -1)
		fatalx("cannot load the seccomp filter of %s", proc_name(id));
#endif
}

#ifdef BENJI_SANDBOX_TRAP
/*
 * Writes the number of the blocked system call to stderr and exits with
 * status 128 + SIGSYS. It makes only async-signal-safe calls, which every
 * filter allows.
 */
static void
sandbox_trap_handler(int sig, siginfo_t *info, void *context)
{
	static const char	 prefix[] = "sandbox: blocked system call ";
	char			 buf[sizeof(prefix) + 16];
	char			 digits[12];
	unsigned int		 nr;
	size_t			 len, n = 0;
	ssize_t			 written;

	nr = (unsigned int)info->si_syscall;
	do {
		digits[n++] = '0' + nr % 10;
		nr /= 10;
	} while (nr != 0 && n < sizeof(digits));

	len = sizeof(prefix) - 1;
	memcpy(buf, prefix, len);
	while (n > 0)
		buf[len++] = digits[--n];
	buf[len++] = '\n';

	/* Nothing is left to do if this write fails. */
	written = write(STDERR_FILENO, buf, len);
	(void)written;
	_exit(128 + SIGSYS);
}

static int
sandbox_trap_install(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_trap_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1) {
		log_warn("sigaction SIGSYS");
		return -1;
	}
	return 0;
}
#endif /* BENJI_SANDBOX_TRAP */
