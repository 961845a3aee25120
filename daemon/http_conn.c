/*
 * Connections of the http child. Every connection's bufferevent is a
 * filter in front of evhttp: the bytes a client sends pass the framing
 * check of http_edge.c first, one request at a time, and the deadlines,
 * the connection cap and the per-connection request cap live here.
 *
 * A request that breaks a rule gets its error reply from here, after any
 * reply still being written, and the connection is closed once the reply
 * is flushed. evhttp never sees such a request, so its own HTML errors and
 * its lenient parsing are never reached.
 */

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>
#include <sodium.h>

#include "benjid.h"
#include "http_edge.h"

/* Descriptors kept free for IPC, syslog and libevent beside connections. */
#define HTTP_CONN_FD_RESERVE	32
/* How long input is drained after an error reply before the close. */
#define HTTP_CONN_LINGER_MS	2000

enum http_conn_phase {
	CONN_IDLE = 0,		/* waiting for the first byte of a request */
	CONN_HEAD,		/* reading a request head */
	CONN_BODY,		/* reading a request body */
	CONN_BUSY,		/* request handed to evhttp, reply pending */
	CONN_STALLED,		/* replies queued, waiting for the client */
	CONN_CLOSING		/* error reply queued, closing when flushed */
};

struct http_conn {
	TAILQ_ENTRY(http_conn)	 waiting;	/* IDLE, HEAD, BODY: by age */
	int			 in_waiting;
	struct bufferevent	*filter;	/* what evhttp reads */
	struct bufferevent	*under;		/* the socket */
	struct event		*timer;
	struct event		*resume;
	struct event		*flush;
	int			 fd;
	int			 setup_done;
	int			 reject;	/* over the cap, nothing to evict */
	int			 closed;	/* freed by evhttp, not yet by us */
	enum http_conn_phase	 phase;
	uint64_t		 nrequests;
	uint64_t		 request_start_us;
	char			 client[INET6_ADDRSTRLEN];
	struct http_edge	 edge;
};
TAILQ_HEAD(http_conn_list, http_conn);

static struct event_base	*conn_base;
static struct http_conn		**conn_by_fd;
static size_t			 conn_by_fd_len;
static struct http_conn_list	 conn_waiting =
				    TAILQ_HEAD_INITIALIZER(conn_waiting);
static size_t			 conn_count;
static struct http_edge_limits	 conn_limits = {
	8192, 16384, 100, 1024 * 1024, 10 * 1024 * 1024
};
static struct http_conn_settings conn_settings = {
	65536, 1024, 100, 10000, 30000, 75000, 30000
};

static void	conn_close(struct http_conn *);
static void	conn_fail(struct http_conn *, int, const char *,
		    const char *);

