/*
 * benjid parent: reads the configuration, opens the listening and control
 * sockets, starts the four children and supervises them. It never sees a
 * request byte, a provider reply or an SQL statement.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benjid.h"

#define RESTART_BACKOFF_MS	100
#define RESTART_BACKOFF_MAX_MS	5000
#define RESTART_WINDOW_S	60	/* more than 5 deaths in it: give up */

struct listener {
	int			 fd;
	char			 host[NI_MAXHOST];
	in_port_t		 port;
};

static struct benjid_config	 conf;
static const char		*conf_file = BENJID_CONF;
static int			 conf_required;
static struct benjid_child	 children[PROC_MAX];
/* The parent's end of each child's channel, from fork until configured. */
static int			 spawned_fd[PROC_MAX];
static struct privsep_exec	 exec_params;
static struct event_base	*base;
static struct listener		 listeners[BENJID_LISTEN_MAX * 4];
static size_t			 nlisteners;
static int			 shutting_down;
static int			 exit_code;
static struct event		*shutdown_ev;

static void	parent_start_child(enum procid);
static void	parent_spawn_child(enum procid);
static void	parent_configure_child(enum procid);
static void	parent_shutdown(int);
static void	parent_stop_backends(void);

static __attribute__((__noreturn__)) void
usage(void)
{
	fprintf(stderr, "usage: benjid [-dnv] [-f file]\n");
	exit(1);
}

const struct benjid_child *
parent_child(enum procid id)
{
	return &children[id];
}

static int
parent_load_config(struct benjid_config *c)
{
	char	 err[512];

	config_defaults(c);
	if (parse_config(conf_file, conf_required, c) == -1)
		return -1;
	if (config_env(c, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	return 0;
}

static void (*const config_senders[PROC_MAX])(struct ipc_conn *,
    const struct benjid_config *) = {
	[PROC_HTTP] =		http_config_send,
	[PROC_FETCHER] =	fetcher_config_send,
	[PROC_DB] =		db_config_send,
	[PROC_SECRETS] =	secrets_config_send,
};

/* Sends the settings every child shares, then the child's own part. */
static void
parent_send_config(struct benjid_child *c)
{
	struct ipc_wbuf	 wb;

	ipc_wbuf_init(&wb, 2);
	ipc_put_str(&wb, config_profile_name(conf.profile));
	ipc_put_u64(&wb, conf.shutdown_timeout_ms);
	ipc_compose(c->conn, IMSG_CTL_CONFIG, 0, -1, &wb);
	config_senders[c->id](c->conn, &conf);
	if (c->id == PROC_HTTP)
		secrets_auth_config_send(c->conn);
}

/* Connects two live children with a fresh socket pair. */
static void
parent_link(enum procid a, enum procid b)
{
	struct ipc_wbuf	 wb;
	int		 sp[2];

	if (children[a].conn == NULL || children[b].conn == NULL)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("socketpair for %s and %s", proc_name(a),
		    proc_name(b));
		return;
	}
	ipc_wbuf_init(&wb, 1);
	ipc_put_u64(&wb, b);
	ipc_compose(children[a].conn, IMSG_CTL_PEER, 0, sp[0], &wb);
	ipc_wbuf_init(&wb, 1);
	ipc_put_u64(&wb, a);
	ipc_compose(children[b].conn, IMSG_CTL_PEER, 0, sp[1], &wb);
}

static void
parent_ready(struct benjid_child *c, struct ipc_msg *msg)
{
	c->ready = 1;
	log_debug("%s ready (pid %d)", proc_name(c->id), (int)c->pid);
}

static void
parent_reloaded(struct benjid_child *c, struct ipc_msg *msg)
{
	log_debug("%s took the new configuration", proc_name(c->id));
}

static const struct {
	uint32_t	 type;
	void		(*fn)(struct benjid_child *, struct ipc_msg *);
} parent_handlers[] = {
	{ IMSG_CTL_READY,	parent_ready },
	{ IMSG_CTL_RELOADED,	parent_reloaded },
};

/*
 * The schema cannot be migrated: stop benjid, as a Java service stops
 * when Flyway fails, unless the configuration asks to wait for a repair
 * with benjictl db while readiness stays OUT_OF_SERVICE.
 */
static int
parent_migration_failed(struct ipc_msg *msg)
{
	struct ipc_body	 b;
	char		 text[4300];

	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_str(&b, text, sizeof(text)) == -1 ||
	    ipc_get_end(&b) == -1)
		return -1;
	ipc_body_close(&b);
	if (conf.db_migration_wait) {
		log_warnx("%s; waiting for benjictl db repair or migrate",
		    text);
		return 0;
	}
	log_warnx("%s; stopping benjid (set database on-migration-failure "
	    "wait to repair it with benjictl db while benjid runs)", text);
	parent_shutdown(1);
	return 0;
}

