/*
 * The db child: every SQL statement runs here, over libpq connections on
 * this process's event loop. It reaches PostgreSQL and nothing else.
 *
 * libpq runs inside the chroot: the user must be explicit (no passwd
 * lookup), a host name is resolved through the DNS servers reachable from
 * the empty chroot, and a unix socket directory must exist inside the
 * chroot. TCP to a numeric address always works.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "benjid.h"
#include "db.h"

#define DB_RETRY_MS		250
#define DB_RETRY_MAX_MS		5000

struct db_settings	 db_settings;

static struct privsep	*db_ps;
static struct event	*db_migrate_ev;
static unsigned int	 db_migrate_backoff_ms;
static int		 db_configured;
static int		 db_migrated;
static int		 db_waiting_logged;
static char		 db_problem[4200] = "schema migrations not run yet";

/*
 * Returns 1 when requests can run: migrations done and a connection up.
 * Otherwise returns 0 and sets why.
 */
int
db_ready(const char **why)
{
	*why = "";
	if (!db_migrated) {
		*why = db_problem;
		return 0;
	}
	if (db_pool_connected() == 0) {
		*why = "PostgreSQL is unavailable";
		return 0;
	}
	return 1;
}

static void
db_migrate_schedule(unsigned int ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(db_migrate_ev, &tv);
}

/*
 * Marks the schema migrated and opens the pool. pg, when not NULL, is
 * the session that checked the migrations: the pool keeps it as its
 * first connection, so readiness need not wait for a new one.
 */
static void
db_migrated_now(const char *result, PGconn *pg)
{
	db_migrated = 1;
	log_info("%s", result);
	db_pool_start(db_ps->base, pg);
}

/*
 * Sends the frames queued for the parent and http now. Frames go out at
 * the end of an event-loop pass, and the migration that follows blocks
 * the loop: an early readiness reply would otherwise wait for its end.
 */
static void
db_flush_links(void)
{
	enum procid	 peer;

	/* A write error is left to the connection's write event. */
	for (peer = PROC_PARENT; peer < PROC_MAX; peer++)
		if (db_ps->peers[peer] != NULL)
			(void)ipc_flush(db_ps->peers[peer]);
}

/*
 * Migrates at startup. Another instance holding the lock means waiting
 * for it; an unreachable server means trying again with backoff; a schema
 * history that does not match this build stops here, with the problem
 * logged and returned by readiness, until benjictl db repairs it.
 */
static void
db_migrate_cb(evutil_socket_t fd, short events, void *arg)
{
	struct ipc_wbuf	 wb;
	char		 out[4096];
	PGconn		*pg;
	int		 r;

	db_flush_links();
	if ((pg = db_connect_blocking(out, sizeof(out))) == NULL) {
		if (db_migrate_backoff_ms == 0 ||
		    db_migrate_backoff_ms == DB_RETRY_MAX_MS)
			log_warnx("%s; retrying", out);
		snprintf(db_problem, sizeof(db_problem), "%s", out);
		db_migrate_backoff_ms = db_migrate_backoff_ms ?
		    db_migrate_backoff_ms * 2 : DB_RETRY_MS;
		if (db_migrate_backoff_ms > DB_RETRY_MAX_MS)
			db_migrate_backoff_ms = DB_RETRY_MAX_MS;
		db_migrate_schedule(db_migrate_backoff_ms);
		return;
	}
	r = db_migrate_locked(pg, 0, out, sizeof(out));
	if (r == 0) {
		db_migrated_now(out, pg);
		return;
	}
	PQfinish(pg);
	switch (r) {
	case 1:
		if (!db_waiting_logged++)
			log_info("another instance is migrating the schema; "
			    "waiting");
		db_migrate_schedule(DB_RETRY_MS);
		break;
	default:
		log_warnx("schema migration stopped: %s", out);
		snprintf(db_problem, sizeof(db_problem),
		    "schema migration stopped: %s", out);
		/* The parent decides: stop benjid, or wait for benjictl db. */
		ipc_wbuf_init(&wb, 1);
		ipc_put_str(&wb, db_problem);
		proc_compose(db_ps, PROC_PARENT, IMSG_CTL_DB_MIGRATION_FAILED, 0,
		    -1, &wb);
		break;
	}
}

