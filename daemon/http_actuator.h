/*
 * The actuator endpoints' shared parts: a snapshot of the siblings' state
 * for /actuator/health, /actuator/metrics and /actuator/prometheus, and
 * the restart counts that the parent sends.
 */

#ifndef BENJI_HTTP_ACTUATOR_H
#define BENJI_HTTP_ACTUATOR_H

#include <stddef.h>
#include <stdint.h>

#include "benjid.h"

#define ACTUATOR_TIMEOUT_MS	1000
#define ACTUATOR_PROVIDERS_MAX	4
#define ACTUATOR_PROBLEM_MAX	4200	/* as the db child's problem text */

/* The sibling requests a snapshot is made of, one bit each. */
#define ACTUATOR_SRC_DB		0x01	/* IMSG_DB_HEALTH_GET */
#define ACTUATOR_SRC_PROVIDERS	0x02	/* IMSG_QUOTES_HEALTH_GET */
#define ACTUATOR_SRC_CACHE	0x04	/* IMSG_QUOTES_STATS_GET */
#define ACTUATOR_SRC_SECRETS	0x08	/* IMSG_PING to secrets */

/* One provider of IMSG_QUOTES_HEALTH. */
struct actuator_provider {
	char		 name[32];
	char		 state[32];
	char		 last_error[256];
	int64_t		 last_error_at;		/* Unix seconds, 0: never */
	int64_t		 last_success_at;	/* Unix seconds, 0: never */
	uint64_t	 calls_today;
	uint64_t	 budget_per_day;	/* 0: no limit */
};

struct actuator_snapshot;
typedef void	(*actuator_snapshot_cb)(struct http_req *,
		    struct actuator_snapshot *);

/*
 * The siblings' replies for one request. A source bit in answered means
 * its part below is filled in; a sibling that is down or late leaves its
 * bit clear.
 */
struct actuator_snapshot {
	unsigned int		 waiting;
	unsigned int		 answered;
	actuator_snapshot_cb	 done;
	const void		*arg;

	struct {
		int		 migrated;
		uint64_t	 pool_size;
		uint64_t	 open;
		uint64_t	 active;
		uint64_t	 pending;
		char		 problem[ACTUATOR_PROBLEM_MAX];
	} db;

	struct actuator_provider providers[ACTUATOR_PROVIDERS_MAX];
	size_t			 nproviders;

	struct {
		uint64_t	 entries;
		uint64_t	 capacity;
		uint64_t	 hits;
		uint64_t	 misses;
		uint64_t	 stale;
	} cache;
};

/* The children as the parent last reported them in IMSG_CTL_PROCESSES. */
struct actuator_processes {
	uint64_t	 started_ms;	/* CLOCK_MONOTONIC; 0 until reported */
	uint64_t	 restarts[PROC_MAX];
};

/* http_actuator.c */
void	 actuator_snapshot_take(struct http_req *, unsigned int,
	    actuator_snapshot_cb, const void *);
const struct actuator_processes *actuator_processes(void);
uint64_t actuator_now_ms(void);

/* http_metrics.c */
void	 metrics_names(struct http_req *);
void	 metrics_one(struct http_req *);
void	 metrics_prometheus(struct http_req *);

#endif /* BENJI_HTTP_ACTUATOR_H */
