/*
 * Metrics of the http child, in the shapes of Spring Boot's Actuator:
 * /actuator/metrics lists the names, /actuator/metrics/{name} gives one
 * metric with its measurements and tags, and /actuator/prometheus gives
 * them all in the Prometheus text format 0.0.4.
 *
 * The http child counts its own requests and connections; the fetcher,
 * the db child and the parent supply the rest (see http_actuator.h).
 * Durations are kept in microseconds and printed as exact decimals of
 * seconds.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "benjid.h"
#include "http_actuator.h"
#include "http_edge.h"

#define METRIC_SAMPLES_MAX	8
#define METRIC_VALUE_MAX	32

enum metric_kind {
	METRIC_TIMER,		/* count, total time, max time */
	METRIC_COUNTER,		/* a count that only grows */
	METRIC_GAUGE		/* a value that goes up and down */
};

/* One series of a metric: its tag value and its values. */
struct metric_sample {
	const char	*tag;		/* NULL when the metric has no tag */
	uint64_t	 v[3];		/* timer: count, total us, max us */
};

struct metric {
	const char	*name;
	const char	*prometheus;	/* family name, with unit and suffix */
	const char	*description;
	const char	*unit;		/* Spring Boot's baseUnit, or NULL */
	const char	*tag;		/* the tag key, or NULL */
	enum metric_kind kind;
	int		 micro;		/* v[0] of a gauge is in millionths */
	unsigned int	 sources;	/* ACTUATOR_SRC_* it needs */
	size_t		(*collect)(const struct actuator_snapshot *,
			    struct metric_sample *);
};

/* The outcome classes of http.server.requests, by the status's first digit. */
static const char *const metrics_outcomes[] = {
	"UNKNOWN", "INFORMATIONAL", "SUCCESS", "REDIRECTION", "CLIENT_ERROR",
	"SERVER_ERROR"
};
#define METRICS_OUTCOMES	(sizeof(metrics_outcomes) / \
				    sizeof(metrics_outcomes[0]))

/*
 * Requests answered since the http child started, by outcome class.
 * NOTE: max is the longest since the start, not Micrometer's maximum
 * over a sliding window.
 */
static struct {
	uint64_t	 count;
	uint64_t	 total_us;
	uint64_t	 max_us;
} metrics_requests[METRICS_OUTCOMES];

/* Counts one reply of the http child. http_send() calls it. */
void
http_metrics_record(int status, uint64_t duration_us)
{
	size_t	 class = status >= 100 && status < 600 ? status / 100 : 0;

	metrics_requests[class].count++;
	metrics_requests[class].total_us += duration_us;
	if (duration_us > metrics_requests[class].max_us)
		metrics_requests[class].max_us = duration_us;
}

static size_t
collect_requests(const struct actuator_snapshot *s, struct metric_sample *out)
{
	size_t	 i, n = 0;

	for (i = 0; i < METRICS_OUTCOMES; i++) {
		if (metrics_requests[i].count == 0)
			continue;
		out[n].tag = metrics_outcomes[i];
		out[n].v[0] = metrics_requests[i].count;
		out[n].v[1] = metrics_requests[i].total_us;
		out[n].v[2] = metrics_requests[i].max_us;
		n++;
	}
	return n;
}

static size_t
collect_connections(const struct actuator_snapshot *s,
    struct metric_sample *out)
{
	out[0].v[0] = http_conn_count();
	return 1;
}

static size_t
collect_uptime(const struct actuator_snapshot *s, struct metric_sample *out)
{
	const struct actuator_processes	*p = actuator_processes();

	out[0].v[0] = p->started_ms != 0 ?
	    (actuator_now_ms() - p->started_ms) * 1000 : 0;
	return 1;
}

static size_t
collect_restarts(const struct actuator_snapshot *s, struct metric_sample *out)
{
	const struct actuator_processes	*p = actuator_processes();
	size_t				 n = 0;
	int				 id;

	for (id = PROC_PARENT + 1; id < PROC_MAX; id++) {
		out[n].tag = proc_name(id);
		out[n].v[0] = p->restarts[id];
		n++;
	}
	return n;
}

static size_t
collect_provider_calls(const struct actuator_snapshot *s,
    struct metric_sample *out)
{
	size_t	 i;

	for (i = 0; i < s->nproviders; i++) {
		out[i].tag = s->providers[i].name;
		out[i].v[0] = s->providers[i].calls_today;
	}
	return s->nproviders;
}

static size_t
collect_cache_gets(const struct actuator_snapshot *s,
    struct metric_sample *out)
{
	out[0].tag = "hit";
	out[0].v[0] = s->cache.hits;
	out[1].tag = "miss";
	out[1].v[0] = s->cache.misses;
	return 2;
}

