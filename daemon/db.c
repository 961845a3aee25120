/*
 * The db child: every SQL statement runs here, over libpq connections on
 * this process's event loop. It reaches PostgreSQL and nothing else.
 */

#include <stdlib.h>

#include "benjid.h"

static void
db_shutdown(struct privsep *ps, unsigned int deadline_ms)
{
	/* No statement is in flight before the database work exists. */
	exit(0);
}

static const struct privsep_handler db_dispatch_http[] = {
	{ 0,	NULL }
};

const struct privsep_proc db_proc = {
	.name =		"db",
	.id =		PROC_DB,
	.shutdown =	db_shutdown,
	.handlers = {
		[PROC_HTTP] =	db_dispatch_http,
	},
};

/* Composes the db child's part of the configuration; parent side. */
void
db_config_send(struct ipc_conn *c, const struct benjid_config *conf)
{
}
