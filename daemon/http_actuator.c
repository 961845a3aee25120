/*
 * Actuator endpoints of the http child, in the shapes of Spring Boot's
 * Actuator: the health probes that load balancers and orchestrators call,
 * /actuator/health with its components, the quote cache under
 * /actuator/caches and the index of links. The metrics are in
 * http_metrics.c.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <json-c/json.h>

#include "benjid.h"
#include "http_actuator.h"

#define ACTUATOR_PING_TIMEOUT_MS	1000

/* The siblings a liveness check waits for, one bit each. */
#define ACTUATOR_PING_PEERS	((1u << PROC_FETCHER) | (1u << PROC_DB) | \
				    (1u << PROC_SECRETS))

struct actuator_ping {
	unsigned int	 waiting;
	int		 failed;
};

static void
actuator_ping_done(struct http_req *hr, enum procid peer, struct ipc_msg *msg,
    void *arg)
{
	struct actuator_ping	*ping = hr->state;
	struct ipc_body		 b;
	uint64_t		 from;

	if (msg == NULL) {
		ping->failed = 1;
	} else {
		if (ipc_body_open(&b, msg) == -1 ||
		    ipc_get_u64(&b, &from, PROC_MAX - 1) == -1 ||
		    ipc_get_end(&b) == -1 || from != peer)
			fatalx("http: malformed pong from %s",
			    proc_name(peer));
		ipc_body_close(&b);
	}
	ping->waiting &= ~(1u << peer);
	if (ping->waiting != 0)
		return;
	if (ping->failed)
		http_reply_json(hr, 503, http_json_pair("status", "DOWN"));
	else
		http_reply_json(hr, 200, http_json_pair("status", "UP"));
}

/*
 * Liveness is UP only when every sibling answers a ping: a child that is
 * restarting, or stuck, makes this process unable to serve.
 */
static void
actuator_liveness(struct http_req *hr)
{
	struct actuator_ping	*ping;
	enum procid		 peer;

	if ((ping = calloc(1, sizeof(*ping))) == NULL) {
		http_reply_error(hr, 503, "UNAVAILABLE", "out of memory", NULL);
		return;
	}
	hr->state = ping;
	hr->state_free = free;

	for (peer = PROC_FETCHER; peer < PROC_MAX; peer++) {
		if (!(ACTUATOR_PING_PEERS & (1u << peer)))
			continue;
		if (http_ipc_request(hr, peer, IMSG_PING, NULL,
		    ACTUATOR_PING_TIMEOUT_MS, actuator_ping_done, NULL) == -1)
			ping->failed = 1;
		else
			ping->waiting |= 1u << peer;
	}
	if (ping->waiting == 0)
		http_reply_json(hr, 503, http_json_pair("status", "DOWN"));
}

static void
actuator_readiness_done(struct http_req *hr, enum procid peer,
    struct ipc_msg *msg, void *arg)
{
	struct ipc_body	 b;
	uint64_t	 status;

	if (msg != NULL && (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_u64(&b, &status, UINT32_MAX) == -1))
		fatalx("http: malformed readiness from db");
	if (msg != NULL)
		ipc_body_close(&b);
	if (msg != NULL && status == 0)
		http_reply_json(hr, 200, http_json_pair("status", "UP"));
	else
		http_reply_json(hr, 503, http_json_pair("status",
		    "OUT_OF_SERVICE"));
}

/*
 * Readiness is UP once the db child has migrated the schema and holds a
 * connection: before that, every request that needs the database fails.
 */
static void
actuator_readiness(struct http_req *hr)
{
	if (http_ipc_request(hr, PROC_DB, IMSG_DB_READINESS, NULL,
	    ACTUATOR_PING_TIMEOUT_MS, actuator_readiness_done, NULL) == -1)
		http_reply_json(hr, 503, http_json_pair("status",
		    "OUT_OF_SERVICE"));
}

/*
 * The snapshot: one request to each wanted sibling, all at once, and the
 * callback once every one has replied, failed or timed out.
 */

static struct actuator_processes	 actuator_procs;

