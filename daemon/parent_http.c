/*
 * The parent's side of the http child: its limits and the process list
 * the actuator shows. The parent links this file, the http child does not.
 */

#include <stdint.h>
#include <time.h>

#include "benjid.h"

/* CLOCK_MONOTONIC, as the http child reads it for the uptimes it shows. */
static uint64_t
parent_http_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Composes the http child's part of the configuration. The
 * IMSG_CTL_CONFIG_HTTP body is [u max-uri-length, u max-header-size,
 * u max-header-count, u max-body-size, u max-import-size, u read-buffer,
 * u max-connections, u max-requests-per-connection, u head-timeout ms,
 * u body-timeout ms, u idle-timeout ms, u write-timeout ms].
 */
void
http_config_send(struct ipc_conn *c, const struct benjid_config *conf)
{
	struct ipc_wbuf	 wb;

	ipc_wbuf_init(&wb, 12);
	ipc_put_u64(&wb, conf->http_uri_max);
	ipc_put_u64(&wb, conf->http_head_max);
	ipc_put_u64(&wb, conf->http_headers_max);
	ipc_put_u64(&wb, conf->http_body_max);
	ipc_put_u64(&wb, conf->http_import_max);
	ipc_put_u64(&wb, conf->http_read_buffer);
	ipc_put_u64(&wb, conf->http_connections_max);
	ipc_put_u64(&wb, conf->http_requests_max);
	ipc_put_u64(&wb, conf->http_head_timeout_ms);
	ipc_put_u64(&wb, conf->http_body_timeout_ms);
	ipc_put_u64(&wb, conf->http_idle_timeout_ms);
	ipc_put_u64(&wb, conf->http_write_timeout_ms);
	ipc_compose(c, IMSG_CTL_CONFIG_HTTP, 0, -1, &wb);
}

/*
 * Composes IMSG_CTL_PROCESSES on the parent side, after each start of a
 * child. The parent starts its first child right after its own setup, so
 * the time of the first call is taken as the parent's start.
 */
void
http_processes_send(struct ipc_conn *c)
{
	static uint64_t	 started_ms;
	struct ipc_wbuf	 wb;
	int		 id;

	if (started_ms == 0)
		started_ms = parent_http_now_ms();
	ipc_wbuf_init(&wb, 2);
	ipc_put_u64(&wb, started_ms);
	ipc_put_array(&wb, PROC_MAX - 1);
	for (id = PROC_PARENT + 1; id < PROC_MAX; id++) {
		ipc_put_array(&wb, 2);
		ipc_put_str(&wb, proc_name(id));
		ipc_put_u64(&wb, parent_child(id)->restarts);
	}
	ipc_compose(c, IMSG_CTL_PROCESSES, 0, -1, &wb);
}
