/*
 * Provider calls of the fetcher. A lookup is served from a fresh cache
 * entry, else it joins the flight already under way for its symbol, else it
 * starts one: the providers are asked in their configured order, each within
 * the budget, with retries of transient failures inside one total deadline.
 * When every provider fails, a stale cache entry is served if there is one.
 */

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "benjid.h"
#include "fetcher.h"

/* Attempts closer than this to the deadline are not started. */
#define FLIGHT_MIN_ATTEMPT_MS	50

struct waiter {
	TAILQ_ENTRY(waiter)	 entry;
	fetcher_done_cb		 cb;
	void			*arg;
	size_t			 index;
};
TAILQ_HEAD(waiters, waiter);

/* One upstream lookup of a symbol, shared by every request that wants it. */
struct flight {
	TAILQ_ENTRY(flight)	 entry;
	char			 symbol[QUOTE_SYMBOL_MAX + 1];
	struct waiters		 waiters;
	size_t			 provider;	/* index in the configuration */
	unsigned int		 attempt;	/* with the current provider */
	uint64_t		 started_ms;
	uint64_t		 attempt_ms;
	uint64_t		 deadline_ms;
	struct fetcher_http	*http;
	struct event		*backoff;
	struct quote_result	 failure;	/* of the first provider */
	int			 failed;
};
TAILQ_HEAD(flights, flight);

static struct flights	 flights = TAILQ_HEAD_INITIALIZER(flights);

static void	 flight_try(struct flight *);

/*
 * Records a provider failure for IMSG_QUOTES_HEALTH. The text reaches
 * /actuator/health, so a reply that echoes the API key is not kept.
 */
static void
provider_failed(struct provider *p, const char *state, const char *why)
{
	const char	*key = fetcher_conf->api_key;

	p->state = state;
	if (key != NULL && *key != '\0' && strstr(why, key) != NULL)
		why = "error text withheld because it contained the API key";
	snprintf(p->last_error, sizeof(p->last_error), "%s", why);
	p->last_error_at = time(NULL);
}

static void
result_from_entry(struct quote_result *r, const struct cache_entry *e,
    int stale)
{
	memset(r, 0, sizeof(*r));
	r->status = QUOTE_OK;
	r->q = e->q;
	snprintf(r->source, sizeof(r->source), "%s", e->source);
	r->fetched_at = e->fetched_at;
	r->stale = stale;
}

/* Answers every waiter of the flight, then frees it. */
static void
flight_finish(struct flight *f, const struct quote_result *r)
{
	struct waiter	*w;

	TAILQ_REMOVE(&flights, f, entry);
	while ((w = TAILQ_FIRST(&f->waiters)) != NULL) {
		TAILQ_REMOVE(&f->waiters, w, entry);
		if (r->stale)
			fetcher_cache_stats.stale++;
		w->cb(w->arg, w->index, r);
		free(w);
	}
	if (f->backoff != NULL)
		event_free(f->backoff);
	free(f);
}

static void
flight_success(struct flight *f, struct quote_data *q, struct provider *p)
{
	struct quote_result	 r;

	memset(&r, 0, sizeof(r));
	snprintf(q->symbol, sizeof(q->symbol), "%s", f->symbol);
	r.status = QUOTE_OK;
	r.q = *q;
	snprintf(r.source, sizeof(r.source), "%s", p->name);
	r.fetched_at = time(NULL);
	p->state = "UP";
	p->last_success_at = r.fetched_at;
	fetcher_cache_put(q, p->name, r.fetched_at, fetcher_now_ms());
	flight_finish(f, &r);
}

/* Serves a stale entry when there is one, else the primary's failure. */
static void
flight_exhausted(struct flight *f)
{
	struct cache_entry	*e;
	struct quote_result	 r;

	if ((e = fetcher_cache_get(f->symbol, fetcher_now_ms())) != NULL) {
		log_kv(LOG_INFO, "serving stale quote", "symbol", f->symbol,
		    "as_of", e->q.as_of, "reason", f->failure.message,
		    LOG_FIELDS_END);
		result_from_entry(&r, e, 1);
		flight_finish(f, &r);
		return;
	}
	if (!f->failed) {
		f->failure.status = QUOTE_UNAVAILABLE;
		snprintf(f->failure.message, sizeof(f->failure.message),
		    "no market data provider is configured");
	}
	flight_finish(f, &f->failure);
}

