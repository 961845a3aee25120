/*
 * Frame transport: reading, parsing, queueing and flushing imsg-style frames
 * on unix stream sockets, with one descriptor at most per frame.
 */

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"

#define IPC_RBUF_INITIAL	(16 * 1024)
#define IPC_IOV_MAX		64
/* The first buffer of a frame being built; see ipc_wbuf_init. */
#define IPC_WBUF_FIRST		256

static pid_t	 ipc_pid;

static void
ipc_pid_forget(void)
{
	ipc_pid = 0;
}

/*
 * Every frame names its sender. glibc does not cache getpid(), and one
 * system call per frame showed in profiles of the request path; a fork
 * clears the cached value.
 */
static pid_t
ipc_getpid(void)
{
	static int	 registered;

	if (!registered) {
		pthread_atfork(NULL, NULL, ipc_pid_forget);
		registered = 1;
	}
	if (ipc_pid == 0)
		ipc_pid = getpid();
	return ipc_pid;
}

static void	ipc_read_cb(evutil_socket_t, short, void *);
static void	ipc_write_cb(evutil_socket_t, short, void *);
static void	ipc_fail_cb(evutil_socket_t, short, void *);

/*
 * Frees one queued frame. On a connection that carries secrets the bytes
 * are zeroed first, because free() leaves them in the heap.
 */
static void
ipc_out_free(struct ipc_conn *c, struct ipc_out *o)
{
	if (c->wipe)
		explicit_bzero(o->buf, o->len);
	free(o->buf);
	free(o);
}

void
ipc_conn_init(struct ipc_conn *c, int fd, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->name = name;
	TAILQ_INIT(&c->wq);
}

void
ipc_conn_clear(struct ipc_conn *c)
{
	struct ipc_out	*o;
	size_t		 i;

	while ((o = TAILQ_FIRST(&c->wq)) != NULL) {
		TAILQ_REMOVE(&c->wq, o, entry);
		if (o->fd != -1)
			close(o->fd);
		ipc_out_free(c, o);
	}
	c->wqbytes = 0;
	for (i = 0; i < c->nrfds; i++)
		close(c->rfds[i]);
	c->nrfds = 0;
	if (c->wipe && c->rbuf != NULL)
		explicit_bzero(c->rbuf, c->rsize);
	free(c->rbuf);
	c->rbuf = NULL;
	c->roff = c->rlen = c->rsize = 0;
}

/* Makes room for at least want more bytes, within one maximum frame. */
static int
ipc_rbuf_reserve(struct ipc_conn *c, size_t want)
{
	size_t	 size;
	uint8_t	*p;

	if (c->roff > 0) {
		memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
		c->rlen -= c->roff;
		c->roff = 0;
	}
	if (c->rsize - c->rlen >= want)
		return 0;
	size = c->rsize ? c->rsize : IPC_RBUF_INITIAL;
	while (size - c->rlen < want && size < 2 * IPC_FRAME_MAX)
		size *= 2;
	if (size > 2 * IPC_FRAME_MAX)
		size = 2 * IPC_FRAME_MAX;
	if (size - c->rlen < want) {
		errno = EMSGSIZE;
		return -1;
	}
	if (c->wipe && c->rbuf != NULL) {
		/* realloc() could leave the old bytes behind in the heap. */
		if ((p = malloc(size)) == NULL)
			return -1;
		memcpy(p, c->rbuf, c->rlen);
		explicit_bzero(c->rbuf, c->rsize);
		free(c->rbuf);
	} else if ((p = realloc(c->rbuf, size)) == NULL)
		return -1;
	c->rbuf = p;
	c->rsize = size;
	return 0;
}

/* Takes every descriptor out of a control message; -1 if any is lost. */
static int
ipc_take_fds(struct ipc_conn *c, struct msghdr *msg)
{
	struct cmsghdr	*cm;
	int		*fds, lost = 0;
	size_t		 i, n;

	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		fds = (int *)CMSG_DATA(cm);
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			if (c->nrfds < IPC_FDQ_MAX && !lost)
				c->rfds[c->nrfds++] = fds[i];
			else {
				close(fds[i]);
				lost = 1;
			}
		}
	}
	if (msg->msg_flags & MSG_CTRUNC)
		lost = 1;
	return lost ? -1 : 0;
}

