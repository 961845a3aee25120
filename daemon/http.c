/*
 * The http child: the libevent evhttp server facing clients. It routes and
 * validates requests, asks its siblings over IPC and renders JSON. It holds
 * no secret and opens no file or socket of its own.
 */

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <sodium.h>

#include "benjid.h"
#include "http_edge.h"

#define HTTP_LISTEN_MAX		(BENJID_LISTEN_MAX * 4)

_Static_assert(HTTP_EDGE_PARAMS_MAX == HTTP_PARAMS_MAX,
    "route matching and hr->params must agree on the segment count");

/* One IPC request of a client request, waiting for its reply. */
struct http_pending {
	TAILQ_ENTRY(http_pending)	 entry;
	uint32_t			 id;
	enum procid			 peer;
	struct http_req			*hr;
	http_ipc_cb			 cb;
	void				*arg;
	struct event			 timeout;
};
TAILQ_HEAD(http_pendings, http_pending);

static const struct http_route *const http_route_tables[] = {
	http_actuator_routes,
	http_quote_routes,
	http_portfolio_routes,
	http_finance_routes,
	http_import_routes,
};

static struct privsep		*http_ps;
static struct event		*http_log_ev;
static struct evhttp		*http_server;
static struct evhttp_bound_socket *http_bound[HTTP_LISTEN_MAX];
static size_t			 http_nbound;
static struct http_pendings	 http_pendings =
				    TAILQ_HEAD_INITIALIZER(http_pendings);
static uint32_t			 http_next_id;
static unsigned int		 http_inflight;
static int			 http_stopping;

static uint64_t
http_now_us(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *
http_profile(void)
{
	return http_ps->profile;
}

static void
http_pending_free(struct http_pending *p)
{
	TAILQ_REMOVE(&http_pendings, p, entry);
	p->hr->npending--;
	event_del(&p->timeout);
	free(p);
}

static void
http_req_free(struct http_req *hr)
{
	struct http_pending	*p, *next;
	size_t			 i;

	for (p = TAILQ_FIRST(&http_pendings); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->hr == hr)
			http_pending_free(p);
	}
	if (hr->state_free != NULL)
		hr->state_free(hr->state);
	for (i = 0; i < hr->nparams; i++)
		free(hr->params[i]);
	if (hr->query != NULL) {
		evhttp_clear_headers(hr->query);
		free(hr->query);
	}
	free(hr->path);
	free(hr);
	http_inflight--;
}

static const char *
http_method_name(int method)
{
	switch (method) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	default:
		return "OTHER";
	}
}

/*
 * Writes v in decimal at the end of buf and returns where it starts. The
 * access log formats three numbers per request, which showed as snprintf
 * in the profile.
 */
static const char *
http_utoa(unsigned long long v, char *buf, size_t size)
{
	char	*p = buf + size;

	*--p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0 && p > buf);
	return p;
}

/* Writes the access log line; log_kv escapes every client byte. */
static void
http_access_log(struct http_req *hr, int status, size_t bytes,
    uint64_t duration_us)
{
	char	 st[24], sz[24], us[24];

	log_kv(LOG_INFO, "request",
	    "method", http_method_name(evhttp_request_get_command(hr->req)),
	    "path", evhttp_request_get_uri(hr->req),
	    "status", http_utoa((unsigned int)status, st, sizeof(st)),
	    "bytes", http_utoa(bytes, sz, sizeof(sz)),
	    "duration_us", http_utoa(duration_us, us, sizeof(us)),
	    "request_id", hr->id, "client", hr->client, LOG_FIELDS_END);
}

/*
 * Sends the reply and frees hr. A HEAD reply keeps the Content-Length of
 * the body it would have had, without the body: evhttp 2.1 would send it.
 */