uint64_t
actuator_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const struct actuator_processes *
actuator_processes(void)
{
	return &actuator_procs;
}

static void
snapshot_answered(struct http_req *hr, unsigned int source, int ok)
{
	struct actuator_snapshot	*snap = hr->state;

	if (ok)
		snap->answered |= source;
	snap->waiting &= ~source;
	if (snap->waiting == 0)
		snap->done(hr, snap);
}

static void
snapshot_db(struct http_req *hr, enum procid peer, struct ipc_msg *msg,
    void *arg)
{
	struct actuator_snapshot	*snap = hr->state;
	struct ipc_body			 b;

	if (msg != NULL && (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_bool(&b, &snap->db.migrated) == -1 ||
	    ipc_get_u64(&b, &snap->db.pool_size, UINT32_MAX) == -1 ||
	    ipc_get_u64(&b, &snap->db.open, UINT32_MAX) == -1 ||
	    ipc_get_u64(&b, &snap->db.active, UINT32_MAX) == -1 ||
	    ipc_get_u64(&b, &snap->db.pending, UINT32_MAX) == -1 ||
	    ipc_get_str(&b, snap->db.problem, sizeof(snap->db.problem)) ==
	    -1 || ipc_get_end(&b) == -1))
		fatalx("http: malformed db health from db");
	if (msg != NULL)
		ipc_body_close(&b);
	snapshot_answered(hr, ACTUATOR_SRC_DB, msg != NULL);
}

static void
snapshot_provider(struct ipc_body *list, struct actuator_provider *p)
{
	struct ipc_body	 b;

	if (ipc_get_array(list, &b, 7) == -1 || b.count != 7 ||
	    ipc_get_str(&b, p->name, sizeof(p->name)) == -1 ||
	    ipc_get_str(&b, p->state, sizeof(p->state)) == -1 ||
	    ipc_get_str(&b, p->last_error, sizeof(p->last_error)) == -1 ||
	    ipc_get_i64(&b, &p->last_error_at) == -1 ||
	    ipc_get_i64(&b, &p->last_success_at) == -1 ||
	    ipc_get_u64(&b, &p->calls_today, UINT64_MAX) == -1 ||
	    ipc_get_u64(&b, &p->budget_per_day, UINT64_MAX) == -1 ||
	    ipc_get_end(&b) == -1)
		fatalx("http: malformed provider health from fetcher");
}

static void
snapshot_providers(struct http_req *hr, enum procid peer,
    struct ipc_msg *msg, void *arg)
{
	struct actuator_snapshot	*snap = hr->state;
	struct ipc_body			 b, list;
	size_t				 i;

	if (msg != NULL) {
		if (ipc_body_open(&b, msg) == -1 ||
		    ipc_get_array(&b, &list, ACTUATOR_PROVIDERS_MAX) == -1)
			fatalx("http: malformed provider health from fetcher");
		snap->nproviders = list.count;
		for (i = 0; i < snap->nproviders; i++)
			snapshot_provider(&list, &snap->providers[i]);
		if (ipc_get_end(&list) == -1 || ipc_get_end(&b) == -1)
			fatalx("http: malformed provider health from fetcher");
		ipc_body_close(&b);
	}
	snapshot_answered(hr, ACTUATOR_SRC_PROVIDERS, msg != NULL);
}

static void
snapshot_cache(struct http_req *hr, enum procid peer, struct ipc_msg *msg,
    void *arg)
{
	struct actuator_snapshot	*snap = hr->state;
	struct ipc_body			 b;

	if (msg != NULL && (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_u64(&b, &snap->cache.entries, UINT64_MAX) == -1 ||
	    ipc_get_u64(&b, &snap->cache.capacity, UINT64_MAX) == -1 ||
	    ipc_get_u64(&b, &snap->cache.hits, UINT64_MAX) == -1 ||
	    ipc_get_u64(&b, &snap->cache.misses, UINT64_MAX) == -1 ||
	    ipc_get_u64(&b, &snap->cache.stale, UINT64_MAX) == -1 ||
	    ipc_get_end(&b) == -1))
		fatalx("http: malformed cache statistics from fetcher");
	if (msg != NULL)
		ipc_body_close(&b);
	snapshot_answered(hr, ACTUATOR_SRC_CACHE, msg != NULL);
}