/* Records why the current provider failed and moves to the next one. */
static void
flight_next(struct flight *f, enum quote_status status,
    unsigned int retry_after, const char *why)
{
	if (!f->failed) {
		f->failure.status = status;
		f->failure.retry_after = retry_after;
		snprintf(f->failure.message, sizeof(f->failure.message), "%s",
		    why);
		f->failed = 1;
	}
	f->provider++;
	f->attempt = 0;
	flight_try(f);
}

static void
flight_log(struct flight *f, const struct fetcher_http_result *hr,
    enum av_reply reply)
{
	char	 attempt[16], status[16], ms[24];

	snprintf(attempt, sizeof(attempt), "%u", f->attempt + 1);
	snprintf(status, sizeof(status), "%ld", hr->ok ? hr->status : 0L);
	snprintf(ms, sizeof(ms), "%llu",
	    (unsigned long long)(fetcher_now_ms() - f->attempt_ms));
	log_kv(LOG_INFO, "provider call", "provider", "alphavantage",
	    "symbol", f->symbol, "url", fetcher_conf->url, "attempt", attempt,
	    "http_status", status, "result", hr->ok ?
	    quote_av_reply_name(reply) : hr->error, "duration_ms", ms,
	    LOG_FIELDS_END);
}

static void
flight_backoff_cb(evutil_socket_t fd, short events, void *arg)
{
	flight_try(arg);
}

/*
 * Schedules another attempt with the same provider after an exponential
 * backoff with jitter (half fixed, half random), or gives the provider up
 * when the attempts or the deadline would be exceeded.
 */
static void
flight_retry(struct flight *f, enum quote_status status, const char *why)
{
	const struct fetcher_conf	*fc = fetcher_conf;
	uint64_t			 delay, now = fetcher_now_ms();
	struct timeval			 tv;

	unsigned int			 i;

	f->attempt++;
	delay = fc->initial_backoff_ms;
	for (i = 1; i < f->attempt && delay < fc->max_backoff_ms; i++)
		delay *= 2;
	if (delay > fc->max_backoff_ms)
		delay = fc->max_backoff_ms;
	delay = delay / 2 + arc4random_uniform((uint32_t)(delay / 2 + 1));

	if (f->attempt >= fc->retry_attempts ||
	    now + delay + FLIGHT_MIN_ATTEMPT_MS >= f->deadline_ms) {
		provider_failed(&fetcher_conf->providers[f->provider], "ERROR",
		    why);
		flight_next(f, status, 0, why);
		return;
	}
	log_warnx("alphavantage: %s for %s, retrying in %llu ms", why,
	    f->symbol, (unsigned long long)delay);
	if (f->backoff == NULL && (f->backoff = evtimer_new(fetcher_base,
	    flight_backoff_cb, f)) == NULL) {
		flight_next(f, status, 0, why);
		return;
	}
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(f->backoff, &tv);
}

/* The provider reported its limit: no retry, the budget is spent. */
static void
flight_rate_limited(struct flight *f, struct provider *p, const char *why)
{
	int	 daily = strcasestr(why, "day") != NULL;

	quote_budget_exhaust(&p->budget, time(NULL), daily);
	provider_failed(p, "RATE_LIMITED", why);
	log_warnx("%s: rate limited: %s", p->name, why);
	flight_next(f, QUOTE_RATE_LIMITED,
	    (unsigned int)(p->budget.blocked_until - time(NULL)), why);
}