static void
http_send(struct http_req *hr, int status, struct evbuffer *body)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(hr->req);
	size_t			 bytes = body ? evbuffer_get_length(body) : 0;
	uint64_t		 duration_us;
	char			 len[24];

	evhttp_add_header(out, "X-Request-Id", hr->id);
	if (hr->last_request)
		evhttp_add_header(out, "Connection", "close");
	if (evhttp_request_get_command(hr->req) == EVHTTP_REQ_HEAD) {
		snprintf(len, sizeof(len), "%zu", bytes);
		evhttp_remove_header(out, "Content-Length");
		evhttp_add_header(out, "Content-Length", len);
		body = NULL;
		bytes = 0;
	}
	duration_us = http_now_us() - hr->start_us;
	http_access_log(hr, status, bytes, duration_us);
	http_metrics_record(status, duration_us);
	evhttp_send_reply(hr->req, status, NULL, body);
	http_req_free(hr);
}

/* Sends body as JSON with the given status, then frees the request. */
void
http_reply_json(struct http_req *hr, int status, struct json_object *body)
{
	struct evbuffer	*buf;
	const char	*text;
	size_t		 len;

	evhttp_add_header(evhttp_request_get_output_headers(hr->req),
	    "Content-Type", "application/json");
	text = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if ((buf = evbuffer_new()) == NULL || text == NULL ||
	    evbuffer_add(buf, text, len) == -1) {
		json_object_put(body);
		if (buf != NULL)
			evbuffer_free(buf);
		http_send(hr, 500, NULL);
		return;
	}
	json_object_put(body);
	http_send(hr, status, buf);
	evbuffer_free(buf);
}

/* Makes the object {key: value}, for short bodies and details. */
struct json_object *
http_json_pair(const char *key, const char *value)
{
	struct json_object	*obj = json_object_new_object();

	json_object_object_add(obj, key, json_object_new_string(value));
	return obj;
}

/* Sends the error body {code, message, details}; details may be NULL. */
void
http_reply_error(struct http_req *hr, int status, const char *code,
    const char *message, struct json_object *details)
{
	struct json_object	*body = json_object_new_object();

	if (details == NULL)
		details = json_object_new_object();
	json_object_object_add(body, "code", json_object_new_string(code));
	json_object_object_add(body, "message",
	    json_object_new_string(message));
	json_object_object_add(body, "details", details);
	http_reply_json(hr, status, body);
}

/* Sends body, which it frees, as content_type, then frees the request. */
void
http_reply_buffer(struct http_req *hr, int status, const char *content_type,
    struct evbuffer *body)
{
	evhttp_add_header(evhttp_request_get_output_headers(hr->req),
	    "Content-Type", content_type);
	http_send(hr, status, body);
	evbuffer_free(body);
}

void
http_reply_empty(struct http_req *hr, int status)
{
	http_send(hr, status, NULL);
}

/*
 * Looks up a query parameter. Returns 1 with value set, 0 when absent,
 * and -1 after answering 400 when it is given more than once.
 */
int
http_query(struct http_req *hr, const char *name, const char **value)
{
	struct evkeyval	*kv;
	int		 found = 0;

	*value = NULL;
	TAILQ_FOREACH(kv, hr->query, next) {
		if (strcmp(kv->key, name) != 0)
			continue;
		if (found) {
			http_reply_error(hr, 400, "PARAMETER_REPEATED",
			    "query parameter given more than once",
			    http_json_pair("parameter", name));
			return -1;
		}
		*value = kv->value;
		found = 1;
	}
	return found;
}

struct evbuffer *
http_body(struct http_req *hr)
{
	return evhttp_request_get_input_buffer(hr->req);
}

const char *
http_header(struct http_req *hr, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(hr->req),
	    name);
}

static void
http_pending_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct http_pending	*p = arg;
	struct http_req		*hr = p->hr;
	http_ipc_cb		 cb = p->cb;
	enum procid		 peer = p->peer;
	void			*cbarg = p->arg;

	log_warnx("%s did not respond to request %s in time", proc_name(peer),
	    hr->id);
	http_pending_free(p);
	cb(hr, peer, NULL, cbarg);
}