static uint64_t
conn_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
conn_timer_set(struct http_conn *c, uint64_t ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

static void
conn_waiting_remove(struct http_conn *c)
{
	if (c->in_waiting) {
		TAILQ_REMOVE(&conn_waiting, c, waiting);
		c->in_waiting = 0;
	}
}

/* Moves c to a phase where it waits for its client, and starts the clock. */
static void
conn_wait(struct http_conn *c, enum http_conn_phase phase, uint64_t ms)
{
	c->phase = phase;
	conn_waiting_remove(c);
	TAILQ_INSERT_TAIL(&conn_waiting, c, waiting);
	c->in_waiting = 1;
	conn_timer_set(c, ms);
}

static void
conn_client_address(struct http_conn *c)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	const void		*addr = NULL;

	snprintf(c->client, sizeof(c->client), "-");
	if (getpeername(c->fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	if (ss.ss_family == AF_INET)
		addr = &((struct sockaddr_in *)&ss)->sin_addr;
	else if (ss.ss_family == AF_INET6)
		addr = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	if (addr != NULL)
		inet_ntop(ss.ss_family, addr, c->client, sizeof(c->client));
}

/*
 * Finishes what bevcb could not do: evhttp sets the socket only after
 * creating the bufferevent.
 */
static void
conn_setup(struct http_conn *c)
{
	if (c->setup_done)
		return;
	c->setup_done = 1;
	c->fd = bufferevent_getfd(c->under);
	if (c->fd >= 0 && (size_t)c->fd < conn_by_fd_len)
		conn_by_fd[c->fd] = c;
	conn_client_address(c);
	if (c->reject) {
		conn_fail(c, 503, "UNAVAILABLE", "too many connections");
		return;
	}
	conn_wait(c, CONN_IDLE, conn_settings.head_timeout_ms);
}

static void
conn_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct http_conn	*c = arg;

	if (c->closed)
		return;
	if (!c->setup_done) {
		conn_setup(c);
		return;
	}
	switch (c->phase) {
	case CONN_IDLE:
		log_debug("closing idle connection from %s", c->client);
		conn_close(c);
		break;
	case CONN_HEAD:
		conn_fail(c, 408, "REQUEST_TIMEOUT",
		    "request head not received in time");
		break;
	case CONN_BODY:
		conn_fail(c, 408, "REQUEST_TIMEOUT",
		    "request body not received in time");
		break;
	default:
		/* A reply that cannot be flushed in time: drop it. */
		conn_close(c);
		break;
	}
}

/*
 * Frees the connection through evhttp, which owns it. libevent may run the
 * filter's free callback later, so c leaves every list and timer now.
 */
static void
conn_close(struct http_conn *c)
{
	struct evhttp_connection	*evcon = NULL;

	if (c->closed)
		return;
	c->closed = 1;
	conn_waiting_remove(c);
	evtimer_del(c->timer);
	event_del(c->resume);
	event_del(c->flush);
	if (c->fd >= 0 && (size_t)c->fd < conn_by_fd_len &&
	    conn_by_fd[c->fd] == c)
		conn_by_fd[c->fd] = NULL;
	conn_count--;

	/*
	 * NOTE: evhttp 2.1.12 sets its connection as the argument of the
	 * bufferevent's callbacks; the public API offers no other way from
	 * a bufferevent to its evhttp_connection.
	 */
	bufferevent_getcb(c->filter, NULL, NULL, NULL, (void **)&evcon);
	if (evcon != NULL)
		evhttp_connection_free(evcon);
	else
		bufferevent_free(c->filter);
}

static void
conn_flush_event_cb(struct bufferevent *bev, short events, void *arg)
{
	conn_close(arg);
}

static void
conn_discard_cb(struct bufferevent *bev, void *arg)
{
	struct evbuffer	*in = bufferevent_get_input(bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

/*
 * Closing a socket with unread input makes the kernel send a reset, which
 * can destroy the error reply before the client reads it. So the reply is
 * followed by a FIN, and what the client still sends is read and dropped
 * until it closes too or HTTP_CONN_LINGER_MS pass.
 */
static void
conn_flushed_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn	*c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	shutdown(c->fd, SHUT_WR);
	conn_waiting_remove(c);
	TAILQ_INSERT_HEAD(&conn_waiting, c, waiting);
	c->in_waiting = 1;
	bufferevent_setcb(bev, conn_discard_cb, NULL, conn_flush_event_cb, c);
	bufferevent_setwatermark(bev, EV_READ, 0, 0);
	bufferevent_disable(bev, EV_WRITE);
	bufferevent_enable(bev, EV_READ);
	conn_timer_set(c, HTTP_CONN_LINGER_MS);
}


static void
conn_log(struct http_conn *c, int status, size_t bytes, const char *id)
{
	char	 st[8], sz[24], us[24];

	snprintf(st, sizeof(st), "%d", status);
	snprintf(sz, sizeof(sz), "%zu", bytes);
	snprintf(us, sizeof(us), "%llu", (unsigned long long)
	    (c->request_start_us ? conn_now_us() - c->request_start_us : 0));
	log_kv(LOG_INFO, "request",
	    "method", c->edge.method_len ? c->edge.method : "-",
	    "path", c->edge.path_len ? c->edge.path : "-",
	    "status", st, "bytes", sz, "duration_us", us,
	    "request_id", id, "client", c->client, LOG_FIELDS_END);
}

/* Closes the connection once the socket has sent what it holds. */
static void
conn_shutdown(struct http_conn *c)
{
	conn_waiting_remove(c);
	c->phase = CONN_CLOSING;
	bufferevent_disable(c->under, EV_READ);
	bufferevent_setcb(c->under, NULL, conn_flushed_cb, conn_flush_event_cb,
	    c);
	bufferevent_setwatermark(c->under, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(c->under)) == 0) {
		conn_flushed_cb(c->under, c);
		return;
	}
	bufferevent_enable(c->under, EV_WRITE);
	conn_timer_set(c, conn_settings.write_timeout_ms);
}

/*
 * Queues the error reply behind whatever the socket still has to send,
 * then closes the connection once it is flushed or the write deadline
 * passes. The request's bytes never reach evhttp.
 */
static void
conn_fail(struct http_conn *c, int status, const char *code,
    const char *message)
{
	struct json_object	*body;
	struct evbuffer		*out = bufferevent_get_output(c->under);
	unsigned char		 raw[16];
	char			 id[33];
	const char		*text;
	size_t			 len;

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(id, sizeof(id), raw, sizeof(raw));
	body = json_object_new_object();
	json_object_object_add(body, "code", json_object_new_string(code));
	json_object_object_add(body, "message",
	    json_object_new_string(message));
	json_object_object_add(body, "details", json_object_new_object());
	text = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN,
	    &len);
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\nX-Request-Id: %s\r\n\r\n", status,
	    http_status_reason(status), len, id);
	if (c->edge.method_bit != EVHTTP_REQ_HEAD)
		evbuffer_add(out, text, len);
	conn_log(c, status, len, id);
	json_object_put(body);
	conn_shutdown(c);
}