static size_t
collect_cache_size(const struct actuator_snapshot *s,
    struct metric_sample *out)
{
	out[0].v[0] = s->cache.entries;
	return 1;
}

static size_t
collect_cache_stale(const struct actuator_snapshot *s,
    struct metric_sample *out)
{
	out[0].v[0] = s->cache.stale;
	return 1;
}

static size_t
collect_pool_active(const struct actuator_snapshot *s,
    struct metric_sample *out)
{
	out[0].v[0] = s->db.active;
	return 1;
}

static size_t
collect_pool_open(const struct actuator_snapshot *s,
    struct metric_sample *out)
{
	out[0].v[0] = s->db.open;
	return 1;
}

static size_t
collect_pool_pending(const struct actuator_snapshot *s,
    struct metric_sample *out)
{
	out[0].v[0] = s->db.pending;
	return 1;
}

static size_t
collect_pool_size(const struct actuator_snapshot *s,
    struct metric_sample *out)
{
	out[0].v[0] = s->db.pool_size;
	return 1;
}

/* Sorted by name, as Spring Boot lists them. */
static const struct metric metrics[] = {
	{ "benji.db.pool.active", "benji_db_pool_active_connections",
	    "Connections to PostgreSQL running a statement", "connections",
	    NULL, METRIC_GAUGE, 0, ACTUATOR_SRC_DB, collect_pool_active },
	{ "benji.db.pool.connections", "benji_db_pool_connections",
	    "Connections to PostgreSQL that are open", "connections", NULL,
	    METRIC_GAUGE, 0, ACTUATOR_SRC_DB, collect_pool_open },
	{ "benji.db.pool.pending", "benji_db_pool_pending_requests",
	    "Requests waiting for a connection to PostgreSQL", "requests",
	    NULL, METRIC_GAUGE, 0, ACTUATOR_SRC_DB, collect_pool_pending },
	{ "benji.db.pool.size", "benji_db_pool_size_connections",
	    "Connections to PostgreSQL the pool opens (db pool-size)",
	    "connections", NULL, METRIC_GAUGE, 0, ACTUATOR_SRC_DB,
	    collect_pool_size },
	{ "benji.process.restarts", "benji_process_restarts_total",
	    "Restarts of each child process since benjid started", "restarts",
	    "process", METRIC_COUNTER, 0, 0, collect_restarts },
	{ "benji.provider.calls", "benji_provider_calls",
	    "Calls to each market data provider in the current UTC day",
	    "calls", "provider", METRIC_GAUGE, 0, ACTUATOR_SRC_PROVIDERS,
	    collect_provider_calls },
	{ "benji.quotes.cache.gets", "benji_quotes_cache_gets_total",
	    "Quote lookups answered by a fresh cache entry (hit) or sent to "
	    "a provider (miss)", "lookups", "result", METRIC_COUNTER, 0,
	    ACTUATOR_SRC_CACHE, collect_cache_gets },
	{ "benji.quotes.cache.size", "benji_quotes_cache_size_entries",
	    "Entries in the quote cache, stale ones included", "entries",
	    NULL, METRIC_GAUGE, 0, ACTUATOR_SRC_CACHE, collect_cache_size },
	{ "benji.quotes.cache.stale", "benji_quotes_cache_stale_total",
	    "Quote lookups answered by a stale cache entry because every "
	    "provider failed", "lookups", NULL, METRIC_COUNTER, 0,
	    ACTUATOR_SRC_CACHE, collect_cache_stale },
	{ "benji.http.connections.active",
	    "benji_http_connections_active_connections",
	    "Client connections open", "connections", NULL, METRIC_GAUGE, 0,
	    0, collect_connections },
	{ "http.server.requests", "http_server_requests_seconds",
	    "Duration of the HTTP requests answered", "seconds", "outcome",
	    METRIC_TIMER, 0, 0, collect_requests },
	{ "process.uptime", "process_uptime_seconds",
	    "Time since benjid started its processes", "seconds", NULL,
	    METRIC_GAUGE, 1, 0, collect_uptime },
};
#define METRICS_COUNT	(sizeof(metrics) / sizeof(metrics[0]))