static void
snapshot_secrets(struct http_req *hr, enum procid peer, struct ipc_msg *msg,
    void *arg)
{
	struct ipc_body	 b;
	uint64_t	 from;

	if (msg != NULL && (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_u64(&b, &from, PROC_MAX - 1) == -1 ||
	    ipc_get_end(&b) == -1 || from != PROC_SECRETS))
		fatalx("http: malformed pong from secrets");
	if (msg != NULL)
		ipc_body_close(&b);
	snapshot_answered(hr, ACTUATOR_SRC_SECRETS, msg != NULL);
}

static const struct {
	unsigned int	 source;
	enum procid	 peer;
	uint32_t	 type;
	http_ipc_cb	 cb;
} snapshot_requests[] = {
	{ ACTUATOR_SRC_DB, PROC_DB, IMSG_DB_HEALTH_GET, snapshot_db },
	{ ACTUATOR_SRC_PROVIDERS, PROC_FETCHER, IMSG_QUOTES_HEALTH_GET,
	    snapshot_providers },
	{ ACTUATOR_SRC_CACHE, PROC_FETCHER, IMSG_QUOTES_STATS_GET,
	    snapshot_cache },
	{ ACTUATOR_SRC_SECRETS, PROC_SECRETS, IMSG_PING, snapshot_secrets },
};

/*
 * Asks the siblings for the sources in the mask, then runs done with the
 * snapshot in hr->state. done runs once and must reply to the client.
 */
void
actuator_snapshot_take(struct http_req *hr, unsigned int sources,
    actuator_snapshot_cb done, const void *arg)
{
	struct actuator_snapshot	*snap;
	size_t				 i;

	if ((snap = calloc(1, sizeof(*snap))) == NULL) {
		http_reply_error(hr, 503, "UNAVAILABLE", "out of memory", NULL);
		return;
	}
	snap->done = done;
	snap->arg = arg;
	hr->state = snap;
	hr->state_free = free;

	for (i = 0; i < sizeof(snapshot_requests) /
	    sizeof(snapshot_requests[0]); i++) {
		if (!(sources & snapshot_requests[i].source))
			continue;
		if (http_ipc_request(hr, snapshot_requests[i].peer,
		    snapshot_requests[i].type, NULL, ACTUATOR_TIMEOUT_MS,
		    snapshot_requests[i].cb, NULL) == 0)
			snap->waiting |= snapshot_requests[i].source;
	}
	if (snap->waiting == 0)
		done(hr, snap);
}

/*
 * IMSG_CTL_PROCESSES from the parent: its start time and the restarts of
 * each child, in procid order.
 */
void
http_actuator_dispatch_processes(struct privsep *ps, enum procid peer,
    struct ipc_msg *msg)
{
	struct actuator_processes	 procs;
	struct ipc_body			 b, list, item;
	char				 name[16];
	int				 id;

	memset(&procs, 0, sizeof(procs));
	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_u64(&b, &procs.started_ms, UINT64_MAX) == -1 ||
	    ipc_get_array(&b, &list, PROC_MAX - 1) == -1 ||
	    list.count != PROC_MAX - 1)
		fatalx("http: malformed process list from parent");
	for (id = PROC_PARENT + 1; id < PROC_MAX; id++) {
		if (ipc_get_array(&list, &item, 2) == -1 ||
		    ipc_get_str(&item, name, sizeof(name)) == -1 ||
		    strcmp(name, proc_name(id)) != 0 ||
		    ipc_get_u64(&item, &procs.restarts[id], UINT32_MAX) == -1 ||
		    ipc_get_end(&item) == -1)
			fatalx("http: malformed process list from parent");
	}
	if (ipc_get_end(&list) == -1 || ipc_get_end(&b) == -1)
		fatalx("http: malformed process list from parent");
	ipc_body_close(&b);
	actuator_procs = procs;
}

