/*
 * Unit tests of the privilege drop and the seccomp filters. Every check of
 * a filter runs in a forked process, because a filter cannot be unloaded.
 */

#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "benjid.h"

#define X32_SYSCALL_BIT		0x40000000
#define I386_NR_GETPID		20
#define NOBODY_ID		65534
#define MIB			(1024 * 1024)

/*
 * Stand-ins for functions of other files. They are weak, so the real ones
 * win when the test is linked with them.
 */
static int	 stub_title_set;
static char	 stub_title[64];

__attribute__((weak)) const char *
proc_name(enum procid id)
{
	static const char *const names[PROC_MAX] = {
		[PROC_PARENT] = "parent",
		[PROC_HTTP] = "http",
		[PROC_FETCHER] = "fetcher",
		[PROC_DB] = "db",
		[PROC_SECRETS] = "secrets",
	};

	if (id < 0 || id >= PROC_MAX)
		return "unknown";
	return names[id];
}

__attribute__((weak)) void
proctitle_set(const char *title)
{
	snprintf(stub_title, sizeof(stub_title), "%s", title);
	stub_title_set = 1;
}

/*
 * Code in a forked child cannot use the cmocka asserts, so it reports the
 * first failed check on stderr and exits with the line number (mod 256,
 * never 0) for the parent to show.
 */
static int	 child_stderr = STDERR_FILENO;

#define CHILD_CHECK(cond) do {						\
	if (!(cond)) {							\
		dprintf(child_stderr, "%s:%d: check failed: %s "	\
		    "(errno %d)\n", __FILE__, __LINE__, #cond, errno);	\
		_exit(__LINE__ % 255 + 1);				\
	}								\
} while (0)

/* Forks, runs fn in the child with arg and returns the wait status. */
static int
run_child(void (*fn)(void *), void *arg)
{
	pid_t	 pid;
	int	 status;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_int_not_equal(pid, -1);
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
assert_exited(const char *what, int status, int code)
{
	if (WIFSIGNALED(status))
		fail_msg("%s: killed by signal %d, expected exit %d", what,
		    WTERMSIG(status), code);
	if (!WIFEXITED(status))
		fail_msg("%s: wait status %#x, expected exit %d", what,
		    status, code);
	if (WEXITSTATUS(status) != code)
		fail_msg("%s: exit status %d, expected %d", what,
		    WEXITSTATUS(status), code);
}

/*
 * The debug build traps and exits with 128 + SIGSYS instead. A SIGSYS that
 * is blocked, as during pthread_create(), still kills.
 */
static void
assert_killed(const char *what, int status)
{
#ifdef BENJI_SANDBOX_TRAP
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
		assert_exited(what, status, 128 + SIGSYS);
#else
	if (WIFEXITED(status))
		fail_msg("%s: exited with %d, expected SIGSYS", what,
		    WEXITSTATUS(status));
	if (!WIFSIGNALED(status))
		fail_msg("%s: wait status %#x, expected SIGSYS", what, status);
	if (WTERMSIG(status) != SIGSYS)
		fail_msg("%s: killed by signal %d, expected SIGSYS", what,
		    WTERMSIG(status));
#endif
}

static void
load_filter(enum procid id)
{
	CHILD_CHECK(sandbox_filter_load(id) == 0);
}

/* Calls that a child needs, run under its filter. */

static void
check_memory(void)
{
	unsigned char	*p, *q;

	CHILD_CHECK((p = malloc(64 * MIB)) != NULL);
	memset(p, 0xa5, 64 * MIB);
	CHILD_CHECK((q = realloc(p, 128 * MIB)) != NULL);
	CHILD_CHECK(q[0] == 0xa5 && q[64 * MIB - 1] == 0xa5);
	memset(q + 64 * MIB, 0x5a, 64 * MIB);
	free(q);
}

static void
check_epoll(int fd, int peer)
{
	struct epoll_event	 ev, out;
	int			 epfd;

	CHILD_CHECK((epfd = epoll_create1(EPOLL_CLOEXEC)) != -1);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = fd;
	CHILD_CHECK(epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0);
	CHILD_CHECK(epoll_wait(epfd, &out, 1, 0) == 0);
	CHILD_CHECK(write(peer, "x", 1) == 1);
	CHILD_CHECK(epoll_wait(epfd, &out, 1, 0) == 1);
	CHILD_CHECK(out.data.fd == fd);
	CHILD_CHECK(epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) == 0);
	CHILD_CHECK(close(epfd) == 0);
}