/* The phase after the parser took bytes: body, or still the head. */
static void
conn_after_bytes(struct http_conn *c)
{
	if (c->phase == CONN_IDLE && http_edge_started(&c->edge)) {
		/* The first request's clock started at accept already. */
		if (c->nrequests == 0)
			c->phase = CONN_HEAD;
		else
			conn_wait(c, CONN_HEAD, conn_settings.head_timeout_ms);
	}
	if (c->phase == CONN_HEAD && !http_edge_in_head(&c->edge) &&
	    c->edge.state != EDGE_DONE)
		conn_wait(c, CONN_BODY, conn_settings.body_timeout_ms);
}

/*
 * The input filter: moves the bytes of at most one request to evhttp.
 * While evhttp works on a request, the rest stays in the socket's buffer,
 * whose watermark then stops reading.
 */
static enum bufferevent_filter_result
conn_filter(struct evbuffer *src, struct evbuffer *dst, ev_ssize_t limit,
    enum bufferevent_flush_mode mode, void *arg)
{
	struct http_conn	*c = arg;
	struct evbuffer_iovec	 vec;
	size_t			 used;
	int			 rc, moved = 0;

	if (c->closed)
		return BEV_NEED_MORE;
	conn_setup(c);
	while (c->phase != CONN_BUSY && c->phase != CONN_STALLED &&
	    c->phase != CONN_CLOSING && evbuffer_get_length(src) > 0) {
		if (evbuffer_peek(src, -1, NULL, &vec, 1) < 1)
			break;
		if (c->request_start_us == 0)
			c->request_start_us = conn_now_us();
		rc = http_edge_feed(&c->edge, vec.iov_base, vec.iov_len, &used);
		if (rc == EDGE_ERROR) {
			conn_fail(c, c->edge.error.status, c->edge.error.code,
			    c->edge.error.message);
			return BEV_NEED_MORE;
		}
		evbuffer_remove_buffer(src, dst, used);
		moved = 1;
		conn_after_bytes(c);
		if (rc == EDGE_END) {
			conn_waiting_remove(c);
			evtimer_del(c->timer);
			c->phase = CONN_BUSY;
			c->nrequests++;
		}
	}
	return moved ? BEV_OK : BEV_NEED_MORE;
}

static void
conn_resume_cb(evutil_socket_t fd, short events, void *arg)
{
	struct http_conn	*c = arg;

	/* Runs the filter on what arrived while the reply was made. */
	if (!c->closed && evbuffer_get_length(bufferevent_get_input(c->under)) > 0)
		bufferevent_trigger(c->under, EV_READ,
		    BEV_TRIG_IGNORE_WATERMARKS);
}

/*
 * Returns 1 when the connection ends with this reply, and takes that
 * decision away from evhttp. Behind a filter, evhttp learns that a reply
 * is written once it reaches the socket's buffer, not the socket, and its
 * close would drop what the buffer still holds. The headers are already
 * sent, so changing them here only changes evhttp's decision.
 */
static int
conn_reply_closes(struct http_conn *c, struct evhttp_request *req)
{
	struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	const char		*value;
	int			 close = 0, keepalive = 0;

	if ((value = evhttp_find_header(in, "Connection")) != NULL) {
		close = strcasestr(value, "close") != NULL;
		keepalive = strcasestr(value, "keep-alive") != NULL;
	}
	if ((value = evhttp_find_header(out, "Connection")) != NULL &&
	    strcasecmp(value, "close") == 0)
		close = 1;
	if (c->edge.http10 && !keepalive)
		close = 1;
	if (!close)
		return 0;

	while (evhttp_remove_header(in, "Connection") == 0)
		;
	while (evhttp_remove_header(out, "Connection") == 0)
		;
	if (c->edge.http10)
		evhttp_add_header(in, "Connection", "keep-alive");
	return 1;
}