/*
 * /actuator/health. The overall status is DOWN, with HTTP 503, when the
 * db, secrets or marketdata component is DOWN, and UP with 200 otherwise.
 * A component is DOWN when its process does not reply within a second.
 * db is also DOWN until the schema is migrated and a connection is open. Failing market
 * data providers make marketdata DEGRADED, not DOWN: quotes still come
 * from the cache, stale ones included, and every other endpoint works.
 */

#define HEALTH_SOURCES	(ACTUATOR_SRC_DB | ACTUATOR_SRC_PROVIDERS | \
			    ACTUATOR_SRC_SECRETS)

static struct json_object *
health_time(int64_t t)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;
	char		 buf[32];

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return json_object_new_string(buf);
}

static struct json_object *
health_component(const char *status, struct json_object *details)
{
	struct json_object	*c = json_object_new_object();

	json_object_object_add(c, "status", json_object_new_string(status));
	if (details != NULL)
		json_object_object_add(c, "details", details);
	return c;
}

/* Adds the db component. Returns 1 when it is DOWN. */
static int
health_db(struct json_object *components, const struct actuator_snapshot *s)
{
	struct json_object	*details = json_object_new_object(), *pool;
	int			 up;

	json_object_object_add(details, "database",
	    json_object_new_string("PostgreSQL"));
	if (!(s->answered & ACTUATOR_SRC_DB)) {
		json_object_object_add(details, "error", json_object_new_string(
		    "the db process did not reply"));
		json_object_object_add(components, "db",
		    health_component("DOWN", details));
		return 1;
	}
	up = s->db.migrated && s->db.open > 0;
	json_object_object_add(details, "migrated",
	    json_object_new_boolean(s->db.migrated));
	pool = json_object_new_object();
	json_object_object_add(pool, "size",
	    json_object_new_uint64(s->db.pool_size));
	json_object_object_add(pool, "open",
	    json_object_new_uint64(s->db.open));
	json_object_object_add(pool, "active",
	    json_object_new_uint64(s->db.active));
	json_object_object_add(pool, "pending",
	    json_object_new_uint64(s->db.pending));
	json_object_object_add(details, "pool", pool);
	if (!up)
		json_object_object_add(details, "error",
		    json_object_new_string(s->db.problem));
	json_object_object_add(components, "db",
	    health_component(up ? "UP" : "DOWN", details));
	return !up;
}

static struct json_object *
health_provider(const struct actuator_provider *p)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "state", json_object_new_string(p->state));
	json_object_object_add(o, "last_error", p->last_error[0] != '\0' ?
	    json_object_new_string(p->last_error) : NULL);
	json_object_object_add(o, "last_error_at",
	    health_time(p->last_error_at));
	json_object_object_add(o, "last_success_at",
	    health_time(p->last_success_at));
	json_object_object_add(o, "calls_today",
	    json_object_new_uint64(p->calls_today));
	json_object_object_add(o, "budget_per_day", p->budget_per_day != 0 ?
	    json_object_new_uint64(p->budget_per_day) : NULL);
	return o;
}

/*
 * Adds the marketdata component: UP while one provider is UP or not yet
 * called, DEGRADED when all of them fail. Returns 1 when it is DOWN.
 */
static int
health_marketdata(struct json_object *components,
    const struct actuator_snapshot *s)
{
	struct json_object	*details = json_object_new_object(), *list;
	const char		*state;
	size_t			 i;
	int			 serving = 0;

	if (!(s->answered & ACTUATOR_SRC_PROVIDERS)) {
		json_object_object_add(details, "error", json_object_new_string(
		    "the fetcher process did not reply"));
		json_object_object_add(components, "marketdata",
		    health_component("DOWN", details));
		return 1;
	}
	list = json_object_new_array();
	for (i = 0; i < s->nproviders; i++) {
		state = s->providers[i].state;
		if (strcmp(state, "UP") == 0 || strcmp(state, "UNKNOWN") == 0)
			serving = 1;
		json_object_array_add(list, health_provider(&s->providers[i]));
	}
	json_object_object_add(details, "providers", list);
	json_object_object_add(components, "marketdata",
	    health_component(serving ? "UP" : "DEGRADED", details));
	return 0;
}