/*
 * Reads what the socket has, up to the free space of one frame. Returns the
 * number of bytes read, 0 at end of file, -1 on error (EAGAIN included). A
 * truncated control message is an error: a descriptor was lost in transit.
 */
ssize_t
ipc_read(struct ipc_conn *c)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 4)];
	} cmsgbuf;
	ssize_t		 n;

	if (ipc_rbuf_reserve(c, IPC_RBUF_INITIAL / 2) == -1)
		return -1;

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = c->rbuf + c->rlen;
	iov.iov_len = c->rsize - c->rlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = &cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);

	while ((n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC)) == -1 &&
	    errno == EINTR)
		;
	if (n == -1)
		return -1;
	if (ipc_take_fds(c, &msg) == -1) {
		errno = EBADMSG;
		return -1;
	}
	c->rlen += n;
	return n;
}

/* Appends bytes as if they had been read; for tests and the fuzzer. */
int
ipc_feed(struct ipc_conn *c, const void *data, size_t len)
{
	/* Nothing to copy, and rbuf may still be NULL. */
	if (len == 0)
		return 0;
	if (ipc_rbuf_reserve(c, len) == -1)
		return -1;
	memcpy(c->rbuf + c->rlen, data, len);
	c->rlen += len;
	return 0;
}

/*
 * Parses the next complete frame. Returns 1 with msg filled, 0 when more
 * bytes are needed, -1 (errno EBADMSG) on a frame that can never be valid.
 * The frame stays in the buffer until ipc_consume.
 */
int
ipc_get(struct ipc_conn *c, struct ipc_msg *msg)
{
	struct ipc_hdr	 hdr;
	size_t		 i, avail = c->rlen - c->roff;

	if (avail < IPC_HDR_SIZE)
		return 0;
	memcpy(&hdr, c->rbuf + c->roff, sizeof(hdr));
	if (hdr.len > IPC_FRAME_MAX - IPC_HDR_SIZE ||
	    (hdr.flags & ~IPC_F_MASK) != 0) {
		errno = EBADMSG;
		return -1;
	}
	if (avail < IPC_HDR_SIZE + hdr.len)
		return 0;

	msg->hdr = hdr;
	msg->body = c->rbuf + c->roff + IPC_HDR_SIZE;
	msg->fd = -1;
	if (hdr.flags & IPC_F_FD) {
		if (c->nrfds == 0) {
			errno = EBADMSG;
			return -1;
		}
		msg->fd = c->rfds[0];
		for (i = 1; i < c->nrfds; i++)
			c->rfds[i - 1] = c->rfds[i];
		c->nrfds--;
	}
	return 1;
}

/*
 * Drops the frame that ipc_get returned; the space is reclaimed before the
 * next read, so a burst of small frames costs no copying per frame.
 */
void
ipc_consume(struct ipc_conn *c, struct ipc_msg *msg)
{
	if (c->wipe)
		explicit_bzero(c->rbuf + c->roff, IPC_HDR_SIZE + msg->hdr.len);
	c->roff += IPC_HDR_SIZE + msg->hdr.len;
	if (c->roff == c->rlen)
		c->roff = c->rlen = 0;
}

/*
 * Writes as much of the queue as the socket takes, many frames per call.
 * A frame with a descriptor starts its own sendmsg, because the kernel ties
 * the descriptor to the first byte of that call. Returns 0 when the queue is
 * empty, 1 when the socket is full, -1 on error.
 */
