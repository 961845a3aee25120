/*
 * Starting children and running one: fork and exec of the child's own
 * executable, benjid-<name> in the parent's child directory, with the
 * hidden process flag, the parent channel on a fixed descriptor, and the
 * message loop every child shares.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benjid.h"

const enum procid privsep_pairs[][2] = {
	{ PROC_HTTP,	PROC_FETCHER },
	{ PROC_HTTP,	PROC_DB },
	{ PROC_HTTP,	PROC_SECRETS },
};
const size_t privsep_npairs = sizeof(privsep_pairs) / sizeof(privsep_pairs[0]);

static const char *const proc_names[PROC_MAX] = {
	[PROC_PARENT] =		"parent",
	[PROC_HTTP] =		"http",
	[PROC_FETCHER] =	"fetcher",
	[PROC_DB] =		"db",
	[PROC_SECRETS] =	"secrets",
};

struct proc_link {
	struct privsep	*ps;
	enum procid	 peer;
};

static struct privsep	 proc_self;
static struct proc_link	 proc_links[PROC_MAX];

static void	proc_link_error(struct ipc_conn *, const char *, void *);

const char *
proc_name(enum procid id)
{
	if ((unsigned int)id >= PROC_MAX)
		return "unknown";
	return proc_names[id];
}

int
proc_lookup(const char *name, enum procid *id)
{
	int	 i;

	for (i = 0; i < PROC_MAX; i++) {
		if (strcmp(proc_names[i], name) == 0) {
			*id = i;
			return 0;
		}
	}
	return -1;
}

/* The executable of child id: benjid-<name> in ex->dir. */
int
proc_child_path(const struct privsep_exec *ex, enum procid id, char *buf,
    size_t len)
{
	int	 n;

	n = snprintf(buf, len, "%s/benjid-%s", ex->dir, proc_name(id));
	if (n < 0 || (size_t)n >= len)
		return -1;
	return 0;
}

static void __attribute__((__noreturn__))
proc_exec_child(const struct privsep_exec *ex, enum procid id, int fd)
{
	char		*argv[16], ids[64], path[PATH_MAX];
	char *const	 envp[] = { NULL };
	sigset_t	 all;
	int		 argc = 0;

	/* The parent channel moves to its fixed place, without close-on-exec. */
	if (fd == PROC_PARENT_FD) {
		if (fcntl(fd, F_SETFD, 0) == -1)
			_exit(127);
	} else if (dup2(fd, PROC_PARENT_FD) == -1)
		_exit(127);
	if (close_range(PROC_PARENT_FD + 1, ~0U, 0) == -1)
		_exit(127);

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);

	snprintf(ids, sizeof(ids), "%u:%u", (unsigned int)ex->uid,
	    (unsigned int)ex->gid);
	argv[argc++] = "benjid";
	argv[argc++] = PROC_FLAG;
	argv[argc++] = (char *)proc_name(id);
	if (ex->chroot != NULL) {
		argv[argc++] = "-u";
		argv[argc++] = ids;
		argv[argc++] = "-c";
		argv[argc++] = (char *)ex->chroot;
	}
	if (ex->foreground)
		argv[argc++] = "-d";
	if (ex->journal)
		argv[argc++] = "-j";
	if (ex->verbose)
		argv[argc++] = "-v";
	argv[argc] = NULL;

	if (proc_child_path(ex, id, path, sizeof(path)) == -1)
		_exit(127);
	/* A clean environment: no secret passes to a child by inheritance. */
	execve(path, argv, envp);
	/* Status 127 alone would not say why, e.g. during an upgrade. */
	log_warn("cannot run the %s executable %s", proc_name(id), path);
	_exit(127);
}

/*
 * Starts one child by fork and exec. fd is the child's end of its parent
 * channel; the caller closes it afterwards. Returns the child's pid.
 */
pid_t
proc_spawn(const struct privsep_exec *ex, enum procid id, int fd)
{
	pid_t	 pid;

	switch (pid = fork()) {
	case -1:
		log_warn("fork of %s", proc_name(id));
		return -1;
	case 0:
		proc_exec_child(ex, id, fd);
	default:
		return pid;
	}
}