static void
check_fcntl(int fd)
{
	int	 flags;

	CHILD_CHECK((flags = fcntl(fd, F_GETFL)) != -1);
	CHILD_CHECK(fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0);
	CHILD_CHECK((flags = fcntl(fd, F_GETFD)) != -1);
	CHILD_CHECK(fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0);
}

/* Reads the byte that check_epoll() left, then sends fd with SCM_RIGHTS. */
static void
check_stream(int fd, int peer, int passfd, int passfd_reader)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}			 cmsgbuf;
	struct msghdr		 msg;
	struct cmsghdr		*cmsg;
	struct iovec		 iov;
	char			 c;
	int			 received;

	CHILD_CHECK(read(fd, &c, 1) == 1 && c == 'x');

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	c = 'm';
	iov.iov_base = &c;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &passfd, sizeof(int));
	CHILD_CHECK(sendmsg(peer, &msg, 0) == 1);

	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	c = 0;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	CHILD_CHECK(recvmsg(fd, &msg, 0) == 1 && c == 'm');
	cmsg = CMSG_FIRSTHDR(&msg);
	CHILD_CHECK(cmsg != NULL && cmsg->cmsg_type == SCM_RIGHTS);
	memcpy(&received, CMSG_DATA(cmsg), sizeof(int));

	/* The received descriptor is a working copy of the pipe's end. */
	CHILD_CHECK(write(received, "p", 1) == 1);
	CHILD_CHECK(read(passfd_reader, &c, 1) == 1 && c == 'p');
	CHILD_CHECK(close(received) == 0);
}