/*
 * Messages from a child. A child that sends nonsense is broken or
 * compromised; the parent does not trust it and kills it, and the restart
 * logic brings up a fresh one.
 */
static void
parent_dispatch(struct ipc_conn *conn, struct ipc_msg *msg, void *arg)
{
	struct benjid_child	*c = arg;
	struct ipc_body		 b;
	size_t			 i;

	if (c->id == PROC_DB && msg->hdr.type == IMSG_CTL_DB_RESULT &&
	    control_db_result(msg) == 0)
		goto done;
	if (c->id == PROC_DB && msg->hdr.type == IMSG_CTL_DB_MIGRATION_FAILED &&
	    parent_migration_failed(msg) == 0)
		goto done;
	for (i = 0; i < sizeof(parent_handlers) / sizeof(parent_handlers[0]);
	    i++) {
		if (parent_handlers[i].type != msg->hdr.type)
			continue;
		if (ipc_body_open(&b, msg) == -1 || ipc_get_end(&b) == -1)
			break;
		ipc_body_close(&b);
		parent_handlers[i].fn(c, msg);
		goto done;
	}
	log_warnx("%s sent a malformed or unexpected message (type %u), "
	    "killing it", proc_name(c->id), msg->hdr.type);
	if (c->pid > 0)
		kill(c->pid, SIGKILL);
	ipc_conn_fail(conn, "unexpected message");
 done:
	if (msg->fd != -1) {
		close(msg->fd);
		msg->fd = -1;
	}
}

static void
parent_link_error(struct ipc_conn *conn, const char *why, void *arg)
{
	struct benjid_child	*c = arg;

	/* The child's exit is handled when SIGCHLD reaps it. */
	log_debug("link to %s: %s", proc_name(c->id), why);
	if (c->conn == conn) {
		ipc_conn_free(conn);
		c->conn = NULL;
	}
}

/* Forks and execs one child; parent_configure_child then talks to it. */
static void
parent_spawn_child(enum procid id)
{
	struct benjid_child	*c = &children[id];
	int			 sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1)
		fatal("socketpair for %s", proc_name(id));
	if ((c->pid = proc_spawn(&exec_params, id, sp[1])) == -1)
		fatal("cannot start %s", proc_name(id));
	close(sp[1]);
	spawned_fd[id] = sp[0];
	c->started = time(NULL);
	c->ready = 0;
}

/*
 * Sends a spawned child its setup: hello, configuration, listening
 * sockets, links to the configured peers, then start. The child reads
 * these once its loader and initialisation are done.
 */
