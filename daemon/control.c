/*
 * The control socket: benjictl talks to the parent over a unix socket that
 * only root (or, without root, the user running benjid) may use.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benjid.h"

#define CONTROL_CLIENTS_MAX	16
#define CONTROL_DB_PENDING_MAX	CONTROL_CLIENTS_MAX

/* A benjictl db command waiting for the db child's result. */
struct control_db_pending {
	uint32_t	 id;		/* 0: free slot */
	struct ipc_conn	*client;
};

static struct event	*control_ev;
static int		 control_clients;
static struct control_db_pending control_db[CONTROL_DB_PENDING_MAX];
static uint32_t		 control_db_next;

static void	control_accept_cb(evutil_socket_t, short, void *);

/*
 * Creates the socket's directory when missing, as systemd's
 * RuntimeDirectory would; an existing directory is left as it is.
 */
static void
control_mkdir(const char *path)
{
	char	 dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char	*slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		log_warn("cannot create directory %s", dir);
}

/* Creates the socket; mode 0600 so that the file system admits only us. */
int
control_open(const char *path)
{
	struct sockaddr_un	 sun;
	mode_t			 old_umask;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    (int)sizeof(sun.sun_path)) {
		log_warnx("control socket path %s is too long", path);
		return -1;
	}
	control_mkdir(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		log_warn("control socket");
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("cannot remove old control socket %s", path);
		close(fd);
		return -1;
	}
	old_umask = umask(S_IXUSR | S_IRWXG | S_IRWXO);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("bind control socket %s", path);
		umask(old_umask);
		close(fd);
		return -1;
	}
	umask(old_umask);
	if (chmod(path, S_IRUSR | S_IWUSR) == -1 || listen(fd, 8) == -1) {
		log_warn("control socket %s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

int
control_listen(struct event_base *base, int fd)
{
	control_ev = event_new(base, fd, EV_READ | EV_PERSIST,
	    control_accept_cb, base);
	if (control_ev == NULL || event_add(control_ev, NULL) == -1) {
		log_warnx("cannot watch the control socket");
		return -1;
	}
	return 0;
}

void
control_close(const char *path)
{
	if (control_ev == NULL)
		return;
	close(event_get_fd(control_ev));
	event_free(control_ev);
	control_ev = NULL;
	unlink(path);
}

static void
control_reply(struct ipc_conn *c, uint32_t type, const char *message)
{
	struct ipc_wbuf	 wb;

	ipc_wbuf_init(&wb, 1);
	ipc_put_str(&wb, message);
	ipc_compose(c, type, 0, -1, &wb);
}

static void
control_show_processes(struct ipc_conn *c)
{
	const struct benjid_child	*child;
	struct ipc_wbuf			 wb;
	int				 i;

	ipc_wbuf_init(&wb, 4);
	ipc_put_str(&wb, "parent");
	ipc_put_u64(&wb, getpid());
	ipc_put_u64(&wb, 0);
	ipc_put_i64(&wb, parent_child(PROC_PARENT)->started);
	ipc_compose(c, IMSG_CTL_PROCESS, 0, -1, &wb);

	for (i = PROC_PARENT + 1; i < PROC_MAX; i++) {
		child = parent_child(i);
		ipc_wbuf_init(&wb, 4);
		ipc_put_str(&wb, proc_name(i));
		ipc_put_u64(&wb, child->pid > 0 ? child->pid : 0);
		ipc_put_u64(&wb, child->restarts);
		ipc_put_i64(&wb, child->started);
		ipc_compose(c, IMSG_CTL_PROCESS, 0, -1, &wb);
	}
	ipc_send(c, IMSG_CTL_END, 0, -1);
}

/* Hands a benjictl db command to the db child, which runs it. */
static void
control_db_command(struct ipc_conn *c, struct ipc_msg *msg)
{
	static const char *const commands[] = { "migrate", "validate",
	    "info", "repair", "baseline" };
	const struct benjid_child	*db = parent_child(PROC_DB);
	struct ipc_body			 b;
	struct ipc_wbuf			 wb;
	char				 command[32], arg[64];
	size_t				 i, slot;

	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_str(&b, command, sizeof(command)) == -1 ||
	    ipc_get_str(&b, arg, sizeof(arg)) == -1 || ipc_get_end(&b) == -1) {
		control_reply(c, IMSG_CTL_FAIL, "malformed request");
		return;
	}
	ipc_body_close(&b);
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(command, commands[i]) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		control_reply(c, IMSG_CTL_FAIL, "unknown db command");
		return;
	}
	for (slot = 0; slot < CONTROL_DB_PENDING_MAX; slot++)
		if (control_db[slot].id == 0)
			break;
	if (slot == CONTROL_DB_PENDING_MAX || db->conn == NULL) {
		control_reply(c, IMSG_CTL_FAIL, db->conn == NULL ?
		    "the db process is not running" : "too many db commands");
		return;
	}
	if (++control_db_next == 0)
		++control_db_next;
	ipc_wbuf_init(&wb, 2);
	ipc_put_str(&wb, command);
	ipc_put_str(&wb, arg);
	if (ipc_compose(db->conn, IMSG_CTL_DB_COMMAND, control_db_next, -1,
	    &wb) == -1) {
		control_reply(c, IMSG_CTL_FAIL, "cannot reach the db process");
		return;
	}
	control_db[slot].id = control_db_next;
	control_db[slot].client = c;
}

