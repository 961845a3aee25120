/*
 * The fetcher child: market data from the providers over libcurl, the quote
 * cache and the provider budget. It may reach the network but holds no
 * secret other than the provider key, and never touches the database.
 *
 * Name resolution: glibc's resolver needs /etc/hosts, /etc/resolv.conf and
 * /etc/nsswitch.conf, which the empty chroot lacks and the seccomp filter
 * would not let it open. So the parent, which is not chrooted, resolves the
 * provider's host name after each configuration and every
 * few minutes (parent_fetcher.c), and sends the addresses in
 * IMSG_CTL_FETCHER_RESOLVED; libcurl pins them with CURLOPT_RESOLVE and
 * never runs its resolver thread for that host. The CA bundle is read by
 * the parent as well and reaches libcurl as CURLOPT_CAINFO_BLOB.
 */

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netdb.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "benjid.h"
#include "fetcher.h"

/* One IMSG_QUOTES_GET while its symbols are looked up. */
struct fetch_req {
	TAILQ_ENTRY(fetch_req)	 entry;
	uint32_t		 peerid;
	size_t			 n;
	size_t			 left;
	int			 starting;	/* lookups still being issued */
	char			 (*symbols)[QUOTE_SYMBOL_MAX + 1];
	struct quote_result	*results;
};
TAILQ_HEAD(fetch_reqs, fetch_req);

struct fetcher_conf	*fetcher_conf;
struct event_base	*fetcher_base;

static struct privsep	*fetcher_ps;
static struct fetch_reqs fetch_reqs = TAILQ_HEAD_INITIALIZER(fetch_reqs);

uint64_t
fetcher_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
fetcher_init(struct privsep *ps)
{
	/* libcurl sets up its TLS backend once, before the sandbox closes. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("fetcher: curl_global_init failed");
	fetcher_ps = ps;
	fetcher_base = ps->base;
	fetcher_curl_init();
	if ((fetcher_conf = calloc(1, sizeof(*fetcher_conf))) == NULL)
		fatal("%s", __func__);
}

static void
fetcher_shutdown(struct privsep *ps, unsigned int deadline_ms)
{
	/* A provider call in flight only fills the cache: nothing to wait for. */
	exit(0);
}

static void
fetch_req_free(struct fetch_req *req)
{
	TAILQ_REMOVE(&fetch_reqs, req, entry);
	free(req->symbols);
	free(req->results);
	free(req);
}

static void
fetch_req_reply(struct fetch_req *req)
{
	const struct quote_result	*r;
	struct ipc_wbuf			 wb;
	size_t				 i;

	ipc_wbuf_init(&wb, 1);
	ipc_put_array(&wb, (uint32_t)req->n);
	for (i = 0; i < req->n; i++) {
		r = &req->results[i];
		ipc_put_array(&wb, 12);
		ipc_put_str(&wb, req->symbols[i]);
		ipc_put_u64(&wb, r->status);
		ipc_put_str(&wb, r->status == QUOTE_OK ? r->q.price : "");
		ipc_put_str(&wb, r->status == QUOTE_OK ? r->q.change : "");
		ipc_put_str(&wb, r->status == QUOTE_OK ?
		    r->q.change_percent : "");
		ipc_put_str(&wb, r->status == QUOTE_OK ?
		    quote_currency(req->symbols[i]) : "");
		ipc_put_str(&wb, r->status == QUOTE_OK ? r->q.as_of : "");
		ipc_put_str(&wb, r->source);
		ipc_put_i64(&wb, r->fetched_at);
		ipc_put_bool(&wb, r->stale);
		ipc_put_u64(&wb, r->retry_after);
		ipc_put_str(&wb, r->message);
	}
	proc_compose(fetcher_ps, PROC_HTTP, IMSG_QUOTES, req->peerid, -1, &wb);
	fetch_req_free(req);
}

static void
fetch_req_done(void *arg, size_t index, const struct quote_result *r)
{
	struct fetch_req	*req = arg;

	req->results[index] = *r;
	if (--req->left == 0 && !req->starting)
		fetch_req_reply(req);
}

static void
fetcher_fail_malformed(struct ipc_msg *msg)
{
	fatalx("fetcher: malformed message type %u from http",
	    msg->hdr.type);
}