static void
parent_configure_child(enum procid id)
{
	struct benjid_child	*c = &children[id];
	struct ipc_wbuf		 wb;
	size_t			 i;
	int			 fd;

	c->conn = ipc_conn_new(base, spawned_fd[id], proc_name(id),
	    parent_dispatch, parent_link_error, c);
	spawned_fd[id] = -1;
	if (c->conn == NULL)
		fatal("link to %s", proc_name(id));
	/* Configuration frames carry secrets: zero them once written. */
	c->conn->wipe = 1;

	ipc_wbuf_init(&wb, 3);
	ipc_put_u64(&wb, IPC_PROTOCOL_VERSION);
	ipc_put_u64(&wb, id);
	ipc_put_u64(&wb, log_getverbose());
	ipc_compose(c->conn, IMSG_CTL_HELLO, 0, -1, &wb);
	parent_send_config(c);

	if (id == PROC_HTTP) {
		for (i = 0; i < nlisteners; i++) {
			if ((fd = dup(listeners[i].fd)) == -1)
				fatal("dup of listening socket");
			ipc_wbuf_init(&wb, 2);
			ipc_put_str(&wb, listeners[i].host);
			ipc_put_u64(&wb, listeners[i].port);
			ipc_compose(c->conn, IMSG_CTL_LISTEN, 0, fd, &wb);
		}
	}
	for (i = 0; i < privsep_npairs; i++) {
		if (privsep_pairs[i][0] == id || privsep_pairs[i][1] == id)
			parent_link(privsep_pairs[i][0], privsep_pairs[i][1]);
	}
	ipc_send(c->conn, IMSG_CTL_START, 0, -1);
	if (children[PROC_HTTP].conn != NULL)
		http_processes_send(children[PROC_HTTP].conn);
	log_debug("started %s (pid %d)", proc_name(id), (int)c->pid);
}

static void
parent_start_child(enum procid id)
{
	parent_spawn_child(id);
	parent_configure_child(id);
}

/*
 * Starts every child. All are forked before any is configured, so that
 * the work of configuring one (reading the CA bundle, resolving the
 * database host) overlaps the loading of all of them. db goes first:
 * readiness waits for its migration check and its first connection to
 * PostgreSQL, the longest chain of the start. http, which serves the
 * readiness probe, comes next.
 */
static void
parent_start_children(void)
{
	static const enum procid	 order[] = {
		PROC_DB, PROC_HTTP, PROC_SECRETS, PROC_FETCHER
	};
	size_t				 i;

	_Static_assert(sizeof(order) / sizeof(order[0]) == PROC_MAX - 1,
	    "every child is in the start order");
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		parent_spawn_child(order[i]);
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		parent_configure_child(order[i]);
}

static void
parent_restart_cb(evutil_socket_t fd, short events, void *arg)
{
	struct benjid_child	*c = arg;

	if (shutting_down || c->pid > 0)
		return;
	c->restarts++;
	parent_start_child(c->id);
	log_info("restarted %s (pid %d, restart %u)", proc_name(c->id),
	    (int)c->pid, c->restarts);
}

static void
parent_child_died(struct benjid_child *c, int status)
{
	struct timeval	 tv;
	time_t		 now = time(NULL);
	unsigned int	 recent = 0, backoff;
	size_t		 i, n = sizeof(c->deaths) / sizeof(c->deaths[0]);

	if (WIFSIGNALED(status))
		log_warnx("%s (pid %d) killed by signal %d", proc_name(c->id),
		    (int)c->pid, WTERMSIG(status));
	else if (!shutting_down || WEXITSTATUS(status) != 0)
		log_warnx("%s (pid %d) exited with status %d",
		    proc_name(c->id), (int)c->pid, WEXITSTATUS(status));
	c->pid = 0;
	c->ready = 0;
	if (c->conn != NULL) {
		ipc_conn_free(c->conn);
		c->conn = NULL;
	}
	if (shutting_down) {
		if (c->id == PROC_HTTP)
			parent_stop_backends();
		return;
	}
	if (c->id == PROC_SECRETS && !secrets_restart_allowed()) {
		log_warnx("secrets died and the secrets of the environment "
		    "are gone: stopping benjid for its service manager to "
		    "start it again");
		parent_shutdown(1);
		return;
	}

	memmove(&c->deaths[1], &c->deaths[0], (n - 1) * sizeof(c->deaths[0]));
	c->deaths[0] = now;
	for (i = 0; i < n; i++)
		if (c->deaths[i] != 0 && now - c->deaths[i] < RESTART_WINDOW_S)
			recent++;
	if (recent == n) {
		log_warnx("%s died %zu times within %d seconds, stopping benjid",
		    proc_name(c->id), n, RESTART_WINDOW_S);
		parent_shutdown(1);
		return;
	}

	backoff = RESTART_BACKOFF_MS << (recent - 1);
	if (backoff > RESTART_BACKOFF_MAX_MS)
		backoff = RESTART_BACKOFF_MAX_MS;
	tv.tv_sec = backoff / 1000;
	tv.tv_usec = (backoff % 1000) * 1000;
	evtimer_add(c->restart_ev, &tv);
}

