/*
 * The parent's side of the db child: its configuration, with the database
 * host resolved here because the chrooted child may have no resolver.
 * The parent links this file, the db child does not.
 */

#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "benjid.h"

/* Seconds between lookups of the database host by the parent. */
#define DB_RESOLVE_INTERVAL_S	60

/* The last hostaddr list sent to the db child. */
static char				 db_resolved[1024];
static const struct benjid_config	*db_resolve_conf;
static struct event			*db_resolve_ev;

/*
 * Looks the database host up again now and then, and sends the settings
 * again when its address changed (a managed database that fails over
 * keeps its name but moves): new connections use the new address.
 */
static void
db_resolve_cb(evutil_socket_t fd, short events, void *arg)
{
	static const struct timeval	 interval = { DB_RESOLVE_INTERVAL_S, 0 };
	const struct benjid_child	*child = parent_child(PROC_DB);
	char				 now[sizeof(db_resolved)];

	evtimer_add(db_resolve_ev, &interval);
	if (db_resolve_conf == NULL || child->conn == NULL ||
	    db_config_hostaddr(db_resolve_conf->db_url, now, sizeof(now)) ==
	    -1 || strcmp(now, db_resolved) == 0)
		return;
	log_info("database host now resolves to %s", now[0] ? now : "-");
	db_config_send(child->conn, db_resolve_conf);
}

/*
 * Composes the db child's part of the configuration. The
 * password travels only over the parent's socket to this child.
 * IMSG_CTL_CONFIG_DB: [str url, str user, str password, u pool size,
 * u connect timeout ms, u statement timeout ms, str time zone,
 * str hostaddr list for libpq, "" when not needed].
 */
void
db_config_send(struct ipc_conn *c, const struct benjid_config *conf)
{
	static const struct timeval	 interval = { DB_RESOLVE_INTERVAL_S, 0 };
	struct ipc_wbuf			 wb;
	const char			*password;
	size_t				 len;

	db_resolve_conf = conf;
	db_config_hostaddr(conf->db_url, db_resolved, sizeof(db_resolved));
	if (db_resolve_ev == NULL &&
	    (db_resolve_ev = evtimer_new(c->base, db_resolve_cb, NULL)) != NULL)
		evtimer_add(db_resolve_ev, &interval);

	ipc_wbuf_init(&wb, 8);
	ipc_put_str(&wb, conf->db_url);
	ipc_put_str(&wb, conf->db_user ? conf->db_user : "");
	/* The password lives in the parent's guarded memory, not in conf. */
	password = secrets_env_open(SECRETS_ENV_DB_PASSWORD, &len);
	ipc_put_strn(&wb, password != NULL ? password : "",
	    password != NULL ? len : 0);
	secrets_env_close();
	ipc_put_u64(&wb, conf->db_pool_size);
	ipc_put_u64(&wb, conf->db_connect_timeout_ms);
	ipc_put_u64(&wb, conf->db_statement_timeout_ms);
	ipc_put_str(&wb, conf->db_timezone);
	ipc_put_str(&wb, db_resolved);
	ipc_compose(c, IMSG_CTL_CONFIG_DB, 0, -1, &wb);
}