/*
 * Sends one request to a sibling on behalf of a client request. cb runs
 * once: with the reply, or with a NULL message when the sibling is down or
 * does not answer within timeout_ms. Returns -1 when nothing was sent; the
 * caller still owns the reply to the client then.
 */
int
http_ipc_request(struct http_req *hr, enum procid peer, uint32_t type,
    struct ipc_wbuf *wb, unsigned int timeout_ms, http_ipc_cb cb, void *arg)
{
	struct http_pending	*p;
	struct timeval		 tv = { timeout_ms / 1000,
				    (timeout_ms % 1000) * 1000 };

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		ipc_wbuf_free(wb);
		return -1;
	}
	evtimer_assign(&p->timeout, http_ps->base, http_pending_timeout, p);
	/* Zero is never an id, so that a reply with peerid 0 matches none. */
	if (++http_next_id == 0)
		++http_next_id;
	p->id = http_next_id;
	p->peer = peer;
	p->hr = hr;
	p->cb = cb;
	p->arg = arg;
	if (proc_compose(http_ps, peer, type, p->id, -1, wb) == -1) {
		free(p);
		return -1;
	}
	TAILQ_INSERT_TAIL(&http_pendings, p, entry);
	hr->npending++;
	evtimer_add(&p->timeout, &tv);
	return 0;
}

/* Hands a sibling's reply to the client request waiting for it. */
void
http_dispatch_reply(struct privsep *ps, enum procid peer, struct ipc_msg *msg)
{
	struct http_pending	*p;
	struct http_req		*hr;
	http_ipc_cb		 cb;
	void			*arg;

	TAILQ_FOREACH(p, &http_pendings, entry)
		if (p->id == msg->hdr.peerid && p->peer == peer)
			break;
	if (p == NULL)
		return;		/* timed out, or the client request is gone */
	hr = p->hr;
	cb = p->cb;
	arg = p->arg;
	http_pending_free(p);
	cb(hr, peer, msg, arg);
}

static void
http_peer_down(struct privsep *ps, enum procid peer)
{
	struct http_pending	*p, *next;
	struct http_req		*hr;
	http_ipc_cb		 cb;
	void			*arg;

	/* Requests waiting for that sibling get their answer now: none. */
	for (p = TAILQ_FIRST(&http_pendings); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->peer != peer)
			continue;
		hr = p->hr;
		cb = p->cb;
		arg = p->arg;
		http_pending_free(p);
		cb(hr, peer, NULL, arg);
		/* The callback may have freed other entries: start over. */
		next = TAILQ_FIRST(&http_pendings);
	}
}

/* Copies the segments that matched "*" into hr->params, decoded. */
static int
http_route_params(const char *pattern, const char *rawpath,
    struct http_req *hr)
{
	const char	*p = pattern, *q = rawpath, *end;
	char		*decoded;
	size_t		 len;

	for (; *p != '\0'; p++) {
		if (*p != '*') {
			q++;
			continue;
		}
		end = strchr(q, '/');
		len = end ? (size_t)(end - q) : strlen(q);
		if (http_edge_decode(q, len, 0, &decoded, NULL) == -1)
			return -1;
		hr->params[hr->nparams++] = decoded;
		q += len;
	}
	return 0;
}

/* Runs the route's handler; called once the request may run. */
void
http_route_run(struct http_req *hr)
{
	hr->route->fn(hr);
}

/*
 * Finds the route for the path and method. When the path exists with
 * other methods only, returns NULL with allow listing them.
 */