/* Replaces the link to a peer, closing the old one. */
void
proc_set_peer(struct privsep *ps, enum procid peer, int fd)
{
	struct ipc_conn	*c;

	if (ps->peers[peer] != NULL) {
		ipc_conn_free(ps->peers[peer]);
		ps->peers[peer] = NULL;
	}
	proc_links[peer].ps = ps;
	proc_links[peer].peer = peer;
	c = ipc_conn_new(ps->base, fd, proc_name(peer), proc_dispatch,
	    proc_link_error, &proc_links[peer]);
	if (c == NULL)
		fatal("%s: link to %s", proc_name(ps->id), proc_name(peer));
	/* Secrets cross these links: the parent's config, the http checks. */
	c->wipe = peer == PROC_PARENT || peer == PROC_SECRETS ||
	    ps->id == PROC_SECRETS;
	ps->peers[peer] = c;
}

int
proc_compose(struct privsep *ps, enum procid peer, uint32_t type,
    uint32_t peerid, int fd, struct ipc_wbuf *wb)
{
	if (ps->peers[peer] == NULL) {
		if (wb != NULL)
			ipc_wbuf_free(wb);
		if (fd != -1)
			close(fd);
		errno = ENOTCONN;
		return -1;
	}
	return ipc_compose(ps->peers[peer], type, peerid, fd, wb);
}

static void
proc_link_error(struct ipc_conn *c, const char *why, void *arg)
{
	struct proc_link	*link = arg;
	struct privsep		*ps = link->ps;
	enum procid		 peer = link->peer;

	if (peer == PROC_PARENT) {
		/* Without a parent nobody supervises us: leave at once. */
		log_debug("parent link: %s, exiting", why);
		exit(0);
	}
	/* At shutdown a sibling leaving is expected, not worth a notice. */
	if (ps->stopping)
		log_debug("link to %s closed: %s", proc_name(peer), why);
	else
		log_info("link to %s lost: %s", proc_name(peer), why);
	if (ps->peers[peer] == c) {
		ps->peers[peer] = NULL;
		ipc_conn_free(c);
	}
	if (ps->proc->peer_down != NULL)
		ps->proc->peer_down(ps, peer);
}

static void
proc_fatal_msg(struct privsep *ps, enum procid peer, struct ipc_msg *msg,
    const char *what)
{
	/* A sibling or parent that sends nonsense is broken or compromised. */
	fatalx("%s: %s message type %u from %s", proc_name(ps->id), what,
	    msg->hdr.type, proc_name(peer));
}

static void
proc_expect_empty(struct privsep *ps, enum procid peer, struct ipc_msg *msg)
{
	struct ipc_body	 b;

	if (ipc_body_open(&b, msg) == -1 || ipc_get_end(&b) == -1)
		proc_fatal_msg(ps, peer, msg, "malformed");
	ipc_body_close(&b);
}

static void
proc_hello(struct privsep *ps, struct ipc_msg *msg)
{
	struct ipc_body	 b;
	uint64_t	 version, id, verbose;

	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_u64(&b, &version, UINT32_MAX) == -1 ||
	    ipc_get_u64(&b, &id, PROC_MAX - 1) == -1 ||
	    ipc_get_u64(&b, &verbose, 9) == -1 ||
	    ipc_get_end(&b) == -1)
		proc_fatal_msg(ps, PROC_PARENT, msg, "malformed");
	ipc_body_close(&b);

	if (version != IPC_PROTOCOL_VERSION)
		fatalx("%s: protocol version %llu, expected %d (parent and "
		    "child are different builds)", proc_name(ps->id),
		    (unsigned long long)version, IPC_PROTOCOL_VERSION);
	if (id != ps->id)
		fatalx("%s: parent addressed process %s", proc_name(ps->id),
		    proc_name(id));
	log_setverbose(verbose);
}