static int
parent_children_alive(void)
{
	int	 i, n = 0;

	for (i = PROC_PARENT + 1; i < PROC_MAX; i++)
		if (children[i].pid > 0)
			n++;
	return n;
}

static void
parent_sigchld(void)
{
	pid_t	 pid;
	int	 status, i;

	while ((pid = waitpid(WAIT_ANY, &status, WNOHANG)) > 0) {
		for (i = PROC_PARENT + 1; i < PROC_MAX; i++) {
			if (children[i].pid == pid) {
				parent_child_died(&children[i], status);
				break;
			}
		}
	}
	if (shutting_down && parent_children_alive() == 0)
		event_base_loopexit(base, NULL);
}

static void
parent_kill_cb(evutil_socket_t fd, short events, void *arg)
{
	int	 i;

	for (i = PROC_PARENT + 1; i < PROC_MAX; i++) {
		if (children[i].pid > 0) {
			log_warnx("%s did not stop in time, killing it",
			    proc_name(i));
			kill(children[i].pid, SIGKILL);
		}
	}
}

static void
parent_stop_child(struct benjid_child *c)
{
	struct ipc_wbuf	 wb;

	if (c->conn == NULL) {
		if (c->pid > 0)
			kill(c->pid, SIGTERM);
		return;
	}
	ipc_wbuf_init(&wb, 1);
	ipc_put_u64(&wb, conf.shutdown_timeout_ms);
	ipc_compose(c->conn, IMSG_CTL_SHUTDOWN, 0, -1, &wb);
}

/* Stops every child but http, once http no longer needs them. */
static void
parent_stop_backends(void)
{
	int	 i;

	for (i = PROC_PARENT + 1; i < PROC_MAX; i++)
		if (i != PROC_HTTP && children[i].pid > 0)
			parent_stop_child(&children[i]);
}

/* Asks every child to finish its work, then kills what is left. */
static void
parent_shutdown(int code)
{
	struct timeval	 tv;
	int		 i;

	if (code > exit_code)
		exit_code = code;
	if (shutting_down)
		return;
	shutting_down = 1;

	for (i = PROC_PARENT + 1; i < PROC_MAX; i++)
		evtimer_del(children[i].restart_ev);
	/*
	 * http stops first: its requests in flight still need the fetcher,
	 * db and secrets, which are told to stop once http has exited.
	 */
	if (children[PROC_HTTP].pid > 0)
		parent_stop_child(&children[PROC_HTTP]);
	else
		parent_stop_backends();

	tv.tv_sec = (conf.shutdown_timeout_ms + 1000) / 1000;
	tv.tv_usec = ((conf.shutdown_timeout_ms + 1000) % 1000) * 1000;
	evtimer_add(shutdown_ev, &tv);
	if (parent_children_alive() == 0)
		event_base_loopexit(base, NULL);
}

/*
 * Reads the configuration again and hands each child its part. Settings
 * fixed at startup (listening addresses, user, chroot, control socket) keep
 * their running values.
 */
int
parent_reload(char *err, size_t errsz)
{
	struct benjid_config	 nc;
	char			 msg[512];
	int			 i;

	if (parent_load_config(&nc) == -1) {
		config_free(&nc);
		snprintf(err, errsz, "configuration not reloaded: see the log "
		    "for the problem; the running configuration stays");
		return -1;
	}
	if (secrets_reload(&nc, msg, sizeof(msg)) == -1) {
		log_warnx("%s", msg);
		config_free(&nc);
		snprintf(err, errsz, "configuration not reloaded: %s; the "
		    "running configuration stays", msg);
		return -1;
	}
	/* TODO: rebind listening sockets when their addresses change. */
	if (nc.nlisten != conf.nlisten ||
	    memcmp(nc.listen, conf.listen, nc.nlisten * sizeof(nc.listen[0])))
		log_warnx("listening addresses change only on restart");

	conf.profile = nc.profile;
	conf.shutdown_timeout_ms = nc.shutdown_timeout_ms;
	http_limits_copy(&conf, &nc);
	marketdata_reload(&conf, &nc);
	db_config_reload(&conf, &nc);
	config_free(&nc);

	for (i = PROC_PARENT + 1; i < PROC_MAX; i++)
		if (children[i].conn != NULL)
			parent_send_config(&children[i]);
	log_info("configuration reloaded");
	snprintf(err, errsz, "configuration reloaded");
	return 0;
}

