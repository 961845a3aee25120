/*
 * Access control of the http child: which requests need credentials, and
 * the check of those credentials by the secrets child.
 *
 * Routes of kind HTTP_AUTH_API take the API key from the configured header
 * or from "Authorization: Bearer"; HTTP_AUTH_ACTUATOR takes Basic auth, and
 * HTTP_AUTH_OPTIONAL runs without credentials but checks them when given.
 * Every failure gets the same 401. Failures beyond a budget per client
 * address and interval get their 401 late.
 *
 * The presented credential is copied out of the request, the header value
 * is zeroed and the header removed, and the copy is zeroed when the secrets
 * child replies. NOTE: the raw request bytes that libevent read from the
 * socket stay in freed evbuffer memory until reused; the http child never
 * holds a stored secret, only what clients sent.
 */

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "benjid.h"

#define AUTH_PRESENTED_MAX	4096	/* as SECRETS_PRESENTED_MAX */
#define AUTH_CHECK_TIMEOUT_MS	2000
#define AUTH_CLIENTS_MAX	256
#define AUTH_DELAY_STEPS_MAX	8	/* the delay grows to 8 times */

/* Until the parent sends the policy, everything needs credentials. */
static struct {
	char		 header[SECRETS_HEADER_MAX];
	int		 api_required;
	int		 actuator_required;
	uint64_t	 budget;
	uint64_t	 interval_ms;
	uint64_t	 delay_ms;
} auth_policy = { SECRETS_HEADER_DEFAULT, 1, 1, 10, 60000, 1000 };

/* Recent failures of one client address. */
struct auth_client {
	char		 addr[64];
	uint64_t	 window_ms;	/* start of the current interval */
	uint64_t	 failures;
	int		 logged;	/* warned in this interval */
};

/* A request while its credential is checked, or its 401 delayed. */
struct auth_state {
	uint8_t		*cred;
	size_t		 credlen;
	struct event	*delay;
};

static struct auth_client	 auth_clients[AUTH_CLIENTS_MAX];
static struct event_base	*auth_base;

static uint64_t
auth_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
http_auth_dispatch_config(struct privsep *ps, enum procid peer,
    struct ipc_msg *msg)
{
	struct ipc_body	 b;
	int		 api, actuator;

	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_str(&b, auth_policy.header, sizeof(auth_policy.header)) ||
	    ipc_get_bool(&b, &api) == -1 || ipc_get_bool(&b, &actuator) == -1 ||
	    ipc_get_u64(&b, &auth_policy.budget, UINT32_MAX) == -1 ||
	    ipc_get_u64(&b, &auth_policy.interval_ms, UINT32_MAX) == -1 ||
	    ipc_get_u64(&b, &auth_policy.delay_ms, UINT32_MAX) == -1 ||
	    ipc_get_end(&b) == -1 || auth_policy.interval_ms == 0)
		fatalx("http: malformed access policy from parent");
	ipc_body_close(&b);
	auth_policy.api_required = api;
	auth_policy.actuator_required = actuator;
	auth_base = ps->base;
}

static void
auth_state_free(void *arg)
{
	struct auth_state	*st = arg;

	if (st == NULL)
		return;
	if (st->cred != NULL) {
		sodium_memzero(st->cred, st->credlen);
		free(st->cred);
	}
	if (st->delay != NULL)
		event_free(st->delay);
	free(st);
}

/* Drops the check's state so that the route's handler finds none. */
static void
auth_state_clear(struct http_req *hr)
{
	auth_state_free(hr->state);
	hr->state = NULL;
	hr->state_free = NULL;
}

static void
auth_reply_401(struct http_req *hr)
{
	const char	*challenge = hr->route->auth == HTTP_AUTH_API ?
			    "Bearer realm=\"benjid\"" :
			    "Basic realm=\"benjid\", charset=\"UTF-8\"";

	auth_state_clear(hr);
	evhttp_add_header(evhttp_request_get_output_headers(hr->req),
	    "WWW-Authenticate", challenge);
	http_reply_error(hr, 401, "UNAUTHORIZED",
	    "valid credentials are required", NULL);
}

static void
auth_delay_cb(evutil_socket_t fd, short events, void *arg)
{
	auth_reply_401(arg);
}

/*
 * Counts a failure of the client address and returns how long to hold
 * its 401: nothing within the budget, then the configured delay times the
 * number of failures beyond it, at most AUTH_DELAY_STEPS_MAX times. When
 * the table is full the client seen longest ago gives its place.
 */
