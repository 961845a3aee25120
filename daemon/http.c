/*
 * The http child: the libevent evhttp server facing clients. It routes and
 * validates requests, asks its siblings over IPC and renders JSON. It holds
 * no secret and opens no file or socket of its own.
 */

#include <sys/queue.h>
#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "benjid.h"

#define HTTP_LISTEN_MAX		(BENJID_LISTEN_MAX * 4)
#define HTTP_PING_TIMEOUT_MS	1000

/* The siblings a liveness check waits for. */
#define HTTP_PING_PEERS	((1u << PROC_FETCHER) | (1u << PROC_DB) | \
			    (1u << PROC_SECRETS))

struct http_ping {
	TAILQ_ENTRY(http_ping)	 entry;
	uint32_t		 id;
	unsigned int		 waiting;	/* bit per sibling */
	struct evhttp_request	*req;
	struct event		*timeout;
};
TAILQ_HEAD(http_pings, http_ping);

struct http_route {
	const char	*path;
	int		 methods;	/* EVHTTP_REQ_* bits */
	const char	*allow;
	void		(*fn)(struct evhttp_request *);
};

static void	http_liveness(struct evhttp_request *);

static const struct http_route http_routes[] = {
	{ "/actuator/health/liveness", EVHTTP_REQ_GET, "GET",
	    http_liveness },
};

static struct privsep		*http_ps;
static struct evhttp		*http_server;
static struct evhttp_bound_socket *http_bound[HTTP_LISTEN_MAX];
static size_t			 http_nbound;
static struct http_pings	 http_pings = TAILQ_HEAD_INITIALIZER(http_pings);
static uint32_t			 http_next_id;
static int			 http_stopping;

/* Sends a JSON reply and releases the body. */
static void
http_reply_json(struct evhttp_request *req, int status, json_t *body)
{
	struct evbuffer	*buf;
	char		*text;

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	buf = evbuffer_new();
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (buf != NULL && text != NULL)
		evbuffer_add(buf, text, strlen(text));
	free(text);
	evhttp_send_reply(req, status, NULL, buf);
	if (buf != NULL)
		evbuffer_free(buf);
}

static void
http_error(struct evhttp_request *req, int status, const char *code,
    const char *message)
{
	http_reply_json(req, status, json_pack("{s:s, s:s, s:{}}",
	    "code", code, "message", message, "details"));
}

static void
http_ping_free(struct http_ping *p)
{
	TAILQ_REMOVE(&http_pings, p, entry);
	event_free(p->timeout);
	free(p);
}

static void
http_ping_finish(struct http_ping *p, int up)
{
	if (up)
		http_reply_json(p->req, 200, json_pack("{s:s}", "status", "UP"));
	else
		http_reply_json(p->req, 503,
		    json_pack("{s:s}", "status", "DOWN"));
	http_ping_free(p);
}

static void
http_ping_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct http_ping	*p = arg;

	log_warnx("liveness: no answer within %d ms", HTTP_PING_TIMEOUT_MS);
	http_ping_finish(p, 0);
}

/*
 * Liveness is UP only when every sibling answers a ping: a child that is
 * restarting, or stuck, makes this process unable to serve.
 */
static void
http_liveness(struct evhttp_request *req)
{
	struct http_ping	*p;
	struct timeval		 tv = { 0, HTTP_PING_TIMEOUT_MS * 1000 };
	enum procid		 peer;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		http_error(req, 503, "UNAVAILABLE", "out of memory");
		return;
	}
	p->id = ++http_next_id;
	p->req = req;
	p->timeout = evtimer_new(http_ps->base, http_ping_timeout, p);
	if (p->timeout == NULL) {
		free(p);
		http_error(req, 503, "UNAVAILABLE", "out of memory");
		return;
	}
	TAILQ_INSERT_TAIL(&http_pings, p, entry);

	for (peer = PROC_FETCHER; peer < PROC_MAX; peer++) {
		if (!(HTTP_PING_PEERS & (1u << peer)))
			continue;
		if (proc_compose(http_ps, peer, IMSG_PING, p->id, -1,
		    NULL) == -1) {
			http_ping_finish(p, 0);
			return;
		}
		p->waiting |= 1u << peer;
	}
	evtimer_add(p->timeout, &tv);
}

static void
http_dispatch_pong(struct privsep *ps, enum procid peer, struct ipc_msg *msg)
{
	struct http_ping	*p;
	struct ipc_body		 b;
	uint64_t		 from;

	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_u64(&b, &from, PROC_MAX - 1) == -1 ||
	    ipc_get_end(&b) == -1 || from != peer)
		fatalx("http: malformed pong from %s", proc_name(peer));
	ipc_body_close(&b);

	TAILQ_FOREACH(p, &http_pings, entry)
		if (p->id == msg->hdr.peerid)
			break;
	if (p == NULL)
		return;		/* answered already, by its timeout */
	p->waiting &= ~(1u << peer);
	if (p->waiting == 0)
		http_ping_finish(p, 1);
}