static void
parent_signal_cb(evutil_socket_t sig, short events, void *arg)
{
	char	 msg[256];

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("received %s, shutting down",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT");
		parent_shutdown(0);
		break;
	case SIGHUP:
		if (parent_reload(msg, sizeof(msg)) == -1)
			log_warnx("SIGHUP: %s", msg);
		break;
	case SIGCHLD:
		parent_sigchld();
		break;
	}
}

static void
parent_listen_one(const struct listen_addr *la)
{
	struct addrinfo	 hints, *res, *ai;
	struct listener	*l;
	char		 port[8];
	int		 fd, on = 1, error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", la->port);
	error = getaddrinfo(strcmp(la->host, "*") == 0 ? NULL : la->host,
	    port, &hints, &res);
	if (error != 0)
		fatalx("listen on %s port %u: %s", la->host, la->port,
		    gai_strerror(error));

	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (nlisteners == sizeof(listeners) / sizeof(listeners[0]))
			fatalx("too many listening sockets");
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1)
			fatal("socket for %s port %u", la->host, la->port);
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == -1)
			fatal("SO_REUSEADDR");
		/* "*" binds IPv4 and IPv6 separately. */
		if (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
		    IPV6_V6ONLY, &on, sizeof(on)) == -1)
			fatal("IPV6_V6ONLY");
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1)
			fatal("bind to %s port %u", la->host, la->port);
		if (listen(fd, 511) == -1)
			fatal("listen on %s port %u", la->host, la->port);

		l = &listeners[nlisteners++];
		l->fd = fd;
		l->port = la->port;
		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, l->host,
		    sizeof(l->host), NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(l->host, sizeof(l->host), "%s", la->host);
		log_info("listening on %s port %u", l->host, l->port);
	}
	freeaddrinfo(res);
}

/* The chroot must not be changeable by the user the children run as. */
static void
parent_check_chroot(const char *dir)
{
	struct stat	 st;

	if (dir[0] != '/')
		fatalx("chroot directory %s is not an absolute path", dir);
	if (stat(dir, &st) == -1)
		fatal("chroot directory %s", dir);
	if (!S_ISDIR(st.st_mode))
		fatalx("chroot directory %s is not a directory", dir);
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		fatalx("chroot directory %s must be owned by root and not "
		    "writable by group or others", dir);
}

static void
parent_exec_params(void)
{
	struct passwd	*pw;

	exec_params.verbose = log_getverbose();
	if (geteuid() != 0) {
		exec_params.chroot = NULL;
		log_info("running without root: children keep their seccomp "
		    "filters but skip chroot and the change to user %s",
		    conf.user);
		return;
	}
	if ((pw = getpwnam(conf.user)) == NULL)
		fatalx("user %s not found: create it (make install does) or "
		    "set another user in benjid.conf", conf.user);
	if (pw->pw_uid == 0)
		fatalx("user %s is root: children must run unprivileged",
		    conf.user);
	parent_check_chroot(conf.chroot);
	exec_params.chroot = conf.chroot;
	exec_params.uid = pw->pw_uid;
	exec_params.gid = pw->pw_gid;
}

/*
 * The parent runs the child executables as root: anyone who could replace
 * one would run code as root. So they and their directory must belong to
 * root, or to the user running benjid, and be writable by no one else.
 */