static void
health_done(struct http_req *hr, struct actuator_snapshot *s)
{
	struct json_object	*body, *components;
	int			 down = 0;
	int			 secrets = s->answered & ACTUATOR_SRC_SECRETS;

	/* Spring Boot lists the components sorted by name. */
	components = json_object_new_object();
	down |= health_db(components, s);
	down |= health_marketdata(components, s);
	json_object_object_add(components, "ping",
	    health_component("UP", NULL));
	json_object_object_add(components, "secrets",
	    health_component(secrets ? "UP" : "DOWN", NULL));
	down |= !secrets;

	body = json_object_new_object();
	json_object_object_add(body, "status",
	    json_object_new_string(down ? "DOWN" : "UP"));
	if (hr->authenticated)
		json_object_object_add(body, "components", components);
	else
		json_object_put(components);
	http_reply_json(hr, down ? 503 : 200, body);
}

/* Details only with valid credentials, or in a profile that needs none. */
static void
actuator_health(struct http_req *hr)
{
	actuator_snapshot_take(hr, HEALTH_SOURCES, health_done, NULL);
}

/*
 * /actuator/caches, as Spring Boot's caches endpoint: one cache manager
 * with the fetcher's quote cache. Spring Boot evicts whole caches only,
 * so there is no eviction of a single symbol.
 */

#define CACHES_MANAGER	"cacheManager"
#define CACHES_QUOTES	"quotes"
#define CACHES_TARGET	"benjid fetcher LRU cache"

/*
 * Checks the optional cacheManager parameter and the cache name. Returns
 * 0 when they name the quote cache; otherwise replies and returns -1.
 */
static int
caches_lookup(struct http_req *hr, const char *name)
{
	const char	*manager;
	int		 r;

	if ((r = http_query(hr, "cacheManager", &manager)) == -1)
		return -1;
	if ((r == 1 && strcmp(manager, CACHES_MANAGER) != 0) ||
	    (name != NULL && strcmp(name, CACHES_QUOTES) != 0)) {
		http_reply_error(hr, 404, "NOT_FOUND", "no such cache",
		    http_json_pair("cache", name != NULL ? name : ""));
		return -1;
	}
	return 0;
}

static void
caches_list(struct http_req *hr)
{
	struct json_object	*body, *managers, *manager, *caches;

	if (caches_lookup(hr, NULL) == -1)
		return;
	caches = json_object_new_object();
	json_object_object_add(caches, CACHES_QUOTES,
	    http_json_pair("target", CACHES_TARGET));
	manager = json_object_new_object();
	json_object_object_add(manager, "caches", caches);
	managers = json_object_new_object();
	json_object_object_add(managers, CACHES_MANAGER, manager);
	body = json_object_new_object();
	json_object_object_add(body, "cacheManagers", managers);
	http_reply_json(hr, 200, body);
}

static void
caches_get(struct http_req *hr)
{
	struct json_object	*body;

	if (caches_lookup(hr, hr->params[0]) == -1)
		return;
	body = http_json_pair("target", CACHES_TARGET);
	json_object_object_add(body, "name",
	    json_object_new_string(CACHES_QUOTES));
	json_object_object_add(body, "cacheManager",
	    json_object_new_string(CACHES_MANAGER));
	http_reply_json(hr, 200, body);
}

static void
caches_evicted(struct http_req *hr, enum procid peer, struct ipc_msg *msg,
    void *arg)
{
	struct ipc_body	 b;
	uint64_t	 n;

	if (msg == NULL) {
		http_reply_error(hr, 503, "UNAVAILABLE",
		    "the quote cache is unavailable", NULL);
		return;
	}
	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_u64(&b, &n, UINT64_MAX) == -1 || ipc_get_end(&b) == -1)
		fatalx("http: malformed eviction result from fetcher");
	ipc_body_close(&b);
	http_reply_empty(hr, 204);
}