/* Called by evhttp once a reply is in the socket's buffer. */
static void
conn_reply_done(struct evhttp_request *req, void *arg)
{
	struct http_conn	*c = arg;

	if (c->closed || c->phase != CONN_BUSY)
		return;
	if (conn_reply_closes(c, req)) {
		conn_shutdown(c);
		return;
	}
	http_edge_init(&c->edge, &conn_limits);
	c->request_start_us = 0;
	/*
	 * A client that sends requests without reading the replies would
	 * make them pile up here: its next request waits until the socket
	 * has taken all but read-buffer bytes, within the write timeout.
	 */
	if (evbuffer_get_length(bufferevent_get_output(c->under)) >
	    conn_settings.read_buffer) {
		conn_wait(c, CONN_STALLED, conn_settings.write_timeout_ms);
		return;
	}
	conn_wait(c, CONN_IDLE, conn_settings.idle_timeout_ms);
	event_active(c->resume, EV_TIMEOUT, 0);
}

/* Reads the next request of a stalled client once its replies drain. */
static void
conn_drained_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct http_conn	*c = arg;

	if (c->closed || c->phase != CONN_STALLED || info->n_deleted == 0 ||
	    evbuffer_get_length(buf) > conn_settings.read_buffer)
		return;
	conn_wait(c, CONN_IDLE, conn_settings.idle_timeout_ms);
	event_active(c->resume, EV_TIMEOUT, 0);
}

/*
 * libevent 2.1.12 moves a filter's output to the socket only while the
 * filter is enabled for writing, and evhttp adds its reply before it
 * enables that: without this flush, a reply waits for the next event.
 */
static void
conn_output_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct http_conn	*c = arg;

	if (!c->closed && info->n_added > 0)
		event_active(c->flush, EV_TIMEOUT, 0);
}

/*
 * Writes the reply to the socket in the pass that made it. Handing it to
 * the socket's bufferevent instead costs an epoll_ctl to watch for
 * writing, a loop pass and another epoll_ctl per reply. What the socket
 * does not take, or a reply behind other queued bytes, goes the usual
 * way. evhttp learns that the reply left, as it would from the filter,
 * only after the last use of c here: it may free the connection.
 */
static void
conn_flush_cb(evutil_socket_t fd, short events, void *arg)
{
	struct http_conn	*c = arg;
	struct evbuffer		*out;

	if (c->closed)
		return;
	out = bufferevent_get_output(c->filter);
	if (c->fd >= 0 && c->phase == CONN_BUSY &&
	    evbuffer_get_length(bufferevent_get_output(c->under)) == 0 &&
	    (bufferevent_get_enabled(c->filter) & EV_WRITE) &&
	    evbuffer_write(out, c->fd) > 0 && evbuffer_get_length(out) == 0) {
		bufferevent_trigger(c->filter, EV_WRITE, 0);
		return;
	}
	bufferevent_flush(c->filter, EV_WRITE, BEV_NORMAL);
}

static void
conn_free(void *arg)
{
	struct http_conn	*c = arg;

	/* evhttp may free a connection itself, after Connection: close. */
	if (!c->closed) {
		c->closed = 1;
		conn_waiting_remove(c);
		if (c->fd >= 0 && (size_t)c->fd < conn_by_fd_len &&
		    conn_by_fd[c->fd] == c)
			conn_by_fd[c->fd] = NULL;
		conn_count--;
	}
	event_free(c->timer);
	event_free(c->resume);
	event_free(c->flush);
	free(c);
}

/*
 * Creates the bufferevent of a new connection. At the cap, the connection
 * that has waited longest for its client makes room; when every
 * connection is busy with a reply, the new one gets a 503.
 */