static uint64_t
auth_count_failure(const char *addr)
{
	struct auth_client	*c = NULL, *oldest = &auth_clients[0];
	uint64_t		 now = auth_now_ms(), excess;
	char			 n[24];
	size_t			 i;

	for (i = 0; i < AUTH_CLIENTS_MAX && c == NULL; i++) {
		if (strcmp(auth_clients[i].addr, addr) == 0)
			c = &auth_clients[i];
		else if (auth_clients[i].window_ms < oldest->window_ms)
			oldest = &auth_clients[i];
	}
	if (c == NULL) {
		c = oldest;
		memset(c, 0, sizeof(*c));
		snprintf(c->addr, sizeof(c->addr), "%s", addr);
		c->window_ms = now;
	}
	if (now - c->window_ms >= auth_policy.interval_ms) {
		c->window_ms = now;
		c->failures = 0;
		c->logged = 0;
	}
	if (++c->failures <= auth_policy.budget)
		return 0;

	if (!c->logged) {
		snprintf(n, sizeof(n), "%llu",
		    (unsigned long long)c->failures);
		log_kv(LOG_WARNING, "repeated authentication failures, "
		    "slowing the replies", "client", addr, "failures", n,
		    LOG_FIELDS_END);
		c->logged = 1;
	}
	excess = c->failures - auth_policy.budget;
	if (excess > AUTH_DELAY_STEPS_MAX)
		excess = AUTH_DELAY_STEPS_MAX;
	return auth_policy.delay_ms * excess;
}

static void
auth_fail(struct http_req *hr)
{
	struct auth_state	*st = hr->state;
	struct timeval		 tv;
	uint64_t		 delay;

	delay = auth_count_failure(hr->client);
	if (delay == 0 || auth_base == NULL) {
		auth_reply_401(hr);
		return;
	}
	if (st == NULL) {
		if ((st = calloc(1, sizeof(*st))) == NULL) {
			auth_reply_401(hr);
			return;
		}
		hr->state = st;
		hr->state_free = auth_state_free;
	}
	if ((st->delay = evtimer_new(auth_base, auth_delay_cb, hr)) == NULL) {
		auth_reply_401(hr);
		return;
	}
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(st->delay, &tv);
}

/* Zeroes every value of the header in place, then removes it. */
static void
auth_remove_header(struct http_req *hr, const char *name)
{
	struct evkeyvalq	*headers;
	struct evkeyval		*kv, *next;

	headers = evhttp_request_get_input_headers(hr->req);
	for (kv = TAILQ_FIRST(headers); kv != NULL; kv = next) {
		next = TAILQ_NEXT(kv, next);
		if (strcasecmp(kv->key, name) != 0)
			continue;
		sodium_memzero(kv->value, strlen(kv->value));
		/* Removes the first of that name: kv, as earlier ones are gone. */
		evhttp_remove_header(headers, name);
	}
}

/*
 * Copies the credential into hr->state, then wipes the request's copy.
 * Returns -1 when it is too long or out of memory.
 */
static int
auth_keep(struct http_req *hr, const void *cred, size_t len)
{
	struct auth_state	*st;

	if (len == 0 || len > AUTH_PRESENTED_MAX ||
	    (st = calloc(1, sizeof(*st))) == NULL)
		return -1;
	if ((st->cred = malloc(len)) == NULL) {
		free(st);
		return -1;
	}
	memcpy(st->cred, cred, len);
	st->credlen = len;
	hr->state = st;
	hr->state_free = auth_state_free;
	return 0;
}

static void
auth_checked(struct http_req *hr, enum procid peer, struct ipc_msg *msg,
    void *arg)
{
	struct ipc_body	 b;
	int		 valid;

	/* The reply is in, so the presented copy goes at once. */
	auth_state_clear(hr);
	if (msg == NULL) {
		http_reply_error(hr, 503, "UNAVAILABLE",
		    "the credential check is unavailable", NULL);
		return;
	}
	if (ipc_body_open(&b, msg) == -1 || ipc_get_bool(&b, &valid) == -1 ||
	    ipc_get_end(&b) == -1)
		fatalx("http: malformed check result from secrets");
	ipc_body_close(&b);
	if (!valid) {
		auth_fail(hr);
		return;
	}
	hr->authenticated = 1;
	http_route_run(hr);
}