/*
 * Passes the db child's result to the benjictl that asked. Returns -1
 * when the message is malformed; a result for a client that left is
 * dropped.
 */
int
control_db_result(struct ipc_msg *msg)
{
	struct ipc_body	 b;
	const char	*text;
	size_t		 len, i;
	int		 ok;
	struct ipc_wbuf	 wb;

	if (ipc_body_open(&b, msg) == -1 || ipc_get_bool(&b, &ok) == -1 ||
	    ipc_get_strp(&b, &text, &len, IPC_FRAME_MAX) == -1 ||
	    ipc_get_end(&b) == -1)
		return -1;
	for (i = 0; i < CONTROL_DB_PENDING_MAX; i++) {
		if (control_db[i].id == 0 || control_db[i].id !=
		    msg->hdr.peerid)
			continue;
		ipc_wbuf_init(&wb, 1);
		ipc_put_strn(&wb, text, len);
		ipc_compose(control_db[i].client, ok ? IMSG_CTL_OK :
		    IMSG_CTL_FAIL, 0, -1, &wb);
		control_db[i].id = 0;
		control_db[i].client = NULL;
	}
	ipc_body_close(&b);
	return 0;
}

static void
control_dispatch(struct ipc_conn *c, struct ipc_msg *msg, void *arg)
{
	struct ipc_body	 b;
	char		 result[256];

	if (msg->fd != -1) {
		close(msg->fd);
		msg->fd = -1;
	}
	if (msg->hdr.type == IMSG_CTL_DB_COMMAND) {
		control_db_command(c, msg);
		return;
	}
	if (ipc_body_open(&b, msg) == -1 || ipc_get_end(&b) == -1) {
		control_reply(c, IMSG_CTL_FAIL, "malformed request");
		return;
	}
	ipc_body_close(&b);

	switch (msg->hdr.type) {
	case IMSG_CTL_SHOW_PROCESSES:
		control_show_processes(c);
		break;
	case IMSG_CTL_RELOAD:
		if (parent_reload(result, sizeof(result)) == -1)
			control_reply(c, IMSG_CTL_FAIL, result);
		else
			control_reply(c, IMSG_CTL_OK, result);
		break;
	default:
		control_reply(c, IMSG_CTL_FAIL, "unknown request");
		break;
	}
}

static void
control_error(struct ipc_conn *c, const char *why, void *arg)
{
	size_t	 i;

	for (i = 0; i < CONTROL_DB_PENDING_MAX; i++)
		if (control_db[i].client == c)
			control_db[i].id = 0;
	control_clients--;
	ipc_conn_free(c);
}

static void
control_accept_cb(evutil_socket_t lfd, short events, void *arg)
{
	struct event_base	*base = arg;
	struct ucred		 cred = { .uid = (uid_t)-1 };
	socklen_t		 len = sizeof(cred);
	int			 fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("control accept");
		return;
	}
	/* The file mode already keeps others out; the check holds anyway. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		log_warnx("control: rejected a client with uid %d",
		    (int)cred.uid);
		close(fd);
		return;
	}
	if (control_clients >= CONTROL_CLIENTS_MAX) {
		log_warnx("control: too many clients");
		close(fd);
		return;
	}
	if (ipc_conn_new(base, fd, "control", control_dispatch,
	    control_error, NULL) == NULL) {
		log_warnx("control: cannot serve a client");
		close(fd);
		return;
	}
	control_clients++;
}