/* Decides what one AlphaVantage reply means for the flight. */
static void
flight_av_reply(struct flight *f, struct provider *p,
    const struct fetcher_http_result *hr)
{
	struct quote_data	 q;
	struct quote_result	 r;
	enum av_reply		 reply;
	char			 msg[QUOTE_MESSAGE_MAX - 32];
	char			 why[QUOTE_MESSAGE_MAX];

	reply = quote_av_parse(hr->body, hr->len, &q, msg, sizeof(msg));
	flight_log(f, hr, reply);
	switch (reply) {
	case AV_QUOTE:
		flight_success(f, &q, p);
		return;
	case AV_NOT_FOUND:
		p->state = "UP";
		p->last_success_at = time(NULL);
		memset(&r, 0, sizeof(r));
		r.status = QUOTE_NOT_FOUND;
		snprintf(r.source, sizeof(r.source), "%s", p->name);
		snprintf(r.message, sizeof(r.message), "no quote for %s",
		    f->symbol);
		flight_finish(f, &r);
		return;
	case AV_RATE_LIMITED:
		flight_rate_limited(f, p, msg);
		return;
	case AV_KEY_INVALID:
		snprintf(why, sizeof(why), "API key rejected: %s", msg);
		provider_failed(p, "MISCONFIGURED", why);
		log_warnx("%s: %s", p->name, why);
		flight_next(f, QUOTE_PROVIDER_ERROR, 0, why);
		return;
	case AV_ERROR:
		provider_failed(p, "ERROR", msg);
		log_warnx("%s: provider error for %s: %s", p->name, f->symbol,
		    msg);
		flight_next(f, QUOTE_PROVIDER_ERROR, 0, msg);
		return;
	case AV_MALFORMED:
		flight_retry(f, QUOTE_PROVIDER_ERROR, msg);
		return;
	}
}

static void
flight_av_done(void *arg, const struct fetcher_http_result *hr)
{
	struct flight	*f = arg;
	struct provider	*p;
	char		 why[QUOTE_MESSAGE_MAX];

	f->http = NULL;
	/* A reload may have shortened the provider list meanwhile. */
	if (f->provider >= fetcher_conf->nproviders) {
		flight_exhausted(f);
		return;
	}
	p = &fetcher_conf->providers[f->provider];
	if (hr->too_big) {
		flight_log(f, hr, AV_ERROR);
		snprintf(why, sizeof(why), "reply larger than %d bytes",
		    FETCHER_REPLY_MAX);
		provider_failed(p, "ERROR", why);
		flight_next(f, QUOTE_PROVIDER_ERROR, 0, why);
	} else if (!hr->ok) {
		flight_log(f, hr, AV_ERROR);
		/* A certificate that fails verification will fail again. */
		if (strstr(hr->error, "certificate") != NULL ||
		    strstr(hr->error, "SSL") != NULL ||
		    strstr(hr->error, "Protocol") != NULL) {
			provider_failed(p, "ERROR", hr->error);
			flight_next(f, QUOTE_UNAVAILABLE, 0, hr->error);
		} else
			flight_retry(f, QUOTE_UNAVAILABLE, hr->error);
	} else if (hr->status >= 500) {
		flight_log(f, hr, AV_MALFORMED);
		snprintf(why, sizeof(why), "HTTP status %ld", hr->status);
		flight_retry(f, QUOTE_PROVIDER_ERROR, why);
	} else if (hr->status == 429) {
		flight_log(f, hr, AV_RATE_LIMITED);
		flight_rate_limited(f, p, "HTTP status 429");
	} else if (hr->status != 200) {
		flight_log(f, hr, AV_ERROR);
		snprintf(why, sizeof(why), "unexpected HTTP status %ld",
		    hr->status);
		provider_failed(p, "ERROR", why);
		flight_next(f, QUOTE_PROVIDER_ERROR, 0, why);
	} else
		flight_av_reply(f, p, hr);
}

/* Builds the GLOBAL_QUOTE URL; it contains the key and is never logged. */
static char *
flight_av_url(const struct flight *f)
{
	char	*key, *url;

	if ((key = curl_easy_escape(NULL, fetcher_conf->api_key, 0)) == NULL)
		return NULL;
	if (asprintf(&url, "%s%sfunction=GLOBAL_QUOTE&symbol=%s&apikey=%s",
	    fetcher_conf->url, strchr(fetcher_conf->url, '?') ? "&" : "?",
	    f->symbol, key) == -1)
		url = NULL;
	explicit_bzero(key, strlen(key));
	curl_free(key);
	return url;
}