static void
http_route(struct evhttp_request *req, void *arg)
{
	const struct http_route	*r;
	const char		*path;
	struct evhttp_uri	*uri;
	size_t			 i;

	uri = evhttp_uri_parse(evhttp_request_get_uri(req));
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (path == NULL) {
		http_error(req, 400, "BAD_REQUEST", "invalid request URI");
		goto done;
	}

	for (i = 0; i < sizeof(http_routes) / sizeof(http_routes[0]); i++) {
		r = &http_routes[i];
		if (strcmp(r->path, path) != 0)
			continue;
		if (!(evhttp_request_get_command(req) & r->methods)) {
			evhttp_add_header(evhttp_request_get_output_headers(req),
			    "Allow", r->allow);
			http_error(req, 405, "METHOD_NOT_ALLOWED",
			    "method not allowed on this path");
			goto done;
		}
		r->fn(req);
		goto done;
	}
	http_error(req, 404, "NOT_FOUND", "no such path");
 done:
	if (uri != NULL)
		evhttp_uri_free(uri);
}

static void
http_dispatch_listen(struct privsep *ps, enum procid peer,
    struct ipc_msg *msg)
{
	struct ipc_body	 b;
	char		 host[256];
	uint64_t	 port;

	if (msg->fd == -1 || ipc_body_open(&b, msg) == -1 ||
	    ipc_get_str(&b, host, sizeof(host)) == -1 ||
	    ipc_get_u64(&b, &port, 65535) == -1 || ipc_get_end(&b) == -1)
		fatalx("http: malformed listen message from parent");
	ipc_body_close(&b);
	if (http_nbound == HTTP_LISTEN_MAX)
		fatalx("http: too many listening sockets");

	http_bound[http_nbound] = evhttp_accept_socket_with_handle(http_server,
	    msg->fd);
	if (http_bound[http_nbound] == NULL)
		fatalx("http: cannot accept on %s port %u", host,
		    (unsigned int)port);
	http_nbound++;
	msg->fd = -1;
}

static void
http_init(struct privsep *ps)
{
	http_ps = ps;
	if ((http_server = evhttp_new(ps->base)) == NULL)
		fatalx("http: evhttp_new failed");
	evhttp_set_allowed_methods(http_server, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(http_server, http_route, NULL);
}

static void
http_peer_down(struct privsep *ps, enum procid peer)
{
	struct http_ping	*p, *next;

	/* Pending liveness checks cannot complete without that sibling. */
	for (p = TAILQ_FIRST(&http_pings); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->waiting & (1u << peer))
			http_ping_finish(p, 0);
	}
}

static void
http_exit_cb(evutil_socket_t fd, short events, void *arg)
{
	if (TAILQ_EMPTY(&http_pings) || events == EV_TIMEOUT)
		exit(0);
}

static void
http_shutdown(struct privsep *ps, unsigned int deadline_ms)
{
	struct timeval	 deadline = { deadline_ms / 1000,
			    (deadline_ms % 1000) * 1000 };
	struct timeval	 poll = { 0, 50 * 1000 };
	size_t		 i;

	if (http_stopping)
		return;
	http_stopping = 1;
	for (i = 0; i < http_nbound; i++)
		evhttp_del_accept_socket(http_server, http_bound[i]);
	http_nbound = 0;

	/* Finish what is in flight, checking every 50 ms, until the deadline. */
	event_add(event_new(ps->base, -1, EV_PERSIST, http_exit_cb, NULL),
	    &poll);
	event_base_once(ps->base, -1, EV_TIMEOUT, http_exit_cb, NULL,
	    &deadline);
}

static const struct privsep_handler http_dispatch_parent[] = {
	{ IMSG_CTL_LISTEN,	http_dispatch_listen },
	{ 0,			NULL }
};

static const struct privsep_handler http_dispatch_sibling[] = {
	{ IMSG_PONG,		http_dispatch_pong },
	{ 0,			NULL }
};

const struct privsep_proc http_proc = {
	.name =		"http",
	.id =		PROC_HTTP,
	.init =		http_init,
	.shutdown =	http_shutdown,
	.peer_down =	http_peer_down,
	.handlers = {
		[PROC_PARENT] =		http_dispatch_parent,
		[PROC_FETCHER] =	http_dispatch_sibling,
		[PROC_DB] =		http_dispatch_sibling,
		[PROC_SECRETS] =	http_dispatch_sibling,
	},
};