static void
auth_ask(struct http_req *hr, uint32_t type, size_t split)
{
	struct auth_state	*st = hr->state;
	struct ipc_wbuf		 wb;

	if (type == IMSG_SECRETS_CHECK_KEY) {
		ipc_wbuf_init(&wb, 1);
		ipc_put_bin(&wb, st->cred, st->credlen);
	} else {
		ipc_wbuf_init(&wb, 2);
		ipc_put_bin(&wb, st->cred, split);
		ipc_put_bin(&wb, st->cred + split + 1,
		    st->credlen - split - 1);
	}
	if (http_ipc_request(hr, PROC_SECRETS, type, &wb,
	    AUTH_CHECK_TIMEOUT_MS, auth_checked, NULL) == -1)
		auth_checked(hr, PROC_SECRETS, NULL, NULL);
}

/* Returns the text after "scheme " when value uses that scheme, or NULL. */
static const char *
auth_scheme(const char *value, const char *scheme)
{
	size_t	 len = strlen(scheme);

	if (value == NULL || strncasecmp(value, scheme, len) != 0 ||
	    value[len] != ' ')
		return NULL;
	for (value += len; *value == ' '; value++)
		;
	return value;
}

/*
 * Returns 1 when the request repeats the key header or Authorization.
 * Which of two credentials counted would depend on their order, so such a
 * request fails, as one that repeats a query parameter does.
 */
static int
auth_repeated(struct http_req *hr)
{
	struct evkeyval	*kv;
	int		 keys = 0, authorizations = 0;

	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(hr->req), next) {
		if (strcasecmp(kv->key, auth_policy.header) == 0)
			keys++;
		else if (strcasecmp(kv->key, "Authorization") == 0)
			authorizations++;
	}
	return keys > 1 || authorizations > 1;
}

static void
auth_api_key(struct http_req *hr)
{
	const char	*key = http_header(hr, auth_policy.header);
	int		 kept;

	if (key == NULL)
		key = auth_scheme(http_header(hr, "Authorization"), "Bearer");
	kept = key != NULL && !auth_repeated(hr) ?
	    auth_keep(hr, key, strlen(key)) : -1;
	auth_remove_header(hr, auth_policy.header);
	auth_remove_header(hr, "Authorization");
	if (kept == -1) {
		auth_fail(hr);
		return;
	}
	auth_ask(hr, IMSG_SECRETS_CHECK_KEY, 0);
}

/* Decodes "Authorization: Basic base64(user:password)" into hr->state. */
static void
auth_basic(struct http_req *hr, const char *value)
{
	const char		*b64 = auth_scheme(value, "Basic");
	struct auth_state	*st;
	uint8_t			*colon;
	uint8_t			 raw[AUTH_PRESENTED_MAX];
	size_t			 len = 0;
	int			 kept = -1;

	if (b64 != NULL && !auth_repeated(hr) && sodium_base642bin(raw,
	    sizeof(raw), b64, strlen(b64), NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) == 0)
		kept = auth_keep(hr, raw, len);
	sodium_memzero(raw, sizeof(raw));
	auth_remove_header(hr, "Authorization");
	st = hr->state;
	if (kept == -1 || (colon = memchr(st->cred, ':', st->credlen)) ==
	    NULL) {
		auth_fail(hr);
		return;
	}
	auth_ask(hr, IMSG_SECRETS_CHECK_BASIC, (size_t)(colon - st->cred));
}

/*
 * Runs the request when its route and the profile allow it, or checks its
 * credentials first. hr->authenticated is set when the credentials are
 * valid or the profile asks for none; routes of HTTP_AUTH_NONE leave it 0.
 */
void
http_auth_begin(struct http_req *hr)
{
	const char	*authorization;

	switch (hr->route->auth) {
	case HTTP_AUTH_NONE:
		http_route_run(hr);
		return;
	case HTTP_AUTH_API:
		if (!auth_policy.api_required)
			break;
		auth_api_key(hr);
		return;
	case HTTP_AUTH_ACTUATOR:
	case HTTP_AUTH_OPTIONAL:
		if (!auth_policy.actuator_required)
			break;
		authorization = http_header(hr, "Authorization");
		if (authorization == NULL &&
		    hr->route->auth == HTTP_AUTH_OPTIONAL) {
			http_route_run(hr);
			return;
		}
		auth_basic(hr, authorization);
		return;
	}
	hr->authenticated = 1;
	http_route_run(hr);
}
