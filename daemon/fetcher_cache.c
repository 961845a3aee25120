/*
 * The fetcher's quote cache. Past its TTL an entry is stale but stays, to
 * be served when the providers fail; it leaves only when the cache is full
 * (least recently used first) or when it is older than the maximum stale
 * age. Not-found answers and errors are never cached.
 */

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "benjid.h"
#include "fetcher.h"

TAILQ_HEAD(cache_lru, cache_entry);
LIST_HEAD(cache_bucket, cache_entry);

/*
 * A batch of 1,000 symbols looks each one up, so entries are also found
 * through a hash table. With 1,024 buckets the chains stay short up to a
 * few thousand entries.
 */
#define CACHE_BUCKETS	1024

/* Most recently used first. */
static struct cache_lru	 cache_lru = TAILQ_HEAD_INITIALIZER(cache_lru);
static struct cache_bucket cache_buckets[CACHE_BUCKETS];
static size_t		 cache_count;

struct cache_stats	 fetcher_cache_stats;

/* FNV-1a of the symbol, reduced to a bucket. */
static struct cache_bucket *
cache_bucket_of(const char *symbol)
{
	uint32_t	 h = 2166136261u;

	for (; *symbol != '\0'; symbol++) {
		h ^= (unsigned char)*symbol;
		h *= 16777619u;
	}
	return &cache_buckets[h % CACHE_BUCKETS];
}

static struct cache_entry *
cache_find(const char *symbol)
{
	struct cache_entry	*e;

	LIST_FOREACH(e, cache_bucket_of(symbol), bucket)
		if (strcmp(e->symbol, symbol) == 0)
			return e;
	return NULL;
}

static void
cache_remove(struct cache_entry *e)
{
	TAILQ_REMOVE(&cache_lru, e, lru);
	LIST_REMOVE(e, bucket);
	free(e);
	cache_count--;
}

/* Finds the entry of a symbol and marks it used. */
struct cache_entry *
fetcher_cache_get(const char *symbol, uint64_t now_ms)
{
	struct cache_entry	*e;

	if ((e = cache_find(symbol)) == NULL)
		return NULL;
	if (fetcher_conf->max_stale_ms != 0 &&
	    now_ms - e->fetched_ms > fetcher_conf->ttl_ms +
	    fetcher_conf->max_stale_ms) {
		cache_remove(e);
		return NULL;
	}
	TAILQ_REMOVE(&cache_lru, e, lru);
	TAILQ_INSERT_HEAD(&cache_lru, e, lru);
	return e;
}

int
fetcher_cache_fresh(const struct cache_entry *e, uint64_t now_ms)
{
	return now_ms - e->fetched_ms < fetcher_conf->ttl_ms;
}

/* Evicts the least recently used entries above the configured size. */
void
fetcher_cache_trim(void)
{
	while (cache_count > fetcher_conf->cache_size)
		cache_remove(TAILQ_LAST(&cache_lru, cache_lru));
}

void
fetcher_cache_put(const struct quote_data *q, const char *source,
    time_t fetched_at, uint64_t now_ms)
{
	struct cache_entry	*e;

	if ((e = cache_find(q->symbol)) != NULL) {
		TAILQ_REMOVE(&cache_lru, e, lru);
	} else {
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			log_warn("cache entry for %s", q->symbol);
			return;
		}
		snprintf(e->symbol, sizeof(e->symbol), "%s", q->symbol);
		LIST_INSERT_HEAD(cache_bucket_of(e->symbol), e, bucket);
		cache_count++;
	}
	e->q = *q;
	snprintf(e->source, sizeof(e->source), "%s", source);
	e->fetched_at = fetched_at;
	e->fetched_ms = now_ms;
	TAILQ_INSERT_HEAD(&cache_lru, e, lru);
	fetcher_cache_trim();
}

/* Removes one symbol's entry, or every entry when symbol is empty. */
size_t
fetcher_cache_evict(const char *symbol)
{
	struct cache_entry	*e, *next;
	size_t			 n = 0;

	for (e = TAILQ_FIRST(&cache_lru); e != NULL; e = next) {
		next = TAILQ_NEXT(e, lru);
		if (*symbol == '\0' || strcmp(e->symbol, symbol) == 0) {
			cache_remove(e);
			n++;
		}
	}
	return n;
}

size_t
fetcher_cache_size(void)
{
	return cache_count;
}