static void
caches_evict(struct http_req *hr)
{
	struct ipc_wbuf	 wb;

	if (caches_lookup(hr, hr->nparams > 0 ? hr->params[0] : NULL) == -1)
		return;
	ipc_wbuf_init(&wb, 1);
	ipc_put_str(&wb, "");
	if (http_ipc_request(hr, PROC_FETCHER, IMSG_QUOTES_EVICT, &wb,
	    ACTUATOR_TIMEOUT_MS, caches_evicted, NULL) == -1)
		caches_evicted(hr, PROC_FETCHER, NULL, NULL);
}

/*
 * GET /actuator: the links to every endpoint, as Spring Boot lists them.
 * They are absolute when the Host header is a plain host and port, and
 * relative otherwise. NOTE: the scheme is always http, because benjid
 * does not read X-Forwarded-Proto from a TLS proxy in front of it.
 */

static const struct {
	const char	*rel;
	const char	*path;
	int		 templated;
} index_links[] = {
	{ "self",			"/actuator",			0 },
	{ "caches",			"/actuator/caches",		0 },
	{ "caches-cache",		"/actuator/caches/{cache}",	1 },
	{ "health",			"/actuator/health",		0 },
	{ "health-path",		"/actuator/health/{*path}",	1 },
	{ "metrics",			"/actuator/metrics",		0 },
	{ "metrics-requiredMetricName",
	    "/actuator/metrics/{requiredMetricName}",			1 },
	{ "prometheus",			"/actuator/prometheus",		0 },
};

static int
index_host_valid(const char *host)
{
	size_t	 len;

	if (host == NULL || (len = strlen(host)) == 0 || len > 255)
		return 0;
	return strspn(host, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") == len;
}

static void
actuator_index(struct http_req *hr)
{
	struct json_object	*body, *links, *link;
	const char		*host = http_header(hr, "Host");
	char			 href[512];
	size_t			 i;

	if (!index_host_valid(host))
		host = NULL;
	links = json_object_new_object();
	for (i = 0; i < sizeof(index_links) / sizeof(index_links[0]); i++) {
		snprintf(href, sizeof(href), "%s%s%s", host ? "http://" : "",
		    host ? host : "", index_links[i].path);
		link = http_json_pair("href", href);
		json_object_object_add(link, "templated",
		    json_object_new_boolean(index_links[i].templated));
		json_object_object_add(links, index_links[i].rel, link);
	}
	body = json_object_new_object();
	json_object_object_add(body, "_links", links);
	http_reply_json(hr, 200, body);
}

const struct http_route http_actuator_routes[] = {
	{ "/actuator", EVHTTP_REQ_GET, "GET", HTTP_AUTH_ACTUATOR,
	    actuator_index },
	{ "/actuator/health", EVHTTP_REQ_GET, "GET", HTTP_AUTH_OPTIONAL,
	    actuator_health },
	{ "/actuator/health/liveness", EVHTTP_REQ_GET, "GET", HTTP_AUTH_NONE,
	    actuator_liveness },
	{ "/actuator/health/readiness", EVHTTP_REQ_GET, "GET", HTTP_AUTH_NONE,
	    actuator_readiness },
	{ "/actuator/metrics", EVHTTP_REQ_GET, "GET", HTTP_AUTH_ACTUATOR,
	    metrics_names },
	{ "/actuator/metrics/*", EVHTTP_REQ_GET, "GET", HTTP_AUTH_ACTUATOR,
	    metrics_one },
	{ "/actuator/prometheus", EVHTTP_REQ_GET, "GET", HTTP_AUTH_ACTUATOR,
	    metrics_prometheus },
	{ "/actuator/caches", EVHTTP_REQ_GET, "GET", HTTP_AUTH_ACTUATOR,
	    caches_list },
	{ "/actuator/caches", EVHTTP_REQ_DELETE, "DELETE", HTTP_AUTH_ACTUATOR,
	    caches_evict },
	{ "/actuator/caches/*", EVHTTP_REQ_GET, "GET", HTTP_AUTH_ACTUATOR,
	    caches_get },
	{ "/actuator/caches/*", EVHTTP_REQ_DELETE, "DELETE",
	    HTTP_AUTH_ACTUATOR, caches_evict },
	{ NULL, 0, NULL, HTTP_AUTH_NONE, NULL }
};