static const char *
metric_format(char *buf, size_t len, uint64_t v, int micro)
{
	if (micro)
		snprintf(buf, len, "%llu.%06llu",
		    (unsigned long long)(v / 1000000),
		    (unsigned long long)(v % 1000000));
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

static struct json_object *
metric_measurement(const char *statistic, uint64_t v, int micro)
{
	struct json_object	*m = json_object_new_object();
	char			 buf[METRIC_VALUE_MAX];

	json_object_object_add(m, "statistic",
	    json_object_new_string(statistic));
	metric_format(buf, sizeof(buf), v, micro);
	json_object_object_add(m, "value", json_object_new_double_s(0, buf));
	return m;
}

/* GET /actuator/metrics */
void
metrics_names(struct http_req *hr)
{
	struct json_object	*body, *names;
	size_t			 i;

	names = json_object_new_array();
	for (i = 0; i < METRICS_COUNT; i++)
		json_object_array_add(names,
		    json_object_new_string(metrics[i].name));
	body = json_object_new_object();
	json_object_object_add(body, "names", names);
	http_reply_json(hr, 200, body);
}

static const struct metric *
metric_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < METRICS_COUNT; i++)
		if (strcmp(metrics[i].name, name) == 0)
			return &metrics[i];
	return NULL;
}

/*
 * Copies the samples whose tag matches the "key:value" filter to kept.
 * Returns their number, or -1 after replying when the filter is invalid
 * or nothing matches (400 and 404, as Spring Boot replies).
 */
static int
metric_filter(struct http_req *hr, const struct metric *m,
    const struct metric_sample *samples, size_t n, struct metric_sample *out)
{
	const char	*filter, *colon;
	size_t		 i, kept = 0;
	int		 r;

	if ((r = http_query(hr, "tag", &filter)) == -1)
		return -1;
	if (r == 0) {
		memcpy(out, samples, n * sizeof(*samples));
		return (int)n;
	}
	if ((colon = strchr(filter, ':')) == NULL || colon == filter) {
		http_reply_error(hr, 400, "BAD_REQUEST",
		    "a tag filter has the form key:value",
		    http_json_pair("tag", filter));
		return -1;
	}
	for (i = 0; i < n && m->tag != NULL; i++) {
		if (strlen(m->tag) == (size_t)(colon - filter) &&
		    strncmp(m->tag, filter, colon - filter) == 0 &&
		    strcmp(samples[i].tag, colon + 1) == 0)
			out[kept++] = samples[i];
	}
	if (kept == 0) {
		http_reply_error(hr, 404, "NOT_FOUND",
		    "no series of the metric has that tag",
		    http_json_pair("tag", filter));
		return -1;
	}
	return (int)kept;
}

/* Adds the measurements, merged over the samples as Micrometer merges. */
static void
metric_measurements(struct json_object *body, const struct metric *m,
    const struct metric_sample *samples, size_t n)
{
	struct json_object	*list = json_object_new_array();
	uint64_t		 v[3] = { 0, 0, 0 };
	size_t			 i;

	for (i = 0; i < n; i++) {
		v[0] += samples[i].v[0];
		v[1] += samples[i].v[1];
		if (samples[i].v[2] > v[2])
			v[2] = samples[i].v[2];
	}
	switch (m->kind) {
	case METRIC_TIMER:
		json_object_array_add(list, metric_measurement("COUNT", v[0],
		    0));
		json_object_array_add(list, metric_measurement("TOTAL_TIME",
		    v[1], 1));
		json_object_array_add(list, metric_measurement("MAX", v[2], 1));
		break;
	case METRIC_COUNTER:
		json_object_array_add(list, metric_measurement("COUNT", v[0],
		    0));
		break;
	case METRIC_GAUGE:
		json_object_array_add(list, metric_measurement("VALUE", v[0],
		    m->micro));
		break;
	}
	json_object_object_add(body, "measurements", list);
}

static void
metric_tags(struct json_object *body, const struct metric *m,
    const struct metric_sample *samples, size_t n)
{
	struct json_object	*tags = json_object_new_array(), *tag, *values;
	size_t			 i;

	if (m->tag != NULL && n > 0) {
		values = json_object_new_array();
		for (i = 0; i < n; i++)
			json_object_array_add(values,
			    json_object_new_string(samples[i].tag));
		tag = http_json_pair("tag", m->tag);
		json_object_object_add(tag, "values", values);
		json_object_array_add(tags, tag);
	}
	json_object_object_add(body, "availableTags", tags);
}