static void
fetcher_dispatch_quotes_get(struct privsep *ps, enum procid peer,
    struct ipc_msg *msg)
{
	struct ipc_body		 b, list;
	struct fetch_req	*req;
	char			 norm[QUOTE_SYMBOL_MAX + 1];
	size_t			 i;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		fatal("%s", __func__);
	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_array(&b, &list, QUOTES_BATCH_MAX) == -1 ||
	    list.count == 0)
		fetcher_fail_malformed(msg);
	req->n = list.count;
	req->peerid = msg->hdr.peerid;
	if ((req->symbols = calloc(req->n, sizeof(*req->symbols))) == NULL ||
	    (req->results = calloc(req->n, sizeof(*req->results))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < req->n; i++) {
		/* The http child sends only normalised, valid symbols. */
		if (ipc_get_str(&list, req->symbols[i],
		    sizeof(req->symbols[i])) == -1 ||
		    quote_symbol_normalize(req->symbols[i], norm,
		    sizeof(norm)) == -1 || strcmp(norm, req->symbols[i]) != 0)
			fetcher_fail_malformed(msg);
	}
	if (ipc_get_end(&list) == -1 || ipc_get_end(&b) == -1)
		fetcher_fail_malformed(msg);
	ipc_body_close(&b);

	TAILQ_INSERT_TAIL(&fetch_reqs, req, entry);
	req->left = req->n;
	req->starting = 1;
	for (i = 0; i < req->n; i++)
		fetcher_lookup(req->symbols[i], fetch_req_done, req, i);
	req->starting = 0;
	if (req->left == 0)
		fetch_req_reply(req);
}

static void
fetcher_dispatch_health_get(struct privsep *ps, enum procid peer,
    struct ipc_msg *msg)
{
	const struct provider	*p;
	struct ipc_wbuf		 wb;
	time_t			 now = time(NULL);
	size_t			 i;

	if (msg->hdr.len != 0) {
		struct ipc_body	 b;

		if (ipc_body_open(&b, msg) == -1 || ipc_get_end(&b) == -1)
			fetcher_fail_malformed(msg);
		ipc_body_close(&b);
	}
	ipc_wbuf_init(&wb, 1);
	ipc_put_array(&wb, (uint32_t)fetcher_conf->nproviders);
	for (i = 0; i < fetcher_conf->nproviders; i++) {
		p = &fetcher_conf->providers[i];
		ipc_put_array(&wb, 7);
		ipc_put_str(&wb, p->name);
		ipc_put_str(&wb, p->state);
		ipc_put_str(&wb, p->last_error);
		ipc_put_i64(&wb, p->last_error_at);
		ipc_put_i64(&wb, p->last_success_at);
		ipc_put_u64(&wb, quote_budget_calls_today(&p->budget, now));
		ipc_put_u64(&wb, p->budget.per_day);
	}
	proc_compose(ps, PROC_HTTP, IMSG_QUOTES_HEALTH, msg->hdr.peerid, -1,
	    &wb);
}

static void
fetcher_dispatch_evict(struct privsep *ps, enum procid peer,
    struct ipc_msg *msg)
{
	struct ipc_body	 b;
	struct ipc_wbuf	 wb;
	char		 symbol[QUOTE_SYMBOL_MAX + 1];
	size_t		 n;

	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_str(&b, symbol, sizeof(symbol)) == -1 ||
	    ipc_get_end(&b) == -1)
		fetcher_fail_malformed(msg);
	ipc_body_close(&b);
	n = fetcher_cache_evict(symbol);
	log_kv(LOG_INFO, "quote cache evicted", "symbol",
	    *symbol ? symbol : "*", LOG_FIELDS_END);
	ipc_wbuf_init(&wb, 1);
	ipc_put_u64(&wb, n);
	proc_compose(ps, PROC_HTTP, IMSG_QUOTES_EVICTED, msg->hdr.peerid, -1,
	    &wb);
}

static void
fetcher_dispatch_stats_get(struct privsep *ps, enum procid peer,
    struct ipc_msg *msg)
{
	struct ipc_body	 b;
	struct ipc_wbuf	 wb;

