/*
 * Actuator endpoints of the http child: the health probes that load
 * balancers and orchestrators call.
 */

#include <stdlib.h>

#include <event2/http.h>
#include <json-c/json.h>

#include "benjid.h"

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

const struct http_route http_actuator_routes[] = {
	{ "/actuator/health/liveness", EVHTTP_REQ_GET, "GET", HTTP_AUTH_NONE,
	    actuator_liveness },
	{ "/actuator/health/readiness", EVHTTP_REQ_GET, "GET", HTTP_AUTH_NONE,
	    actuator_readiness },
	{ NULL, 0, NULL, HTTP_AUTH_NONE, NULL }
};
