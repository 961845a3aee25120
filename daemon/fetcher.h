/*
 * Internals of the fetcher child, shared by its files: fetcher.c (process
 * and IPC), fetcher_provider.c (provider calls, retries, coalescing),
 * fetcher_cache.c (quote cache) and fetcher_curl.c (libcurl on libevent).
 */

#ifndef BENJI_FETCHER_H
#define BENJI_FETCHER_H

#include <sys/queue.h>

#include <stdint.h>
#include <time.h>

#include "quote.h"

#define FETCHER_PROVIDERS_MAX	2
#define FETCHER_REPLY_MAX	(64 * 1024)	/* bytes of a provider reply */
#define FETCHER_CA_MAX		(900 * 1024)	/* fits one IPC frame */
#define FETCHER_ADDRS_MAX	8

enum provider_kind {
	PROVIDER_ALPHAVANTAGE,
	PROVIDER_FAKE
};

/* A provider's health, as IMSG_QUOTES_HEALTH reports it. */
struct provider {
	enum provider_kind	 kind;
	const char		*name;
	const char		*state;		/* "UNKNOWN", "UP", ... */
	char			 last_error[QUOTE_MESSAGE_MAX];
	time_t			 last_error_at;
	time_t			 last_success_at;
	struct quote_budget	 budget;
};

struct fetcher_conf {
	struct provider		 providers[FETCHER_PROVIDERS_MAX];
	size_t			 nproviders;
	char			*url;
	char			*api_key;
	uint8_t			*ca;
	size_t			 ca_len;
	int			 allow_http;
	uint64_t		 retry_attempts;
	uint64_t		 initial_backoff_ms;
	uint64_t		 max_backoff_ms;
	uint64_t		 timeout_ms;
	uint64_t		 connect_timeout_ms;
	uint64_t		 ttl_ms;
	uint64_t		 cache_size;
	uint64_t		 max_stale_ms;
};

/* The outcome of one symbol, sent back in IMSG_QUOTES. */
struct quote_result {
	enum quote_status	 status;
	struct quote_data	 q;
	char			 source[16];
	time_t			 fetched_at;
	int			 stale;
	unsigned int		 retry_after;
	char			 message[QUOTE_MESSAGE_MAX];
};

typedef void	(*fetcher_done_cb)(void *, size_t, const struct quote_result *);

/* fetcher.c */
extern struct fetcher_conf	*fetcher_conf;
extern struct event_base	*fetcher_base;
uint64_t	 fetcher_now_ms(void);

/* fetcher_provider.c */
void	 fetcher_lookup(const char *, fetcher_done_cb, void *, size_t);
void	 fetcher_lookup_cancel(void *);

/* fetcher_cache.c */
struct cache_entry {
	TAILQ_ENTRY(cache_entry) lru;
	LIST_ENTRY(cache_entry)	 bucket;
	char			 symbol[QUOTE_SYMBOL_MAX + 1];
	struct quote_data	 q;
	char			 source[16];
	time_t			 fetched_at;	/* wall clock, for clients */
	uint64_t		 fetched_ms;	/* monotonic, for the TTL */
};
struct cache_entry *fetcher_cache_get(const char *, uint64_t);
int	 fetcher_cache_fresh(const struct cache_entry *, uint64_t);
void	 fetcher_cache_put(const struct quote_data *, const char *, time_t,
	    uint64_t);
size_t	 fetcher_cache_evict(const char *);
void	 fetcher_cache_trim(void);
size_t	 fetcher_cache_size(void);

/* Symbol lookups since the fetcher started, for IMSG_QUOTES_STATS. */
struct cache_stats {
	uint64_t		 hits;		/* answered by a fresh entry */
	uint64_t		 misses;	/* sent to a provider */
	uint64_t		 stale;		/* misses answered by a stale entry */
};
extern struct cache_stats	 fetcher_cache_stats;

/* fetcher_curl.c */
struct fetcher_http;
struct fetcher_http_result {
	int		 ok;		/* a reply arrived, status is valid */
	long		 status;
	const char	*body;
	size_t		 len;
	int		 too_big;
	char		 error[256];
};
typedef void	(*fetcher_http_cb)(void *, const struct fetcher_http_result *);
void	 fetcher_curl_init(void);
struct fetcher_http *fetcher_curl_get(const char *, uint64_t,
	    fetcher_http_cb, void *);
void	 fetcher_curl_cancel(struct fetcher_http *);
void	 fetcher_curl_pin(const char *, unsigned int, char **, size_t);

#endif /* BENJI_FETCHER_H */