int
ipc_flush(struct ipc_conn *c)
{
	struct iovec	 iov[IPC_IOV_MAX];
	struct msghdr	 msg;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct cmsghdr	*cm;
	struct ipc_out	*o, *first;
	ssize_t		 n;
	size_t		 done;
	int		 niov;

	while ((first = TAILQ_FIRST(&c->wq)) != NULL) {
		memset(&msg, 0, sizeof(msg));
		niov = 0;
		TAILQ_FOREACH(o, &c->wq, entry) {
			if (niov == IPC_IOV_MAX || (o != first && o->fd != -1))
				break;
			iov[niov].iov_base = o->buf + o->off;
			iov[niov].iov_len = o->len - o->off;
			niov++;
		}
		msg.msg_iov = iov;
		msg.msg_iovlen = niov;
		if (first->fd != -1) {
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_control = &cmsgbuf.buf;
			msg.msg_controllen = sizeof(cmsgbuf.buf);
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			memcpy(CMSG_DATA(cm), &first->fd, sizeof(int));
		}

		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			return -1;
		}

		/* The descriptor went with the first byte; ours is a copy. */
		if (first->fd != -1) {
			close(first->fd);
			first->fd = -1;
		}
		for (done = n; done > 0 && (o = TAILQ_FIRST(&c->wq)) != NULL;) {
			size_t	 left = o->len - o->off;

			if (done < left) {
				o->off += done;
				break;
			}
			done -= left;
			c->wqbytes -= o->len;
			TAILQ_REMOVE(&c->wq, o, entry);
			ipc_out_free(c, o);
		}
	}
	return 0;
}

void
ipc_wbuf_init(struct ipc_wbuf *wb, uint32_t nfields)
{
	static const char	 zero[IPC_HDR_SIZE];

	msgpack_sbuffer_init(&wb->sb);
	/*
	 * Most bodies are small: msgpack's first buffer of 8 KiB is too
	 * large for malloc's per-thread cache, which showed in the profile.
	 * The buffer doubles as it fills, from here or from 8 KiB when this
	 * allocation fails.
	 */
	if ((wb->sb.data = malloc(IPC_WBUF_FIRST)) != NULL)
		wb->sb.alloc = IPC_WBUF_FIRST;
	msgpack_packer_init(&wb->pk, &wb->sb, msgpack_sbuffer_write);
	/* The header is filled in place by ipc_compose: no copy of the body. */
	msgpack_sbuffer_write(&wb->sb, zero, sizeof(zero));
	msgpack_pack_array(&wb->pk, nfields);
}

void
ipc_wbuf_free(struct ipc_wbuf *wb)
{
	msgpack_sbuffer_destroy(&wb->sb);
}

/*
 * Queues one frame of the given type; fd (or -1) is passed with it and
 * closed here once sent. The body is taken over, even on error.
 */
int
ipc_compose(struct ipc_conn *c, uint32_t type, uint32_t peerid, int fd,
    struct ipc_wbuf *wb)
{
	struct ipc_wbuf	 empty;
	struct ipc_hdr	 hdr;
	struct ipc_out	*o;

	if (wb == NULL) {
		ipc_wbuf_init(&empty, 0);
		wb = &empty;
	}
	if (wb->sb.data == NULL || wb->sb.size > IPC_FRAME_MAX ||
	    c->closing) {
		ipc_wbuf_free(wb);
		if (fd != -1)
			close(fd);
		errno = c->closing ? EPIPE : EMSGSIZE;
		return -1;
	}

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = wb->sb.size - IPC_HDR_SIZE;
	hdr.peerid = peerid;
	hdr.pid = ipc_getpid();
	hdr.flags = fd != -1 ? IPC_F_FD : 0;
	memcpy(wb->sb.data, &hdr, sizeof(hdr));

	if ((o = calloc(1, sizeof(*o))) == NULL) {
		ipc_wbuf_free(wb);
		if (fd != -1)
			close(fd);
		return -1;
	}
	o->len = wb->sb.size;
	o->buf = msgpack_sbuffer_release(&wb->sb);
	o->fd = fd;
	TAILQ_INSERT_TAIL(&c->wq, o, entry);
	c->wqbytes += o->len;

	/*
	 * Write once at the end of this event-loop pass, so every frame
	 * produced while handling one wake-up goes out in one sendmsg.
	 */
	if (c->wev != NULL && !event_pending(c->wev, EV_WRITE, NULL))
		event_active(c->wev, EV_WRITE, 0);
	return 0;
}