	if (ipc_body_open(&b, msg) == -1 || ipc_get_end(&b) == -1)
		fetcher_fail_malformed(msg);
	ipc_body_close(&b);
	ipc_wbuf_init(&wb, 5);
	ipc_put_u64(&wb, fetcher_cache_size());
	ipc_put_u64(&wb, fetcher_conf->cache_size);
	ipc_put_u64(&wb, fetcher_cache_stats.hits);
	ipc_put_u64(&wb, fetcher_cache_stats.misses);
	ipc_put_u64(&wb, fetcher_cache_stats.stale);
	proc_compose(ps, PROC_HTTP, IMSG_QUOTES_STATS, msg->hdr.peerid, -1,
	    &wb);
}

/* Keeps the budget and health of providers that stay in the list. */
static void
fetcher_set_providers(struct fetcher_conf *nc, const char *list,
    uint64_t per_minute, uint64_t per_day)
{
	const struct fetcher_conf	*old = fetcher_conf;
	struct provider			*p;
	const char			*s = list;
	size_t				 i, len;

	while (*s != '\0' && nc->nproviders < FETCHER_PROVIDERS_MAX) {
		len = strcspn(s, ",");
		p = &nc->providers[nc->nproviders];
		if (len == 4 && strncmp(s, "fake", 4) == 0)
			p->kind = PROVIDER_FAKE;
		else if (len == 12 && strncmp(s, "alphavantage", 12) == 0)
			p->kind = PROVIDER_ALPHAVANTAGE;
		else
			fatalx("fetcher: unknown provider in configuration");
		p->name = p->kind == PROVIDER_FAKE ? "fake" : "alphavantage";
		p->state = "UNKNOWN";
		for (i = 0; i < old->nproviders; i++)
			if (old->providers[i].kind == p->kind)
				*p = old->providers[i];
		p->budget.per_minute = p->kind == PROVIDER_FAKE ? 0 :
		    per_minute;
		p->budget.per_day = p->kind == PROVIDER_FAKE ? 0 : per_day;
		nc->nproviders++;
		s += len;
		if (*s == ',')
			s++;
	}
}

static void
fetcher_conf_clear(struct fetcher_conf *fc)
{
	free(fc->url);
	if (fc->api_key != NULL) {
		explicit_bzero(fc->api_key, strlen(fc->api_key));
		free(fc->api_key);
	}
	free(fc->ca);
	free(fc);
}

/* IMSG_CTL_CONFIG_FETCHER: the body is described at fetcher_config_send. */
static void
fetcher_dispatch_config(struct privsep *ps, enum procid peer,
    struct ipc_msg *msg)
{
	struct fetcher_conf	*nc;
	struct ipc_body		 b;
	const char		*providers, *url, *key;
	const uint8_t		*ca;
	size_t			 plen, ulen, klen, calen;
	uint64_t		 minute, day;
	int			 allow_http;