static void
metric_render(struct http_req *hr, struct actuator_snapshot *snap)
{
	const struct metric	*m = snap->arg;
	struct metric_sample	 samples[METRIC_SAMPLES_MAX];
	struct metric_sample	 selected[METRIC_SAMPLES_MAX];
	struct json_object	*body;
	size_t			 n;
	int			 kept;

	if ((snap->answered & m->sources) != m->sources) {
		http_reply_error(hr, 503, "UNAVAILABLE", "a process that "
		    "supplies the metric did not reply",
		    http_json_pair("metric", m->name));
		return;
	}
	memset(samples, 0, sizeof(samples));
	n = m->collect(snap, samples);
	if ((kept = metric_filter(hr, m, samples, n, selected)) == -1)
		return;

	body = http_json_pair("name", m->name);
	json_object_object_add(body, "description",
	    json_object_new_string(m->description));
	json_object_object_add(body, "baseUnit", m->unit != NULL ?
	    json_object_new_string(m->unit) : NULL);
	metric_measurements(body, m, selected, (size_t)kept);
	/* Spring Boot lists every value of the tag, before the filter. */
	metric_tags(body, m, samples, n);
	http_reply_json(hr, 200, body);
}

/* GET /actuator/metrics/{name}[?tag=key:value] */
void
metrics_one(struct http_req *hr)
{
	const struct metric	*m;

	if ((m = metric_find(hr->params[0])) == NULL) {
		http_reply_error(hr, 404, "NOT_FOUND", "no such metric",
		    http_json_pair("metric", hr->params[0]));
		return;
	}
	actuator_snapshot_take(hr, m->sources, metric_render, m);
}

/* Writes a label value with \, " and newline escaped. */
static void
prometheus_label(struct evbuffer *out, const char *key, const char *value)
{
	const char	*p;

	evbuffer_add_printf(out, "{%s=\"", key);
	for (p = value; *p != '\0'; p++) {
		if (*p == '\\' || *p == '"')
			evbuffer_add_printf(out, "\\%c", *p);
		else if (*p == '\n')
			evbuffer_add(out, "\\n", 2);
		else
			evbuffer_add(out, p, 1);
	}
	evbuffer_add(out, "\"}", 2);
}

static void
prometheus_line(struct evbuffer *out, const char *name, const char *suffix,
    const struct metric *m, const struct metric_sample *s, uint64_t v,
    int micro)
{
	char	 buf[METRIC_VALUE_MAX];

	evbuffer_add_printf(out, "%s%s", name, suffix);
	if (m->tag != NULL)
		prometheus_label(out, m->tag, s->tag);
	evbuffer_add_printf(out, " %s\n", metric_format(buf, sizeof(buf), v,
	    micro));
}

/*
 * Writes one metric family; a timer is a summary of count and sum plus a
 * gauge family with the suffix _max, as Micrometer writes it.
 */
static void
prometheus_metric(struct evbuffer *out, const struct metric *m,
    const struct actuator_snapshot *snap)
{
	struct metric_sample	 samples[METRIC_SAMPLES_MAX];
	const char		*type;
	size_t			 i, n;

	memset(samples, 0, sizeof(samples));
	n = m->collect(snap, samples);
	type = m->kind == METRIC_TIMER ? "summary" :
	    m->kind == METRIC_COUNTER ? "counter" : "gauge";
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
	    m->prometheus, m->description, m->prometheus, type);
	for (i = 0; i < n; i++) {
		if (m->kind != METRIC_TIMER) {
			prometheus_line(out, m->prometheus, "", m, &samples[i],
			    samples[i].v[0], m->micro);
			continue;
		}
		prometheus_line(out, m->prometheus, "_count", m, &samples[i],
		    samples[i].v[0], 0);
		prometheus_line(out, m->prometheus, "_sum", m, &samples[i],
		    samples[i].v[1], 1);
	}
	if (m->kind != METRIC_TIMER)
		return;
	evbuffer_add_printf(out, "# HELP %s_max %s, the longest\n"
	    "# TYPE %s_max gauge\n", m->prometheus, m->description,
	    m->prometheus);
	for (i = 0; i < n; i++)
		prometheus_line(out, m->prometheus, "_max", m, &samples[i],
		    samples[i].v[2], 1);
}

/* Metrics whose process did not reply are left out, as absent series. */
static void
prometheus_render(struct http_req *hr, struct actuator_snapshot *snap)
{
	struct evbuffer	*out;
	size_t		 i;

	if ((out = evbuffer_new()) == NULL) {
		http_reply_error(hr, 503, "UNAVAILABLE", "out of memory", NULL);
		return;
	}
	for (i = 0; i < METRICS_COUNT; i++)
		if ((snap->answered & metrics[i].sources) == metrics[i].sources)
			prometheus_metric(out, &metrics[i], snap);
	http_reply_buffer(hr, 200, "text/plain; version=0.0.4; charset=utf-8",
	    out);
}

/* GET /actuator/prometheus */
void
metrics_prometheus(struct http_req *hr)
{
	actuator_snapshot_take(hr, ACTUATOR_SRC_DB | ACTUATOR_SRC_PROVIDERS |
	    ACTUATOR_SRC_CACHE, prometheus_render, NULL);
}