/* Queues a frame with an empty body. */
int
ipc_send(struct ipc_conn *c, uint32_t type, uint32_t peerid, int fd)
{
	return ipc_compose(c, type, peerid, fd, NULL);
}

struct ipc_conn *
ipc_conn_new(struct event_base *base, int fd, const char *name,
    ipc_dispatch_cb dispatch, ipc_error_cb error, void *arg)
{
	struct ipc_conn	*c;
	int		 flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		return NULL;
	if ((c = malloc(sizeof(*c))) == NULL)
		return NULL;
	ipc_conn_init(c, fd, name);
	c->base = base;
	c->dispatch = dispatch;
	c->error = error;
	c->arg = arg;
	c->rev = event_new(base, fd, EV_READ | EV_PERSIST, ipc_read_cb, c);
	c->wev = event_new(base, fd, EV_WRITE, ipc_write_cb, c);
	c->fev = evtimer_new(base, ipc_fail_cb, c);
	if (c->rev == NULL || c->wev == NULL || c->fev == NULL ||
	    event_add(c->rev, NULL) == -1) {
		/* The socket stays open: on failure the caller still owns it. */
		c->fd = -1;
		ipc_conn_free(c);
		return NULL;
	}
	return c;
}

/* Frees the connection and closes its socket. */
void
ipc_conn_free(struct ipc_conn *c)
{
	if (c == NULL)
		return;
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	if (c->fev != NULL)
		event_free(c->fev);
	ipc_conn_clear(c);
	if (c->fd != -1)
		close(c->fd);
	free(c);
}

/*
 * Stops all traffic on the connection and reports why from a fresh
 * event-loop pass, so the error callback may free the connection while
 * no caller up the stack still uses it.
 */
void
ipc_conn_fail(struct ipc_conn *c, const char *why)
{
	static const struct timeval	 now = { 0, 0 };

	if (c->closing)
		return;
	c->closing = 1;
	c->failure = why;
	event_del(c->rev);
	event_del(c->wev);
	if (c->fev != NULL)
		evtimer_add(c->fev, &now);
}

static void
ipc_fail_cb(evutil_socket_t fd, short events, void *arg)
{
	struct ipc_conn	*c = arg;

	if (c->error != NULL)
		c->error(c, c->failure, c->arg);
}

/*
 * Reads everything the socket holds, then dispatches every complete frame
 * before returning to the loop: one wake-up serves all queued messages.
 * The dispatch callback may free the connection only through the error
 * path, so it is not touched after a failure.
 */
static void
ipc_read_cb(evutil_socket_t fd, short events, void *arg)
{
	struct ipc_conn	*c = arg;
	struct ipc_msg	 msg;
	ssize_t		 n;
	int		 r = 0, eof = 0;

	for (;;) {
		n = ipc_read(c);
		if (n == 0) {
			eof = 1;
			break;
		}
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EMSGSIZE)
				break;	/* buffer full: dispatch, then read on */
			ipc_conn_fail(c, errno == EBADMSG ?
			    "descriptor lost in transit" : "read failed");
			return;
		}
	}

	while (!c->closing && (r = ipc_get(c, &msg)) == 1) {
		c->dispatch(c, &msg, c->arg);
		if (c->closing)
			return;
		ipc_consume(c, &msg);
	}
	if (c->closing)
		return;
	if (r == -1) {
		ipc_conn_fail(c, "malformed frame");
		return;
	}
	if (eof)
		ipc_conn_fail(c, c->rlen > c->roff ?
		    "truncated frame at end of file" :
		    "connection closed");
}

static void
ipc_write_cb(evutil_socket_t fd, short events, void *arg)
{
	struct ipc_conn	*c = arg;

	switch (ipc_flush(c)) {
	case 0:
		break;
	case 1:
		event_add(c->wev, NULL);
		break;
	default:
		ipc_conn_fail(c, "write failed");
		break;
	}
}