static const struct http_route *
http_route_find(const char *path, int method, char *allow, size_t allowsz)
{
	const struct http_route	*r;
	size_t			 t;

	allow[0] = '\0';
	/* HEAD runs the GET handler; http_send drops the body. */
	if (method == EVHTTP_REQ_HEAD)
		method = EVHTTP_REQ_GET;
	for (t = 0; t < sizeof(http_route_tables) /
	    sizeof(http_route_tables[0]); t++) {
		for (r = http_route_tables[t]; r->pattern != NULL; r++) {
			if (!http_edge_route_match(r->pattern, path))
				continue;
			if (r->methods & method)
				return r;
			if (allow[0] != '\0')
				strncat(allow, ", ", allowsz - strlen(allow) - 1);
			strncat(allow, r->allow, allowsz - strlen(allow) - 1);
		}
	}
	return NULL;
}

/*
 * Random bytes for request ids, drawn 4 KiB at a time: libsodium makes one
 * getrandom system call per draw. The ids are not secrets.
 */
static void
http_id_random(unsigned char *buf, size_t len)
{
	static unsigned char	 pool[4096];
	static size_t		 left;

	if (left < len) {
		randombytes_buf(pool, sizeof(pool));
		left = sizeof(pool);
	}
	memcpy(buf, pool + sizeof(pool) - left, len);
	sodium_memzero(pool + sizeof(pool) - left, len);
	left -= len;
}

static void
http_request_id(struct http_req *hr)
{
	const char	*given = http_header(hr, "X-Request-Id");
	unsigned char	 raw[16];
	size_t		 i, len;

	if (given != NULL && (len = strlen(given)) > 0 &&
	    len <= HTTP_REQUEST_ID_MAX) {
		for (i = 0; i < len; i++) {
			char	 c = given[i];

			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			    c == '.'))
				break;
		}
		if (i == len) {
			memcpy(hr->id, given, len + 1);
			return;
		}
	}
	http_id_random(raw, sizeof(raw));
	sodium_bin2hex(hr->id, sizeof(hr->id), raw, sizeof(raw));
}

static void
http_client_address(struct http_req *hr)
{
	struct evhttp_connection	*evcon;
	const char			*addr = NULL;
	ev_uint16_t			 port = 0;

	evcon = evhttp_request_get_connection(hr->req);
	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, (char **)&addr, &port);
	snprintf(hr->client, sizeof(hr->client), "%s", addr ? addr : "-");
}

/*
 * Splits the raw query into hr->query, each name and value decoded once.
 * Returns -1 when one holds invalid percent-encoding, NUL, a control
 * character or invalid UTF-8.
 */
