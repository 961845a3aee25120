/*
 * benjictl: requests the processes, a reload or a db command from the
 * running benjid over the control socket.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benjid.h"

#define CTL_TIMEOUT_MS	10000
/* A migration may run for minutes on a large table. */
#define CTL_DB_TIMEOUT_MS	600000

static int	 ctl_timeout_ms = CTL_TIMEOUT_MS;

static __attribute__((__noreturn__)) void
usage(void)
{
	fprintf(stderr, "usage: benjictl [-s socket] command\n"
	    "commands:\n"
	    "  show processes   list benjid's processes\n"
	    "  reload           read the configuration again\n"
	    "  db migrate       apply pending schema migrations\n"
	    "  db validate      check applied migrations against this build\n"
	    "  db info          list migrations and their state\n"
	    "  db repair        remove failed rows, realign checksums\n"
	    "  db baseline [v]  mark an existing schema as version v "
	    "(default 1)\n");
	exit(1);
}

static int
ctl_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    (int)sizeof(sun.sun_path))
		fatalx("socket path %s is too long", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("cannot connect to benjid at %s (is it running, and are "
		    "you root?)", path);
	return fd;
}

/* Waits for the next whole frame; the daemon answers within seconds. */
static void
ctl_next(struct ipc_conn *c, struct ipc_msg *msg)
{
	struct pollfd	 pfd = { c->fd, POLLIN, 0 };
	ssize_t		 n;
	int		 r;

	while ((r = ipc_get(c, msg)) == 0) {
		if ((r = poll(&pfd, 1, ctl_timeout_ms)) == -1 && errno != EINTR)
			fatal("poll");
		if (r == 0)
			fatalx("benjid did not respond within %d seconds",
			    ctl_timeout_ms / 1000);
		if ((n = ipc_read(c)) == 0)
			fatalx("benjid closed the connection");
		if (n == -1 && errno != EINTR && errno != EAGAIN)
			fatal("read from benjid");
	}
	if (r == -1)
		fatalx("malformed reply from benjid");
}

static void
ctl_show_processes(struct ipc_conn *c)
{
	struct ipc_msg	 msg;
	struct ipc_body	 b;
	char		 name[32], when[32];
	uint64_t	 pid, restarts;
	int64_t		 started;
	time_t		 t;
	struct tm	 tm;

	printf("%-8s %8s %8s  %s\n", "PROCESS", "PID", "RESTARTS", "STARTED");
	for (;;) {
		ctl_next(c, &msg);
		if (msg.hdr.type == IMSG_CTL_END)
			break;
		if (msg.hdr.type != IMSG_CTL_PROCESS ||
		    ipc_body_open(&b, &msg) == -1 ||
		    ipc_get_str(&b, name, sizeof(name)) == -1 ||
		    ipc_get_u64(&b, &pid, UINT32_MAX) == -1 ||
		    ipc_get_u64(&b, &restarts, UINT32_MAX) == -1 ||
		    ipc_get_i64(&b, &started) == -1 || ipc_get_end(&b) == -1)
			fatalx("malformed process line from benjid");
		ipc_body_close(&b);

		snprintf(when, sizeof(when), "-");
		t = started;
		if (started > 0 && gmtime_r(&t, &tm) != NULL)
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (pid == 0)
			printf("%-8s %8s %8llu  %s\n", name, "down",
			    (unsigned long long)restarts, when);
		else
			printf("%-8s %8llu %8llu  %s\n", name,
			    (unsigned long long)pid,
			    (unsigned long long)restarts, when);
		ipc_consume(c, &msg);
	}
}

/* Prints the db child's answer, which may span many lines. */
static int
ctl_db_result(struct ipc_conn *c)
{
	struct ipc_msg	 msg;
	struct ipc_body	 b;
	const char	*text;
	size_t		 len;

	ctl_next(c, &msg);
	if ((msg.hdr.type != IMSG_CTL_OK && msg.hdr.type != IMSG_CTL_FAIL) ||
	    ipc_body_open(&b, &msg) == -1 ||
	    ipc_get_strp(&b, &text, &len, IPC_FRAME_MAX) == -1 ||
	    ipc_get_end(&b) == -1)
		fatalx("malformed reply from benjid");
	if (msg.hdr.type == IMSG_CTL_FAIL)
		fprintf(stderr, "benjictl: %.*s\n", (int)len, text);
	else
		printf("%.*s\n", (int)len, text);
	ipc_body_close(&b);
	return msg.hdr.type == IMSG_CTL_FAIL;
}

static int
ctl_result(struct ipc_conn *c)
{
	struct ipc_msg	 msg;
	struct ipc_body	 b;
	char		 text[512];

	ctl_next(c, &msg);
	if ((msg.hdr.type != IMSG_CTL_OK && msg.hdr.type != IMSG_CTL_FAIL) ||
	    ipc_body_open(&b, &msg) == -1 ||
	    ipc_get_str(&b, text, sizeof(text)) == -1 ||
	    ipc_get_end(&b) == -1)
		fatalx("malformed reply from benjid");
	ipc_body_close(&b);
	if (msg.hdr.type == IMSG_CTL_FAIL) {
		fprintf(stderr, "benjictl: %s\n", text);
		return 1;
	}
	printf("%s\n", text);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct ipc_conn	 c;
	const char	*path = BENJID_SOCKET;
	uint32_t	 type;
	int		 ch, ret = 0;

	log_init("benjictl", LOG_TO_TEXT, 0);
	while ((ch = getopt(argc, argv, "s:")) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;

	if (argc == 2 && strcmp(argv[0], "show") == 0 &&
	    strcmp(argv[1], "processes") == 0)
		type = IMSG_CTL_SHOW_PROCESSES;
	else if (argc == 1 && strcmp(argv[0], "reload") == 0)
		type = IMSG_CTL_RELOAD;
	else if ((argc == 2 || argc == 3) && strcmp(argv[0], "db") == 0 &&
	    (strcmp(argv[1], "migrate") == 0 ||
	    strcmp(argv[1], "validate") == 0 || strcmp(argv[1], "info") == 0 ||
	    strcmp(argv[1], "repair") == 0 ||
	    strcmp(argv[1], "baseline") == 0) &&
	    (argc == 2 || strcmp(argv[1], "baseline") == 0))
		type = IMSG_CTL_DB_COMMAND;
	else
		usage();

	ipc_conn_init(&c, ctl_connect(path), "benjid");
	if (type == IMSG_CTL_DB_COMMAND) {
		struct ipc_wbuf	 wb;

		ipc_wbuf_init(&wb, 2);
		ipc_put_str(&wb, argv[1]);
		ipc_put_str(&wb, argc == 3 ? argv[2] : "");
		if (ipc_compose(&c, type, 0, -1, &wb) == -1)
			fatal("send to benjid");
		ctl_timeout_ms = CTL_DB_TIMEOUT_MS;
	} else if (ipc_send(&c, type, 0, -1) == -1)
		fatal("send to benjid");
	if (ipc_flush(&c) != 0)
		fatal("send to benjid");

	if (type == IMSG_CTL_SHOW_PROCESSES)
		ctl_show_processes(&c);
	else if (type == IMSG_CTL_DB_COMMAND)
		ret = ctl_db_result(&c);
	else
		ret = ctl_result(&c);
	ipc_conn_clear(&c);
	close(c.fd);
	return ret;
}