static void
parent_check_owner(const char *path, const struct stat *st)
{
	if ((st->st_uid != 0 && st->st_uid != geteuid()) ||
	    (st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
		fatalx("%s must be owned by root and not writable by group or "
		    "others (owner uid %u, mode %04o)", path,
		    (unsigned int)st->st_uid, (unsigned int)(st->st_mode & 07777));
}

/*
 * Each child is its own executable, benjid-<name>, in ../libexec/benjid
 * from the directory of the running benjid: the same layout serves an
 * installed /usr and a staged tree. Found from /proc/self/exe before
 * anything changes, and checked now rather than at the first fork.
 */
static void
parent_child_dir(void)
{
	static char	 dir[PATH_MAX];
	char		 self[PATH_MAX], path[PATH_MAX], *slash;
	struct stat	 st;
	ssize_t		 n;
	int		 id;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1)
		fatal("cannot find the path of benjid in /proc/self/exe");
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		fatalx("benjid runs from %s, not an absolute path", self);
	*slash = '\0';
	n = snprintf(path, sizeof(path), "%s/../libexec/benjid", self);
	if (n < 0 || (size_t)n >= sizeof(path))
		fatalx("path of the child executables too long");
	if (realpath(path, dir) == NULL)
		fatal("child executables: %s", path);
	exec_params.dir = dir;
	if (stat(dir, &st) == -1)
		fatal("child executables: %s", dir);
	parent_check_owner(dir, &st);

	for (id = PROC_PARENT + 1; id < PROC_MAX; id++) {
		if (proc_child_path(&exec_params, id, path, sizeof(path)) == -1)
			fatalx("path of the %s executable too long",
			    proc_name(id));
		if (stat(path, &st) == -1)
			fatal("%s executable %s", proc_name(id), path);
		if (!S_ISREG(st.st_mode) || access(path, X_OK) == -1)
			fatalx("%s executable %s is not an executable file",
			    proc_name(id), path);
		parent_check_owner(path, &st);
	}
}

int
main(int argc, char *argv[])
{
	struct event	*sigs[4];
	const int	 signums[4] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	char		 err[512];
	int		 ch, debug = 0, noaction = 0, verbose = 0, i, control_fd;

	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			debug = 1;
			break;
		case 'f':
			conf_file = optarg;
			conf_required = 1;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init("parent", noaction ? LOG_TO_TEXT : LOG_TO_JSON, verbose);
	event_set_log_callback(proc_libevent_log);
	if (debug && !noaction)
		log_set_journal(log_journal_detect());
	if (parent_load_config(&conf) == -1)
		exit(1);
	if (secrets_load(&conf, noaction, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		exit(1);
	}
	if (noaction) {
		/*
		 * Also what the start needs: the child executables and, as
		 * root, the user and the chroot.
		 */
		parent_child_dir();
		if (geteuid() == 0)
			parent_exec_params();
		printf("configuration OK\n");
		exit(0);
	}

	parent_child_dir();
	parent_exec_params();
	exec_params.foreground = debug;
	exec_params.journal = debug && log_journal_detect();

	for (i = 0; i < (int)conf.nlisten; i++)
		parent_listen_one(&conf.listen[i]);
	if ((control_fd = control_open(conf.control_socket)) == -1)
		exit(1);

	if (!debug) {
		log_init("parent", LOG_TO_SYSLOG, verbose);
		if (daemon(0, 0) == -1)
			fatal("daemon");
	}
	log_info("starting in profile %s", config_profile_name(conf.profile));

	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	for (i = 0; i < 4; i++) {
		sigs[i] = evsignal_new(base, signums[i], parent_signal_cb, NULL);
		if (sigs[i] == NULL || evsignal_add(sigs[i], NULL) == -1)
			fatalx("cannot handle signal %d", signums[i]);
	}
	if (control_listen(base, control_fd) == -1)
		exit(1);
	shutdown_ev = evtimer_new(base, parent_kill_cb, NULL);
	children[PROC_PARENT].started = time(NULL);

	for (i = PROC_PARENT + 1; i < PROC_MAX; i++) {
		children[i].id = i;
		children[i].restart_ev = evtimer_new(base, parent_restart_cb,
		    &children[i]);
	}
	parent_start_children();

	event_base_dispatch(base);

	control_close(conf.control_socket);
	log_info("stopped");
	exit(exit_code);
}