static void
proc_peer(struct privsep *ps, struct ipc_msg *msg)
{
	struct ipc_body	 b;
	uint64_t	 peer;
	size_t		 i;
	int		 allowed = 0;

	if (msg->fd == -1 || ipc_body_open(&b, msg) == -1 ||
	    ipc_get_u64(&b, &peer, PROC_MAX - 1) == -1 ||
	    ipc_get_end(&b) == -1)
		proc_fatal_msg(ps, PROC_PARENT, msg, "malformed");
	ipc_body_close(&b);

	for (i = 0; i < privsep_npairs; i++)
		if ((privsep_pairs[i][0] == ps->id &&
		    privsep_pairs[i][1] == peer) ||
		    (privsep_pairs[i][1] == ps->id &&
		    privsep_pairs[i][0] == peer))
			allowed = 1;
	if (!allowed)
		fatalx("%s: parent sent a link to %s, which is not a peer",
		    proc_name(ps->id), proc_name(peer));

	proc_set_peer(ps, peer, msg->fd);
	msg->fd = -1;
	log_debug("linked to %s", proc_name(peer));
}

static void
proc_shutdown(struct privsep *ps, struct ipc_msg *msg)
{
	struct ipc_body	 b;
	uint64_t	 deadline;

	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_u64(&b, &deadline, 600000) == -1 ||
	    ipc_get_end(&b) == -1)
		proc_fatal_msg(ps, PROC_PARENT, msg, "malformed");
	ipc_body_close(&b);

	ps->stopping = 1;
	if (ps->proc->shutdown != NULL)
		ps->proc->shutdown(ps, deadline);
	else
		exit(0);
}

static void
proc_config(struct privsep *ps, struct ipc_msg *msg)
{
	struct ipc_body	 b;
	uint64_t	 shutdown_ms;

	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_str(&b, ps->profile, sizeof(ps->profile)) == -1 ||
	    ipc_get_u64(&b, &shutdown_ms, 600000) == -1 ||
	    ipc_get_end(&b) == -1)
		proc_fatal_msg(ps, PROC_PARENT, msg, "malformed");
	ipc_body_close(&b);
	ps->shutdown_ms = shutdown_ms;

	if (ps->started) {
		if (ps->proc->reload != NULL)
			ps->proc->reload(ps);
		proc_compose(ps, PROC_PARENT, IMSG_CTL_RELOADED, 0, -1, NULL);
	}
}

/* Handles what every child understands from its parent; 0 if handled. */
static int
proc_dispatch_parent(struct privsep *ps, struct ipc_msg *msg)
{
	switch (msg->hdr.type) {
	case IMSG_CTL_HELLO:
		proc_hello(ps, msg);
		return 0;
	case IMSG_CTL_PEER:
		proc_peer(ps, msg);
		return 0;
	case IMSG_CTL_CONFIG:
		proc_config(ps, msg);
		return 0;
	case IMSG_CTL_START:
		proc_expect_empty(ps, PROC_PARENT, msg);
		if (!ps->started && ps->proc->start != NULL)
			ps->proc->start(ps);
		ps->started = 1;
		proc_compose(ps, PROC_PARENT, IMSG_CTL_READY, 0, -1, NULL);
		return 0;
	case IMSG_CTL_SHUTDOWN:
		proc_shutdown(ps, msg);
		return 0;
	default:
		return -1;
	}
}

/*
 * Routes one received message: the common ones first, then the process's
 * table for that peer. A type missing from the table is fatal.
 */
void
proc_dispatch(struct ipc_conn *c, struct ipc_msg *msg, void *arg)
{
	struct proc_link		*link = arg;
	struct privsep			*ps = link->ps;
	const struct privsep_handler	*h;
	enum procid			 peer = link->peer;
	struct ipc_wbuf			 wb;

	if (peer == PROC_PARENT && proc_dispatch_parent(ps, msg) == 0)
		goto done;

	if (msg->hdr.type == IMSG_PING) {
		proc_expect_empty(ps, peer, msg);
		ipc_wbuf_init(&wb, 1);
		ipc_put_u64(&wb, ps->id);
		ipc_compose(c, IMSG_PONG, msg->hdr.peerid, -1, &wb);
		goto done;
	}

	for (h = ps->proc->handlers[peer]; h != NULL && h->fn != NULL; h++) {
		if (h->type == msg->hdr.type) {
			h->fn(ps, peer, msg);
			goto done;
		}
	}
	proc_fatal_msg(ps, peer, msg, "unexpected");
 done:
	if (msg->fd != -1) {
		close(msg->fd);
		msg->fd = -1;
	}
}