static struct bufferevent *
conn_new(struct event_base *base, void *arg)
{
	struct http_conn	*c, *oldest;

	if (conn_count >= conn_settings.connections_max &&
	    (oldest = TAILQ_FIRST(&conn_waiting)) != NULL) {
		log_debug("connection limit reached, closing the oldest "
		    "waiting connection from %s", oldest->client);
		conn_close(oldest);
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = -1;
	c->reject = conn_count >= conn_settings.connections_max;
	http_edge_init(&c->edge, &conn_limits);
	c->under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	c->timer = evtimer_new(base, conn_timer_cb, c);
	c->resume = event_new(base, -1, 0, conn_resume_cb, c);
	c->flush = event_new(base, -1, 0, conn_flush_cb, c);
	if (c->under == NULL || c->timer == NULL || c->resume == NULL ||
	    c->flush == NULL)
		goto fail;
	c->filter = bufferevent_filter_new(c->under, conn_filter, NULL,
	    BEV_OPT_CLOSE_ON_FREE, conn_free, c);
	if (c->filter == NULL)
		goto fail;
	conn_count++;
	/* Waiting from the start, so that it can make room before setup. */
	TAILQ_INSERT_TAIL(&conn_waiting, c, waiting);
	c->in_waiting = 1;
	if (evbuffer_add_cb(bufferevent_get_output(c->filter), conn_output_cb,
	    c) == NULL || evbuffer_add_cb(bufferevent_get_output(c->under),
	    conn_drained_cb, c) == NULL) {
		bufferevent_free(c->filter);
		return NULL;
	}
	bufferevent_setwatermark(c->under, EV_READ, 0,
	    conn_settings.read_buffer);
	conn_timer_set(c, 0);
	return c->filter;
 fail:
	if (c->under != NULL)
		bufferevent_free(c->under);
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->resume != NULL)
		event_free(c->resume);
	if (c->flush != NULL)
		event_free(c->flush);
	free(c);
	return NULL;
}

/*
 * Hooks a request that evhttp has read to its connection. Returns 1 when
 * it is the connection's last request, so that the reply closes it.
 */
int
http_conn_request(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	struct bufferevent		*under;
	struct http_conn		*c;
	int				 fd;

	if ((evcon = evhttp_request_get_connection(req)) == NULL)
		return 1;
	under = bufferevent_get_underlying(
	    evhttp_connection_get_bufferevent(evcon));
	if (under == NULL || (fd = bufferevent_getfd(under)) < 0 ||
	    (size_t)fd >= conn_by_fd_len || (c = conn_by_fd[fd]) == NULL ||
	    c->under != under)
		return 1;
	evhttp_request_set_on_complete_cb(req, conn_reply_done, c);
	return c->nrequests >= conn_settings.requests_max;
}

size_t
http_conn_count(void)
{
	return conn_count;
}

/*
 * Returns 1 while a reply is still on its way to a client's socket: the
 * process must not exit before the kernel has the bytes.
 */
int
http_conn_output_pending(void)
{
	struct http_conn	*c;
	size_t			 i;

	for (i = 0; i < conn_by_fd_len; i++) {
		if ((c = conn_by_fd[i]) == NULL || c->closed)
			continue;
		if (c->phase == CONN_BUSY ||
		    evbuffer_get_length(bufferevent_get_output(c->filter)) > 0 ||
		    evbuffer_get_length(bufferevent_get_output(c->under)) > 0)
			return 1;
	}
	return 0;
}

void
http_conn_configure(const struct http_edge_limits *limits,
    const struct http_conn_settings *settings)
{
	conn_limits = *limits;
	conn_settings = *settings;
	if (conn_settings.connections_max + HTTP_CONN_FD_RESERVE >
	    conn_by_fd_len) {
		conn_settings.connections_max = conn_by_fd_len >
		    HTTP_CONN_FD_RESERVE ? conn_by_fd_len -
		    HTTP_CONN_FD_RESERVE : 1;
		log_warnx("http max-connections lowered to %llu by the "
		    "open file limit", (unsigned long long)
		    conn_settings.connections_max);
	}
}

/*
 * Runs before the privilege drop: raises the open file limit, which the
 * unprivileged child could not raise, and sizes the table of connections.
 */
void
http_conn_init(struct event_base *base, struct evhttp *server)
{
	struct rlimit	 rl;

	conn_base = base;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit RLIMIT_NOFILE");
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > HTTP_CONN_FD_MAX)
		rl.rlim_max = HTTP_CONN_FD_MAX;
	if (rl.rlim_max < HTTP_CONN_FD_WANT)
		rl.rlim_max = HTTP_CONN_FD_WANT;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 &&
	    getrlimit(RLIMIT_NOFILE, &rl) == -1)
		fatal("getrlimit RLIMIT_NOFILE");
	if (rl.rlim_cur > HTTP_CONN_FD_MAX)
		rl.rlim_cur = HTTP_CONN_FD_MAX;
	conn_by_fd_len = rl.rlim_cur;
	if ((conn_by_fd = calloc(conn_by_fd_len, sizeof(*conn_by_fd))) == NULL)
		fatal("http connection table");
	evhttp_set_bevcb(server, conn_new, NULL);
}