static void
db_start(struct privsep *ps)
{
	db_ps = ps;
	if (!db_configured)
		fatalx("db: started without its configuration");
	if ((db_migrate_ev = evtimer_new(ps->base, db_migrate_cb, NULL)) ==
	    NULL)
		fatalx("db: evtimer_new failed");
	db_migrate_schedule(0);
}

static void
db_exit_cb(evutil_socket_t fd, short events, void *arg)
{
	if (db_pool_active() == 0 || arg != NULL) {
		db_pool_stop();
		exit(0);
	}
}

/* Lets running statements finish until the deadline, then exits. */
static void
db_shutdown(struct privsep *ps, unsigned int deadline_ms)
{
	struct timeval	 deadline = { deadline_ms / 1000,
			    (deadline_ms % 1000) * 1000 };
	struct timeval	 poll = { 0, 20 * 1000 };
	struct event	*ev;

	if (db_pool_active() == 0) {
		db_pool_stop();
		exit(0);
	}
	ev = event_new(ps->base, -1, EV_PERSIST, db_exit_cb, NULL);
	if (ev == NULL || event_add(ev, &poll) == -1)
		exit(0);
	event_base_once(ps->base, -1, EV_TIMEOUT, db_exit_cb, ps, &deadline);
}

/*
 * Builds libpq's keywords from the datasource and the fixed settings:
 * explicit user, no password file, keepalives and the statement timeout
 * on every session.
 */
static void
db_settings_params(const char *url, const char *user, const char *password,
    const char *hostaddr)
{
	struct db_params	*p = &db_settings.params;
	const char		*given;
	char			 err[512], options[1024], seconds[16];

	db_params_free(p);
	if (db_url_parse(url, p, err, sizeof(err)) == -1)
		fatalx("db: %s", err);
	if (user != NULL && *user != '\0' && db_params_get(p, "user") == NULL)
		db_params_set(p, "user", user);
	if (password != NULL && *password != '\0')
		db_params_set(p, "password", password);
	/* The parent resolved the hosts: the chroot has no resolver files. */
	if (*hostaddr != '\0' && db_params_get(p, "hostaddr") == NULL)
		db_params_set(p, "hostaddr", hostaddr);
	given = db_params_get(p, "options");
	snprintf(options, sizeof(options), "%s%s-c statement_timeout=%u "
	    "-c TimeZone=UTC",
	    given ? given : "", given ? " " : "",
	    db_settings.statement_timeout_ms);
	snprintf(seconds, sizeof(seconds), "%u",
	    (db_settings.connect_timeout_ms + 999) / 1000 < 2 ? 2 :
	    (db_settings.connect_timeout_ms + 999) / 1000);
	if (db_params_set(p, "options", options) == -1 ||
	    db_params_set(p, "connect_timeout", seconds) == -1 ||
	    db_params_set(p, "passfile", "/nonexistent") == -1 ||
	    db_params_set(p, "keepalives", "1") == -1 ||
	    db_params_set(p, "keepalives_idle", "30") == -1 ||
	    db_params_set(p, "keepalives_interval", "10") == -1 ||
	    db_params_set(p, "keepalives_count", "3") == -1 ||
	    db_params_set(p, "application_name", "benjid") == -1 ||
	    db_params_set(p, "client_encoding", "UTF8") == -1)
		fatalx("db: out of memory");
	if (db_params_get(p, "gssencmode") == NULL)
		db_params_set(p, "gssencmode", "disable");
}

static void
db_dispatch_config(struct privsep *ps, enum procid peer, struct ipc_msg *msg)
{
	struct ipc_body	 b;
	char		 url[4096], user[256], password[1024];
	char		 hostaddr[1024];
	uint64_t	 pool, connect_ms, statement_ms;

	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_str(&b, url, sizeof(url)) == -1 ||
	    ipc_get_str(&b, user, sizeof(user)) == -1 ||
	    ipc_get_str(&b, password, sizeof(password)) == -1 ||
	    ipc_get_u64(&b, &pool, 64) == -1 ||
	    ipc_get_u64(&b, &connect_ms, 3600000) == -1 ||
	    ipc_get_u64(&b, &statement_ms, 3600000) == -1 ||
	    ipc_get_str(&b, db_settings.timezone,
	    sizeof(db_settings.timezone)) == -1 ||
	    ipc_get_str(&b, hostaddr, sizeof(hostaddr)) == -1 ||
	    ipc_get_end(&b) == -1)
		fatalx("db: malformed configuration from parent");
	ipc_body_close(&b);

	/* Connections opened later use the new values; open ones stay. */
	db_settings.pool_size = pool;
	db_settings.connect_timeout_ms = connect_ms;
	db_settings.statement_timeout_ms = statement_ms;
	db_settings_params(url, user, password, hostaddr);
	explicit_bzero(password, sizeof(password));
	db_configured = 1;
}