	if ((nc = calloc(1, sizeof(*nc))) == NULL)
		fatal("%s", __func__);
	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_strp(&b, &providers, &plen, 255) == -1 ||
	    ipc_get_strp(&b, &url, &ulen, 1023) == -1 ||
	    ipc_get_strp(&b, &key, &klen, 255) == -1 ||
	    ipc_get_bin(&b, &ca, &calen, FETCHER_CA_MAX) == -1 ||
	    ipc_get_bool(&b, &allow_http) == -1 ||
	    ipc_get_u64(&b, &nc->retry_attempts, 10) == -1 ||
	    ipc_get_u64(&b, &nc->initial_backoff_ms, 60000) == -1 ||
	    ipc_get_u64(&b, &nc->max_backoff_ms, 60000) == -1 ||
	    ipc_get_u64(&b, &nc->timeout_ms, QUOTES_IPC_TIMEOUT_MS) == -1 ||
	    ipc_get_u64(&b, &nc->connect_timeout_ms, QUOTES_IPC_TIMEOUT_MS) ==
	    -1 || ipc_get_u64(&b, &minute, UINT32_MAX) == -1 ||
	    ipc_get_u64(&b, &day, UINT32_MAX) == -1 ||
	    ipc_get_u64(&b, &nc->ttl_ms, UINT32_MAX) == -1 ||
	    ipc_get_u64(&b, &nc->cache_size, UINT32_MAX) == -1 ||
	    ipc_get_u64(&b, &nc->max_stale_ms, UINT32_MAX) == -1 ||
	    ipc_get_end(&b) == -1 || nc->retry_attempts == 0 ||
	    nc->cache_size == 0)
		fatalx("fetcher: malformed configuration from parent");

	nc->allow_http = allow_http;
	if ((nc->url = strndup(url, ulen)) == NULL ||
	    (klen > 0 && (nc->api_key = strndup(key, klen)) == NULL) ||
	    (calen > 0 && (nc->ca = malloc(calen)) == NULL))
		fatal("%s", __func__);
	if (calen > 0)
		memcpy(nc->ca, ca, calen);
	nc->ca_len = calen;
	{
		char	 list[256];

		snprintf(list, sizeof(list), "%.*s", (int)plen, providers);
		fetcher_set_providers(nc, list, minute, day);
	}
	ipc_body_close(&b);

	fetcher_conf_clear(fetcher_conf);
	fetcher_conf = nc;
	fetcher_cache_trim();
	log_debug("fetcher: %zu providers, cache of %llu entries, TTL %llu ms",
	    nc->nproviders, (unsigned long long)nc->cache_size,
	    (unsigned long long)nc->ttl_ms);
}

static void
fetcher_dispatch_resolved(struct privsep *ps, enum procid peer,
    struct ipc_msg *msg)
{
	struct ipc_body	 b, list;
	char		 host[256], addrs[FETCHER_ADDRS_MAX][INET6_ADDRSTRLEN];
	char		*ptrs[FETCHER_ADDRS_MAX];
	uint64_t	 port;
	size_t		 i;

	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_str(&b, host, sizeof(host)) == -1 ||
	    ipc_get_u64(&b, &port, 65535) == -1 ||
	    ipc_get_array(&b, &list, FETCHER_ADDRS_MAX) == -1)
		fatalx("fetcher: malformed resolved message from parent");
	for (i = 0; i < list.count; i++) {
		if (ipc_get_str(&list, addrs[i], sizeof(addrs[i])) == -1)
			fatalx("fetcher: malformed address from parent");
		ptrs[i] = addrs[i];
	}
	if (ipc_get_end(&list) == -1 || ipc_get_end(&b) == -1)
		fatalx("fetcher: malformed resolved message from parent");
	ipc_body_close(&b);
	fetcher_curl_pin(host, (unsigned int)port, ptrs, list.count);
	log_debug("fetcher: %s pinned to %u addresses", host, list.count);
}

static void
fetcher_peer_down(struct privsep *ps, enum procid peer)
{
	struct fetch_req	*req;

	/* Replies would reach a new http child under ids it never used. */
	if (peer != PROC_HTTP)
		return;
	while ((req = TAILQ_FIRST(&fetch_reqs)) != NULL) {
		fetcher_lookup_cancel(req);
		fetch_req_free(req);
	}
}

static const struct privsep_handler fetcher_dispatch_parent[] = {
	{ IMSG_CTL_CONFIG_FETCHER,	fetcher_dispatch_config },
	{ IMSG_CTL_FETCHER_RESOLVED,	fetcher_dispatch_resolved },
	{ 0,				NULL }
};

static const struct privsep_handler fetcher_dispatch_http[] = {
	{ IMSG_QUOTES_GET,		fetcher_dispatch_quotes_get },
	{ IMSG_QUOTES_HEALTH_GET,	fetcher_dispatch_health_get },
	{ IMSG_QUOTES_EVICT,		fetcher_dispatch_evict },
	{ IMSG_QUOTES_STATS_GET,	fetcher_dispatch_stats_get },
	{ 0,				NULL }
};

const struct privsep_proc fetcher_proc = {
	.name =		"fetcher",
	.id =		PROC_FETCHER,
	.init =		fetcher_init,
	.shutdown =	fetcher_shutdown,
	.peer_down =	fetcher_peer_down,
	.handlers = {
		[PROC_PARENT] =	fetcher_dispatch_parent,
		[PROC_HTTP] =	fetcher_dispatch_http,
	},
};