static void
proc_sigterm(evutil_socket_t sig, short events, void *arg)
{
	struct privsep	*ps = arg;

	/* Same as a shutdown request from the parent, with its deadline. */
	ps->stopping = 1;
	if (ps->proc->shutdown != NULL)
		ps->proc->shutdown(ps, ps->shutdown_ms);
	else
		exit(0);
}

static void
proc_parse_ids(const char *s, uid_t *uid, gid_t *gid)
{
	unsigned int	 u, g;
	char		 end;

	if (sscanf(s, "%u:%u%c", &u, &g, &end) != 2)
		fatalx("invalid ids \"%s\"", s);
	*uid = u;
	*gid = g;
}

/*
 * The event base of a child. With the epoll change list, an event enabled
 * and disabled again in one loop pass costs no epoll_ctl: evhttp does that
 * around every reply. No child dup()s a descriptor it watches, the case
 * the change list gets wrong.
 */
static struct event_base *
proc_event_base(void)
{
	struct event_config	*cfg;
	struct event_base	*base;

	if ((cfg = event_config_new()) == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/*
 * Runs a child from its hidden command line to exit: drop privileges, load
 * the filter, then serve the parent and peers until told to stop.
 */
/* Writes libevent's own warnings as log lines, not plain text. */
void
proc_libevent_log(int severity, const char *msg)
{
	if (severity == EVENT_LOG_DEBUG)
		log_debug("libevent: %s", msg);
	else
		log_warnx("libevent: %s", msg);
}

void
proc_child_main(const struct privsep_proc *proc, int argc, char **argv)
{
	struct privsep	*ps = &proc_self;
	struct event	*sigterm;
	struct stat	 st;
	char		*chroot_dir = NULL;
	uid_t		 uid = 0;
	gid_t		 gid = 0;
	int		 ch, foreground = 0, journal = 0, verbose = 0;

	optind = 1;
	while ((ch = getopt(argc, argv, "P:u:c:djv")) != -1) {
		switch (ch) {
		case 'P':
			break;
		case 'u':
			proc_parse_ids(optarg, &uid, &gid);
			break;
		case 'c':
			if ((chroot_dir = strdup(optarg)) == NULL)
				fatal("strdup");
			break;
		case 'd':
			foreground = 1;
			break;
		case 'j':
			journal = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			fatalx("%s: invalid child arguments", proc->name);
		}
	}

	log_init(proc->name, foreground, verbose);
	log_set_journal(journal);
	event_set_log_callback(proc_libevent_log);
	proctitle_init(argc, argv);
	if (fstat(PROC_PARENT_FD, &st) == -1 || !S_ISSOCK(st.st_mode))
		fatalx("%s: started without a parent channel on descriptor %d",
		    proc->name, PROC_PARENT_FD);

	memset(ps, 0, sizeof(*ps));
	ps->id = proc->id;
	ps->proc = proc;
	ps->verbose = verbose;
	ps->shutdown_ms = BENJID_SHUTDOWN_MS;

	/*
	 * Ctrl-C at a terminal reaches the whole process group; the parent
	 * alone decides how its children stop. SIGTERM sent to a child on
	 * its own still stops it cleanly. libevent opens the socket pair for
	 * signals here, before the filter forbids socket().
	 */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if ((ps->base = proc_event_base()) == NULL)
		fatalx("%s: event_base_new failed", proc->name);
	sigterm = evsignal_new(ps->base, SIGTERM, proc_sigterm, ps);
	if (sigterm == NULL || evsignal_add(sigterm, NULL) == -1)
		fatalx("%s: cannot handle SIGTERM", proc->name);
	if (proc->init != NULL)
		proc->init(ps);

	sandbox_drop(proc->id, chroot_dir, uid, gid);
	free(chroot_dir);
	sandbox_filter(proc->id);

	proc_set_peer(ps, PROC_PARENT, PROC_PARENT_FD);
	event_base_dispatch(ps->base);
	exit(0);
}