static int
http_query_parse(struct http_req *hr, const char *raw)
{
	const char	*p = raw, *amp, *eq;
	char		*name, *value;
	size_t		 len, namelen;
	int		 rc;

	while (*p != '\0') {
		amp = strchr(p, '&');
		len = amp != NULL ? (size_t)(amp - p) : strlen(p);
		eq = memchr(p, '=', len);
		namelen = eq != NULL ? (size_t)(eq - p) : len;
		if (len > 0) {
			if (http_edge_decode(p, namelen, 1, &name, NULL) == -1)
				return -1;
			if (http_edge_decode(p + namelen + (eq != NULL),
			    len - namelen - (eq != NULL), 1, &value,
			    NULL) == -1) {
				free(name);
				return -1;
			}
			rc = evhttp_add_header(hr->query, name, value);
			free(name);
			free(value);
			if (rc == -1)
				return -1;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	return 0;
}

static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	const struct http_route	*r;
	const struct evhttp_uri	*uri;
	struct http_req		*hr;
	const char		*rawpath, *rawquery;
	char			 allow[128];

	if ((hr = calloc(1, sizeof(*hr))) == NULL) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	http_inflight++;
	hr->req = req;
	hr->start_us = http_now_us();
	hr->last_request = http_conn_request(req);
	http_request_id(hr);
	http_client_address(hr);

	uri = evhttp_request_get_evhttp_uri(req);
	rawpath = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (rawpath == NULL || *rawpath != '/') {
		http_reply_error(hr, 400, "BAD_REQUEST", "invalid request URI",
		    NULL);
		return;
	}
	if ((hr->query = calloc(1, sizeof(*hr->query))) == NULL) {
		http_reply_error(hr, 503, "UNAVAILABLE", "out of memory", NULL);
		return;
	}
	TAILQ_INIT(hr->query);
	rawquery = evhttp_uri_get_query(uri);
	if (http_edge_decode(rawpath, strlen(rawpath), 0, &hr->path,
	    NULL) == -1 || (rawquery != NULL &&
	    http_query_parse(hr, rawquery) == -1)) {
		http_reply_error(hr, 400, "BAD_REQUEST", "the path or query "
		    "holds invalid percent-encoding, NUL, a control character "
		    "or invalid UTF-8", NULL);
		return;
	}

	/* Routes match the raw path, so an encoded "/" stays inside a value. */
	r = http_route_find(rawpath, evhttp_request_get_command(req), allow,
	    sizeof(allow));
	if (r == NULL && allow[0] != '\0') {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", allow);
		http_reply_error(hr, 405, "METHOD_NOT_ALLOWED",
		    "method not allowed on this path",
		    http_json_pair("allow", allow));
		return;
	}
	if (r == NULL) {
		http_reply_error(hr, 404, "NOT_FOUND", "no such path",
		    http_json_pair("path", hr->path));
		return;
	}
	hr->route = r;
	if (http_route_params(r->pattern, rawpath, hr) == -1) {
		http_reply_error(hr, 400, "BAD_REQUEST",
		    "invalid percent-encoding in the path", NULL);
		return;
	}
	http_auth_begin(hr);
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

/*
 * Takes the limits from the parent. evhttp's own limits stay above them,
 * as a backstop that the framing check in http_conn.c always hits first.
 */
static void
http_dispatch_config(struct privsep *ps, enum procid peer,
    struct ipc_msg *msg)
{
	struct http_edge_limits		 l;
	struct http_conn_settings	 s;
	struct ipc_body			 b;
	struct timeval			 tv;
	uint64_t			 backstop_ms;

	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_u64(&b, &l.uri_max, 64 * 1024) == -1 ||
	    ipc_get_u64(&b, &l.head_max, 1024 * 1024) == -1 ||
	    ipc_get_u64(&b, &l.headers_max, 1000) == -1 ||
	    ipc_get_u64(&b, &l.body_max, 64 * 1024 * 1024) == -1 ||
	    ipc_get_u64(&b, &l.import_max, 256 * 1024 * 1024) == -1 ||
	    ipc_get_u64(&b, &s.read_buffer, 16 * 1024 * 1024) == -1 ||
	    ipc_get_u64(&b, &s.connections_max, 100000) == -1 ||
	    ipc_get_u64(&b, &s.requests_max, 1000000) == -1 ||
	    ipc_get_u64(&b, &s.head_timeout_ms, 3600 * 1000) == -1 ||
	    ipc_get_u64(&b, &s.body_timeout_ms, 3600 * 1000) == -1 ||
	    ipc_get_u64(&b, &s.idle_timeout_ms, 3600 * 1000) == -1 ||
	    ipc_get_u64(&b, &s.write_timeout_ms, 3600 * 1000) == -1 ||
	    ipc_get_end(&b) == -1)
		fatalx("http: malformed http configuration from parent");
	ipc_body_close(&b);
	http_conn_configure(&l, &s);

	evhttp_set_max_headers_size(http_server, (ev_ssize_t)l.head_max * 2);
	evhttp_set_max_body_size(http_server, (ev_ssize_t)
	    (l.body_max > l.import_max ? l.body_max : l.import_max) + 1);
	/*
	 * evhttp's timeout also runs while a handler waits for a sibling,
	 * so it covers the longest IPC wait as well.
	 */
	backstop_ms = s.write_timeout_ms + s.head_timeout_ms +
	    s.body_timeout_ms + s.idle_timeout_ms + QUOTES_IPC_TIMEOUT_MS;
	tv.tv_sec = backstop_ms / 1000;
	tv.tv_usec = (backstop_ms % 1000) * 1000;
	evhttp_set_timeout_tv(http_server, &tv);
}

/* The access log lines of one loop pass go out in one write. */
static void
http_log_flush(evutil_socket_t fd, short events, void *arg)
{
	log_flush();
}

static void
http_log_kick(void)
{
	event_active(http_log_ev, EV_TIMEOUT, 0);
}

static void
http_init(struct privsep *ps)
{
	http_ps = ps;
	if ((http_log_ev = event_new(ps->base, -1, 0, http_log_flush,
	    NULL)) == NULL)
		fatalx("http: event_new failed");
	log_defer(http_log_kick);
	if (sodium_init() < 0)
		fatalx("http: sodium_init failed");
	if ((http_server = evhttp_new(ps->base)) == NULL)
		fatalx("http: evhttp_new failed");
	evhttp_set_allowed_methods(http_server, EVHTTP_REQ_GET |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
	    EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(http_server, http_request_cb, NULL);
	http_conn_init(ps->base, http_server);
}

static void
http_exit_cb(evutil_socket_t fd, short events, void *arg)
{
	if ((http_inflight == 0 && !http_conn_output_pending()) || arg != NULL)
		exit(0);
}

static void
http_shutdown(struct privsep *ps, unsigned int deadline_ms)
{
	struct timeval	 deadline = { deadline_ms / 1000,
			    (deadline_ms % 1000) * 1000 };
	struct timeval	 poll = { 0, 20 * 1000 };
	struct event	*ev;
	size_t		 i;

	if (http_stopping)
		return;
	http_stopping = 1;
	for (i = 0; i < http_nbound; i++)
		evhttp_del_accept_socket(http_server, http_bound[i]);
	http_nbound = 0;

	/* Finish what is in flight, checking every 20 ms, until the deadline. */
	ev = event_new(ps->base, -1, EV_PERSIST, http_exit_cb, NULL);
	if (ev == NULL || event_add(ev, &poll) == -1)
		exit(0);
	event_base_once(ps->base, -1, EV_TIMEOUT, http_exit_cb, ps, &deadline);
}

static const struct privsep_handler http_dispatch_parent[] = {
	{ IMSG_CTL_LISTEN,	http_dispatch_listen },
	{ IMSG_CTL_CONFIG_AUTH,	http_auth_dispatch_config },
	{ IMSG_CTL_CONFIG_HTTP,	http_dispatch_config },
	{ IMSG_CTL_PROCESSES,	http_actuator_dispatch_processes },
	{ 0,			NULL }
};

static const struct privsep_handler http_dispatch_fetcher[] = {
	{ IMSG_PONG,		http_dispatch_reply },
	{ IMSG_QUOTES,		http_dispatch_reply },
	{ IMSG_QUOTES_HEALTH,	http_dispatch_reply },
	{ IMSG_QUOTES_EVICTED,	http_dispatch_reply },
	{ IMSG_QUOTES_STATS,	http_dispatch_reply },
	{ 0,			NULL }
};

static const struct privsep_handler http_dispatch_db[] = {
	{ IMSG_PONG,		http_dispatch_reply },
	{ IMSG_DB_RESULT,	http_dispatch_reply },
	{ IMSG_DB_HEALTH,	http_dispatch_reply },
	{ 0,			NULL }
};

static const struct privsep_handler http_dispatch_secrets[] = {
	{ IMSG_PONG,		http_dispatch_reply },
	{ IMSG_SECRETS_RESULT,	http_dispatch_reply },
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
		[PROC_FETCHER] =	http_dispatch_fetcher,
		[PROC_DB] =		http_dispatch_db,
		[PROC_SECRETS] =	http_dispatch_secrets,
	},
};