static void
db_dispatch_command(struct privsep *ps, enum procid peer, struct ipc_msg *msg)
{
	struct ipc_body	 b;
	struct ipc_wbuf	 wb;
	char		 command[32], arg[64], out[16384];
	int		 r;

	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_str(&b, command, sizeof(command)) == -1 ||
	    ipc_get_str(&b, arg, sizeof(arg)) == -1 || ipc_get_end(&b) == -1)
		fatalx("db: malformed db command from parent");
	ipc_body_close(&b);

	log_info("running db %s", command);
	r = db_command(command, arg, out, sizeof(out));
	if (r == 0 && !db_migrated && strcmp(command, "migrate") == 0) {
		evtimer_del(db_migrate_ev);
		db_migrated_now(out, NULL);
	}
	/* After a repair, the next startup attempt may succeed. */
	if (r == 0 && !db_migrated && strcmp(command, "repair") == 0)
		db_migrate_schedule(0);
	ipc_wbuf_init(&wb, 2);
	ipc_put_bool(&wb, r == 0);
	ipc_put_str(&wb, out);
	proc_compose(ps, PROC_PARENT, IMSG_CTL_DB_RESULT, msg->hdr.peerid, -1,
	    &wb);
}

/* Answers from memory, without SQL, so that health checks stay cheap. */
static void
db_dispatch_health(struct privsep *ps, enum procid peer, struct ipc_msg *msg)
{
	struct ipc_body	 b;
	struct ipc_wbuf	 wb;
	const char	*why;
	unsigned int	 queued = db_pool_queued();

	if (ipc_body_open(&b, msg) == -1 || ipc_get_end(&b) == -1)
		fatalx("db: malformed health request from http");
	ipc_body_close(&b);
	db_ready(&why);
	ipc_wbuf_init(&wb, 6);
	ipc_put_bool(&wb, db_migrated);
	ipc_put_u64(&wb, db_settings.pool_size);
	ipc_put_u64(&wb, db_pool_connected());
	ipc_put_u64(&wb, db_pool_active() - queued);
	ipc_put_u64(&wb, queued);
	ipc_put_str(&wb, why);
	proc_compose(ps, peer, IMSG_DB_HEALTH, msg->hdr.peerid, -1, &wb);
}

static const struct privsep_handler db_dispatch_parent[] = {
	{ IMSG_CTL_CONFIG_DB,	db_dispatch_config },
	{ IMSG_CTL_DB_COMMAND,	db_dispatch_command },
	{ 0,			NULL }
};

static const struct privsep_handler db_dispatch_http[] = {
	{ IMSG_DB_READINESS,		db_query_dispatch },
	{ IMSG_DB_HEALTH_GET,		db_dispatch_health },
	{ IMSG_DB_POSITIONS_LIST,	db_query_dispatch },
	{ IMSG_DB_POSITION_PUT,		db_query_dispatch },
	{ IMSG_DB_POSITION_DELETE,	db_query_dispatch },
	{ IMSG_DB_PORTFOLIO_SUMMARY,	db_query_dispatch },
	{ IMSG_DB_CASH_BALANCES,	db_query_dispatch },
	{ IMSG_DB_FINANCE_SUMMARY,	db_query_dispatch },
	{ IMSG_DB_TRANSACTIONS_LIST,	db_query_dispatch },
	{ IMSG_DB_TRANSACTION_CREATE,	db_query_dispatch },
	{ IMSG_DB_TRANSACTION_PATCH,	db_query_dispatch },
	{ IMSG_DB_IMPORT_BEGIN,		db_import_dispatch },
	{ IMSG_DB_IMPORT_ROWS,		db_import_dispatch },
	{ IMSG_DB_IMPORT_COMMIT,	db_import_dispatch },
	{ 0,				NULL }
};

const struct privsep_proc db_proc = {
	.name =		"db",
	.id =		PROC_DB,
	.start =	db_start,
	.shutdown =	db_shutdown,
	.handlers = {
		[PROC_PARENT] =	db_dispatch_parent,
		[PROC_HTTP] =	db_dispatch_http,
	},
};