/* Starts one AlphaVantage call. Returns 0 when it is under way. */
static int
flight_av_start(struct flight *f, struct provider *p)
{
	unsigned int	 wait;
	uint64_t	 now = fetcher_now_ms();
	char		*url;

	if (fetcher_conf->api_key == NULL || *fetcher_conf->api_key == '\0') {
		provider_failed(p, "MISCONFIGURED", "no API key configured");
		flight_next(f, QUOTE_UNAVAILABLE, 0,
		    "no API key is configured for alphavantage");
		return 0;
	}
	if (now + FLIGHT_MIN_ATTEMPT_MS >= f->deadline_ms)
		return -1;
	if ((wait = quote_budget_take(&p->budget, time(NULL))) != 0) {
		log_kv(LOG_INFO, "provider budget spent", "provider", p->name,
		    "symbol", f->symbol, LOG_FIELDS_END);
		flight_next(f, QUOTE_RATE_LIMITED, wait,
		    "the call budget of alphavantage is spent");
		return 0;
	}
	if ((url = flight_av_url(f)) == NULL)
		return -1;
	f->attempt_ms = now;
	f->http = fetcher_curl_get(url, f->deadline_ms - now, flight_av_done,
	    f);
	explicit_bzero(url, strlen(url));
	free(url);
	return f->http != NULL ? 0 : -1;
}

/* Asks the current provider, or the next ones, until one is under way. */
static void
flight_try(struct flight *f)
{
	struct provider		*p;
	struct quote_data	 q;

	if (f->provider >= fetcher_conf->nproviders) {
		flight_exhausted(f);
		return;
	}
	p = &fetcher_conf->providers[f->provider];
	switch (p->kind) {
	case PROVIDER_FAKE:
		if (quote_fake(f->symbol, time(NULL), &q) == 0) {
			flight_success(f, &q, p);
			return;
		}
		flight_next(f, QUOTE_UNAVAILABLE, 0, "fake provider failed");
		return;
	case PROVIDER_ALPHAVANTAGE:
		if (flight_av_start(f, p) == -1) {
			provider_failed(p, "ERROR", "call could not start");
			flight_next(f, QUOTE_UNAVAILABLE, 0,
			    "alphavantage call could not start before the "
			    "deadline");
		}
		return;
	}
}

/*
 * Looks up one symbol for a request; cb(arg, index, result) runs once,
 * possibly before this returns.
 */
void
fetcher_lookup(const char *symbol, fetcher_done_cb cb, void *arg,
    size_t index)
{
	struct cache_entry	*e;
	struct quote_result	 r;
	struct flight		*f;
	struct waiter		*w;
	uint64_t		 now = fetcher_now_ms();

	if ((e = fetcher_cache_get(symbol, now)) != NULL &&
	    fetcher_cache_fresh(e, now)) {
		fetcher_cache_stats.hits++;
		result_from_entry(&r, e, 0);
		cb(arg, index, &r);
		return;
	}
	fetcher_cache_stats.misses++;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("%s", __func__);
	w->cb = cb;
	w->arg = arg;
	w->index = index;
	TAILQ_FOREACH(f, &flights, entry)
		if (strcmp(f->symbol, symbol) == 0) {
			TAILQ_INSERT_TAIL(&f->waiters, w, entry);
			return;
		}

	if ((f = calloc(1, sizeof(*f))) == NULL)
		fatal("%s", __func__);
	snprintf(f->symbol, sizeof(f->symbol), "%s", symbol);
	TAILQ_INIT(&f->waiters);
	TAILQ_INSERT_TAIL(&f->waiters, w, entry);
	f->started_ms = now;
	f->deadline_ms = now + fetcher_conf->timeout_ms;
	TAILQ_INSERT_TAIL(&flights, f, entry);
	flight_try(f);
}

/* Forgets every waiter of a request; the flights go on for the cache. */
void
fetcher_lookup_cancel(void *arg)
{
	struct flight	*f;
	struct waiter	*w, *next;

	TAILQ_FOREACH(f, &flights, entry) {
		for (w = TAILQ_FIRST(&f->waiters); w != NULL; w = next) {
			next = TAILQ_NEXT(w, entry);
			if (w->arg == arg) {
				TAILQ_REMOVE(&f->waiters, w, entry);
				free(w);
			}
		}
	}
}