static void
check_time_and_random(void)
{
	struct timespec	 ts;
	unsigned char	 buf[32];

	CHILD_CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
	CHILD_CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0);
	CHILD_CHECK(getrandom(buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	ts.tv_sec = 0;
	ts.tv_nsec = 1000;
	CHILD_CHECK(nanosleep(&ts, NULL) == 0);
}

static void *
thread_main(void *arg)
{
	return arg;
}

static void
check_thread(void)
{
	pthread_t	 thread;
	void		*result;
	int		 token;

	CHILD_CHECK(pthread_create(&thread, NULL, thread_main, &token) == 0);
	CHILD_CHECK(pthread_join(thread, &result) == 0);
	CHILD_CHECK(result == &token);
}

static void
check_client_sockets(int expected_errno)
{
	int	 s, fd;

	CHILD_CHECK((s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0))
	    != -1);
	CHILD_CHECK(close(s) == 0);
	CHILD_CHECK((s = socket(AF_INET6, SOCK_DGRAM, 0)) != -1 ||
	    errno == EAFNOSUPPORT);
	if (s != -1)
		CHILD_CHECK(close(s) == 0);
	CHILD_CHECK((s = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	CHILD_CHECK(close(s) == 0);

	/* Harmless file probes fail without a descriptor. */
	errno = 0;
	fd = open("/etc/passwd", O_RDONLY);
	CHILD_CHECK(fd == -1);
	CHILD_CHECK(errno == expected_errno);
}

/*
 * The secrets child's storage: guarded, locked sodium_malloc memory that
 * changes protection around each check, random bytes and keyed BLAKE2b.
 */
static void
check_sodium_memory(void)
{
	unsigned char	*p, digest[32];

	CHILD_CHECK((p = sodium_malloc(64)) != NULL);
	randombytes_buf(p, 64);
	CHILD_CHECK(sodium_mlock(p, 64) == 0);
	CHILD_CHECK(sodium_mprotect_noaccess(p) == 0);
	CHILD_CHECK(sodium_mprotect_readonly(p) == 0);
	CHILD_CHECK(crypto_generichash(digest, sizeof(digest), p, 32, p + 32,
	    32) == 0);
	CHILD_CHECK(sodium_mprotect_readwrite(p) == 0);
	sodium_free(p);
}

/* A new AF_UNIX socket fails quietly so that syslog() can retry. */
static void
check_no_sockets(void)
{
	errno = 0;
	CHILD_CHECK(socket(AF_UNIX, SOCK_DGRAM, 0) == -1);
	CHILD_CHECK(errno == EACCES);
}

static void
child_allowed(void *arg)
{
	enum procid	 id = *(enum procid *)arg;
	int		 sv[2], pipefd[2], devnull;

	/* Set up before the filter, as the children do before theirs. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1 ||
	    pipe(pipefd) == -1 ||
	    (devnull = open("/dev/null", O_WRONLY)) == -1 ||
	    (child_stderr = dup(STDERR_FILENO)) == -1 ||
	    dup2(devnull, STDERR_FILENO) == -1)
		_exit(2);
	log_init(proc_name(id), 1, 1);
	/* As secrets_init() does before the filter. */
	if (id == PROC_SECRETS && sodium_init() < 0)
		_exit(2);

	load_filter(id);

	check_memory();
	check_epoll(sv[0], sv[1]);
	check_fcntl(sv[0]);
	check_stream(sv[0], sv[1], pipefd[1], pipefd[0]);
	check_time_and_random();

	/* Logs to /dev/null, a character device that is not a terminal. */
	log_warnx("sandbox test: %s", proc_name(id));
	log_debug("sandbox test: debug line");

	switch (id) {
	case PROC_FETCHER:
		check_client_sockets(EACCES);
		check_thread();
		break;
	case PROC_DB:
		check_client_sockets(ENOENT);
		CHILD_CHECK(getuid() == geteuid());
		break;
	case PROC_SECRETS:
		check_no_sockets();
		check_sodium_memory();
		break;
	default:
		check_no_sockets();
		break;
	}

	/* exit() rather than _exit(), so that atexit handlers run filtered. */
	exit(0);
}

static void
test_filter_allows(enum procid id)
{
	char	 what[64];

	snprintf(what, sizeof(what), "%s filter, needed calls",
	    proc_name(id));
	assert_exited(what, run_child(child_allowed, &id), 0);
}

static void
test_http_allows(void **state)
{
	test_filter_allows(PROC_HTTP);
}

static void
test_fetcher_allows(void **state)
{
	test_filter_allows(PROC_FETCHER);
}

static void
test_db_allows(void **state)
{
	test_filter_allows(PROC_DB);
}

static void
test_secrets_allows(void **state)
{
	test_filter_allows(PROC_SECRETS);
}

/* Calls that a filter must kill. */

static void
call_execve(void)
{
	char	*argv[] = { "true", NULL };
	char	*envp[] = { NULL };

	execve("/bin/true", argv, envp);
}

static void
call_openat(void)
{
	open("/etc/passwd", O_RDONLY);
}

static void
call_ptrace(void)
{
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
}

static void
call_x32_getpid(void)
{
	syscall(SYS_getpid | X32_SYSCALL_BIT);
}

static void
call_i386_getpid(void)
{
	long	 ret;

	__asm__ volatile ("int $0x80" : "=a" (ret) : "a" (I386_NR_GETPID)
	    : "memory");
}

/*
 * The tests run as root, so a call that a broken filter lets through must
 * fail on its arguments and change nothing.
 */
static void
call_mount(void)
{
	syscall(SYS_mount, NULL, NULL, NULL, 0UL, NULL);
}

static void
call_kexec_load(void)
{
	syscall(SYS_kexec_load, 0UL, 0UL, NULL, ~0UL);
}

static void
call_mmap_exec(void)
{
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
}

static void
call_mprotect_exec(void)
{
	static char	 page[4096] __attribute__((aligned(4096)));

	mprotect(page, sizeof(page), PROT_READ | PROT_EXEC);
}

static void
call_fcntl_dupfd(void)
{
	fcntl(STDERR_FILENO, F_DUPFD, 10);
}

static void
call_prctl_dumpable(void)
{
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

static void
call_kill_parent(void)
{
	kill(getppid(), 0);
}

static void
call_tgkill_parent(void)
{
	syscall(SYS_tgkill, getppid(), getppid(), 0);
}

static void
call_socket_inet(void)
{
	socket(AF_INET, SOCK_STREAM, 0);
}

static void
call_socket_inet6(void)
{
	socket(AF_INET6, SOCK_DGRAM, 0);
}

static void
call_socket_netlink(void)
{
	socket(AF_NETLINK, SOCK_RAW, 0);
}

static void
call_socket_packet(void)
{
	socket(AF_PACKET, SOCK_RAW, 0);
}

static void
call_sendto_address(void)
{
	struct sockaddr_in	 sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(9);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sendto(STDERR_FILENO, "x", 1, 0, (struct sockaddr *)&sin,
	    sizeof(sin));
}

static void
call_accept(void)
{
	accept4(STDERR_FILENO, NULL, NULL, 0);
}

static void
call_thread(void)
{
	pthread_t	 thread;

	if (pthread_create(&thread, NULL, thread_main, NULL) == 0)
		pthread_join(thread, NULL);
}

/* Not mlock(): ASan replaces it with a function that does nothing. */
static void
call_mlock(void)
{
	static char	 page[4096] __attribute__((aligned(4096)));

	syscall(SYS_mlock, page, sizeof(page));
}

enum {
	ONLY_ALL = 0,
	ONLY_HTTP = 1 << PROC_HTTP,
	ONLY_FETCHER = 1 << PROC_FETCHER,
	ONLY_DB = 1 << PROC_DB,
	ONLY_SECRETS = 1 << PROC_SECRETS,
};

struct blocked_call {
	const char	*name;
	void		(*fn)(void);
	unsigned int	 only;	/* bit mask of processes, ONLY_ALL for all */
};

static const struct blocked_call blocked_calls[] = {
	{ "execve", call_execve, ONLY_ALL },
	{ "ptrace", call_ptrace, ONLY_ALL },
	{ "x32 getpid", call_x32_getpid, ONLY_ALL },
	{ "i386 getpid", call_i386_getpid, ONLY_ALL },
	{ "mount", call_mount, ONLY_ALL },
	{ "kexec_load", call_kexec_load, ONLY_ALL },
	{ "mmap PROT_EXEC", call_mmap_exec, ONLY_ALL },
	{ "mprotect PROT_EXEC", call_mprotect_exec, ONLY_ALL },
	{ "fcntl F_DUPFD", call_fcntl_dupfd, ONLY_ALL },
	{ "prctl PR_SET_DUMPABLE", call_prctl_dumpable, ONLY_ALL },
	{ "kill", call_kill_parent, ONLY_ALL },
	{ "tgkill to the parent", call_tgkill_parent, ONLY_ALL },
	{ "openat", call_openat, ONLY_HTTP | ONLY_SECRETS },
	{ "socket AF_INET", call_socket_inet, ONLY_HTTP | ONLY_SECRETS },
	{ "socket AF_INET6", call_socket_inet6, ONLY_HTTP | ONLY_SECRETS },
	{ "sendto with address", call_sendto_address,
	    ONLY_HTTP | ONLY_SECRETS },
	{ "socket AF_NETLINK", call_socket_netlink, ONLY_FETCHER | ONLY_DB },
	{ "socket AF_PACKET", call_socket_packet, ONLY_FETCHER | ONLY_DB },
	{ "accept4", call_accept, ONLY_FETCHER | ONLY_DB | ONLY_SECRETS },
	{ "thread", call_thread, ONLY_HTTP | ONLY_DB | ONLY_SECRETS },
	{ "mlock", call_mlock, ONLY_HTTP | ONLY_FETCHER | ONLY_DB },
};

struct blocked_run {
	enum procid			 id;
	const struct blocked_call	*call;
};

static void
child_blocked(void *arg)
{
	const struct blocked_run	*run = arg;

	load_filter(run->id);
	run->call->fn();
	_exit(0);
}

static void
child_unfiltered(void *arg)
{
	const struct blocked_call	*call = arg;

	call->fn();
	_exit(0);
}

/*
 * A kernel without IA32 emulation raises SIGSEGV on int 0x80 before
 * seccomp sees the call, so that case only runs where the kernel has it.
 */
static int
i386_supported(void)
{
	static const struct blocked_call	 probe = {
		"i386 getpid", call_i386_getpid, ONLY_ALL
	};
	static int				 supported = -1;
	int					 status;

	if (supported == -1) {
		status = run_child(child_unfiltered, (void *)&probe);
		supported = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	return supported;
}

static void
test_filter_blocks(enum procid id)
{
	struct blocked_run	 run;
	char			 what[96];
	size_t			 i;

	for (i = 0; i < sizeof(blocked_calls) / sizeof(blocked_calls[0]);
	    i++) {
		run.id = id;
		run.call = &blocked_calls[i];
		if (run.call->only != ONLY_ALL &&
		    (run.call->only & (1U << id)) == 0)
			continue;
		if (run.call->fn == call_i386_getpid && !i386_supported()) {
			print_message("%s filter: no IA32 emulation, skipping "
			    "%s\n", proc_name(id), run.call->name);
			continue;
		}

		snprintf(what, sizeof(what), "%s filter, %s", proc_name(id),
		    run.call->name);
		assert_killed(what, run_child(child_blocked, &run));
	}
}

static void
test_http_blocks(void **state)
{
	test_filter_blocks(PROC_HTTP);
}

static void
test_fetcher_blocks(void **state)
{
	test_filter_blocks(PROC_FETCHER);
}

static void
test_db_blocks(void **state)
{
	test_filter_blocks(PROC_DB);
}

static void
test_secrets_blocks(void **state)
{
	test_filter_blocks(PROC_SECRETS);
}

static void
child_abort(void *arg)
{
	load_filter(*(enum procid *)arg);
	abort();
}

/* abort() sends SIGABRT to the process itself, which every filter allows. */
static void
test_filter_abort(void **state)
{
	enum procid	 id;
	int		 status;

	for (id = PROC_HTTP; id < PROC_MAX; id++) {
		status = run_child(child_abort, &id);
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
			fail_msg("%s filter, abort: wait status %#x, expected "
			    "SIGABRT", proc_name(id), status);
	}
}

static void
test_filter_rejects_parent(void **state)
{
	errno = 0;
	assert_int_equal(sandbox_filter_load(PROC_PARENT), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(sandbox_filter_load(PROC_MAX), -1);
	assert_int_equal(errno, EINVAL);
}

#ifdef BENJI_SANITIZE
/*
 * A sanitizer report under the filter must reach stderr and end with the
 * runtime's exit status 1, not with SIGSYS.
 */
enum sanitizer_error {
	ERROR_HEAP_OVERFLOW,
	ERROR_SIGNED_OVERFLOW,
};

struct sanitizer_run {
	enum procid		 id;
	enum sanitizer_error	 error;
	int			 output;	/* stderr of the child */
};

static void
child_sanitizer_error(void *arg)
{
	const struct sanitizer_run	*run = arg;
	volatile char			*p;
	volatile int			 n = INT_MAX;
	volatile size_t			 size = 16;

	if (dup2(run->output, STDERR_FILENO) == -1)
		_exit(2);
	load_filter(run->id);

	switch (run->error) {
	case ERROR_HEAP_OVERFLOW:
		/* A size unknown at compile time keeps UBSan's check out. */
		p = malloc(size);
		p[size] = 'x';
		free((void *)p);
		break;
	case ERROR_SIGNED_OVERFLOW:
		n++;
		break;
	}
	_exit(0);
}

static void
test_sanitizer_reports(enum procid id, enum sanitizer_error error,
    const char *expected)
{
	struct sanitizer_run	 run;
	char			 path[] = "/tmp/benji-sandbox-report-XXXXXX";
	char			 what[96], report[8192];
	ssize_t			 n;
	int			 status;

	run.id = id;
	run.error = error;
	assert_int_not_equal(run.output = mkstemp(path), -1);
	assert_int_equal(unlink(path), 0);

	status = run_child(child_sanitizer_error, &run);
	snprintf(what, sizeof(what), "%s filter, %s report", proc_name(id),
	    expected);
	assert_exited(what, status, 1);

	n = pread(run.output, report, sizeof(report) - 1, 0);
	assert_true(n > 0);
	report[n] = '\0';
	close(run.output);
	if (strstr(report, expected) == NULL)
		fail_msg("%s: no \"%s\" in the report: %s", what, expected,
		    report);
}

static void
test_sanitizer_under_filter(void **state)
{
	enum procid	 id;

	for (id = PROC_HTTP; id < PROC_MAX; id++) {
		test_sanitizer_reports(id, ERROR_HEAP_OVERFLOW,
		    "AddressSanitizer: heap-buffer-overflow");
		test_sanitizer_reports(id, ERROR_SIGNED_OVERFLOW,
		    "signed integer overflow");
	}
}
#endif /* BENJI_SANITIZE */

/* Privilege drop. */

struct drop_run {
	const char	*dir;
	uid_t		 uid;
	gid_t		 gid;
	dev_t		 dev;	/* of dir, to recognize it as "/" */
	ino_t		 ino;
};

static void
check_limits(void)
{
	struct rlimit	 rl;

	CHILD_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
	CHILD_CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
	CHILD_CHECK(getrlimit(RLIMIT_CORE, &rl) == 0);
	CHILD_CHECK(rl.rlim_cur == 0 && rl.rlim_max == 0);
}

static void
child_drop(void *arg)
{
	const struct drop_run	*run = arg;
	struct stat		 st;
	uid_t			 ruid, euid, suid;
	gid_t			 rgid, egid, sgid, groups[4];
	char			 cwd[64];
	int			 n;

	sandbox_drop(PROC_HTTP, run->dir, run->uid, run->gid);

	CHILD_CHECK(getresuid(&ruid, &euid, &suid) == 0);
	CHILD_CHECK(ruid == run->uid && euid == run->uid &&
	    suid == run->uid);
	CHILD_CHECK(getresgid(&rgid, &egid, &sgid) == 0);
	CHILD_CHECK(rgid == run->gid && egid == run->gid &&
	    sgid == run->gid);
	CHILD_CHECK((n = getgroups(4, groups)) != -1);
	CHILD_CHECK(n == 0);
	check_limits();

	CHILD_CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHILD_CHECK(strcmp(cwd, "/") == 0);
	CHILD_CHECK(stat("/", &st) == 0);
	CHILD_CHECK(st.st_dev == run->dev && st.st_ino == run->ino);
	CHILD_CHECK(stat(".", &st) == 0);
	CHILD_CHECK(st.st_dev == run->dev && st.st_ino == run->ino);

	if (stub_title_set)
		CHILD_CHECK(strcmp(stub_title, "benjid: http") == 0);

	/* The drop leaves the process able to load its filter. */
	load_filter(PROC_HTTP);
	_exit(0);
}

static void
make_chroot(struct drop_run *run, char *dir)
{
	struct stat	 st;

	/* Mode 0755 like the installed chroot, so uid 65534 can search it. */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(stat(dir, &st), 0);
	run->dir = dir;
	run->uid = NOBODY_ID;
	run->gid = NOBODY_ID;
	run->dev = st.st_dev;
	run->ino = st.st_ino;
}

static void
test_drop_as_root(void **state)
{
	struct drop_run	 run;
	char		 dir[] = "/tmp/benji-sandbox-XXXXXX";
	int		 status;

	if (geteuid() != 0) {
		skip();
		return;
	}
	make_chroot(&run, dir);
	status = run_child(child_drop, &run);
	assert_int_equal(rmdir(dir), 0);
	assert_exited("drop to nobody in a chroot", status, 0);
}

static void
child_drop_only(void *arg)
{
	const struct drop_run	*run = arg;

	sandbox_drop(PROC_SECRETS, run->dir, run->uid, run->gid);
	_exit(0);
}

/* fatal() and fatalx() exit with 1. */
static void
test_drop_rejects_root_user(void **state)
{
	struct drop_run	 run;
	char		 dir[] = "/tmp/benji-sandbox-XXXXXX";
	int		 status;

	if (geteuid() != 0) {
		skip();
		return;
	}
	make_chroot(&run, dir);
	run.uid = 0;
	run.gid = 0;
	status = run_child(child_drop_only, &run);
	assert_int_equal(rmdir(dir), 0);
	assert_exited("drop to uid 0", status, 1);
}

static void
test_drop_rejects_writable_chroot(void **state)
{
	struct drop_run	 run;
	char		 dir[] = "/tmp/benji-sandbox-XXXXXX";
	int		 status;

	if (geteuid() != 0) {
		skip();
		return;
	}
	make_chroot(&run, dir);
	assert_int_equal(chmod(dir, 0777), 0);
	status = run_child(child_drop_only, &run);
	assert_int_equal(rmdir(dir), 0);
	assert_exited("chroot to a world-writable directory", status, 1);
}

static void
child_drop_without_root(void *arg)
{
	uid_t	 uid = getuid();
	gid_t	 gid = getgid();
	char	 before[256], after[256];

	CHILD_CHECK(getcwd(before, sizeof(before)) != NULL);
	sandbox_drop(PROC_DB, NULL, NOBODY_ID, NOBODY_ID);

	CHILD_CHECK(getuid() == uid && geteuid() == uid);
	CHILD_CHECK(getgid() == gid && getegid() == gid);
	CHILD_CHECK(getcwd(after, sizeof(after)) != NULL);
	CHILD_CHECK(strcmp(before, after) == 0);
	check_limits();
	if (stub_title_set)
		CHILD_CHECK(strcmp(stub_title, "benjid: db") == 0);
	_exit(0);
}

static void
test_drop_without_chroot(void **state)
{
	assert_exited("drop without chroot", run_child(child_drop_without_root,
	    NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_allows),
		cmocka_unit_test(test_fetcher_allows),
		cmocka_unit_test(test_db_allows),
		cmocka_unit_test(test_secrets_allows),
		cmocka_unit_test(test_http_blocks),
		cmocka_unit_test(test_fetcher_blocks),
		cmocka_unit_test(test_db_blocks),
		cmocka_unit_test(test_secrets_blocks),
		cmocka_unit_test(test_filter_abort),
		cmocka_unit_test(test_filter_rejects_parent),
#ifdef BENJI_SANITIZE
		cmocka_unit_test(test_sanitizer_under_filter),
#endif
		cmocka_unit_test(test_drop_as_root),
		cmocka_unit_test(test_drop_rejects_root_user),
		cmocka_unit_test(test_drop_rejects_writable_chroot),
		cmocka_unit_test(test_drop_without_chroot),
	};

	log_init("test_sandbox", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
