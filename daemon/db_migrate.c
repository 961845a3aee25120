/*
 * Schema migrations with Flyway's history table, so that a database the
 * Java service migrated is adopted as it is. These run on a blocking
 * connection of their own, at startup and for benjictl. The startup
 * connection then joins the pool.
 * NOTE: while a migration or a benjictl db command runs, the db child
 * answers nothing else; pool requests wait in their queue.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "benjid.h"
#include "db.h"

#define DB_HISTORY		"flyway_schema_history"
#define DB_BASELINE_DESC	"<< Flyway Baseline >>"
/* Key of the advisory lock that serializes migrating instances. */
#define DB_LOCK_KEY		"7237098563524081938"
/* True when the history table and the index Flyway gives it exist. */
#define DB_HISTORY_EXISTS	"to_regclass('" DB_HISTORY "') IS NOT NULL " \
				"AND to_regclass('" DB_HISTORY "_s_idx') IS NOT NULL"

struct db_applied {
	int		 rank;
	char		*version;	/* NULL for repeatable migrations */
	char		*description;
	char		*type;
	char		*script;
	int		 has_checksum;
	int32_t		 checksum;
	int		 success;
	char		*installed_on;
};

struct db_history {
	struct db_applied	*rows;
	int			 n;
	PGresult		*res;
};

static void __attribute__((format(printf, 3, 4)))
db_out(char *out, size_t outsz, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 len = strlen(out);

	if (len + 1 >= outsz)
		return;
	va_start(ap, fmt);
	vsnprintf(out + len, outsz - len, fmt, ap);
	va_end(ap);
}

/* Connects with the pool's settings and waits at most connect_timeout. */
PGconn *
db_connect_blocking(char *err, size_t errsz)
{
	const struct db_params	*p = &db_settings.params;
	PGconn			*pg;

	pg = PQconnectdbParams((const char *const *)p->keys,
	    (const char *const *)p->values, 0);
	if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
		snprintf(err, errsz, "cannot connect to PostgreSQL: %s",
		    pg ? PQerrorMessage(pg) : "out of memory");
		err[strcspn(err, "\n")] = '\0';
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, db_notice, NULL);
	return pg;
}

/* Runs SQL without parameters; returns -1 with PostgreSQL's message. */
static int
db_exec(PGconn *pg, const char *sql, char *err, size_t errsz)
{
	PGresult	*res = PQexec(pg, sql);
	int		 ok;

	ok = res != NULL && (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK);
	if (!ok) {
		snprintf(err, errsz, "%s", PQerrorMessage(pg));
		err[strcspn(err, "\n")] = '\0';
	}
	PQclear(res);
	return ok ? 0 : -1;
}

static void
db_history_free(struct db_history *h)
{
	free(h->rows);
	PQclear(h->res);
	memset(h, 0, sizeof(*h));
}

/* Returns 1 when the history table exists, 0 when not, -1 on error. */
static int
db_history_exists(PGconn *pg, char *err, size_t errsz)
{
	PGresult	*res;
	int		 exists;

	res = PQexec(pg, "SELECT to_regclass('" DB_HISTORY "') IS NOT NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(err, errsz, "%s", PQerrorMessage(pg));
		PQclear(res);
		return -1;
	}
	exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return exists;
}

/* Reads the rows of the history table, which must exist, by rank. */
static int
db_history_read(PGconn *pg, struct db_history *h, char *err, size_t errsz)
{
	int	 i;

	memset(h, 0, sizeof(*h));
	h->res = PQexec(pg, "SELECT installed_rank, version, description, "
	    "type, script, checksum, success, to_char(installed_on, "
	    "'YYYY-MM-DD HH24:MI:SS') FROM " DB_HISTORY
	    " ORDER BY installed_rank");
	if (PQresultStatus(h->res) != PGRES_TUPLES_OK) {
		snprintf(err, errsz, "%s", PQerrorMessage(pg));
		db_history_free(h);
		return -1;
	}
	h->n = PQntuples(h->res);
	if ((h->rows = calloc(h->n + 1, sizeof(*h->rows))) == NULL)
		fatal("%s", __func__);
	for (i = 0; i < h->n; i++) {
		struct db_applied	*a = &h->rows[i];

		a->rank = atoi(PQgetvalue(h->res, i, 0));
		a->version = PQgetisnull(h->res, i, 1) ? NULL :
		    PQgetvalue(h->res, i, 1);
		a->description = PQgetvalue(h->res, i, 2);
		a->type = PQgetvalue(h->res, i, 3);
		a->script = PQgetvalue(h->res, i, 4);
		a->has_checksum = !PQgetisnull(h->res, i, 5);
		a->checksum = (int32_t)strtol(PQgetvalue(h->res, i, 5), NULL,
		    10);
		a->success = strcmp(PQgetvalue(h->res, i, 6), "t") == 0;
		a->installed_on = PQgetvalue(h->res, i, 7);
	}
	return 0;
}

/* Reads the history ordered by rank; an absent table is an empty one. */
static int
db_history_load(PGconn *pg, struct db_history *h, char *err, size_t errsz)
{
	int	 exists;

	memset(h, 0, sizeof(*h));
	if ((exists = db_history_exists(pg, err, errsz)) <= 0)
		return exists;
	return db_history_read(pg, h, err, errsz);
}

static const struct db_migration *
db_migration_find(const char *version)
{
	size_t	 i;

	for (i = 0; i < db_nmigrations; i++)
		if (db_version_cmp(db_migrations[i].version, version) == 0)
			return &db_migrations[i];
	return NULL;
}

static const struct db_applied *
db_applied_find(const struct db_history *h, const char *version)
{
	int	 i;

	for (i = 0; i < h->n; i++)
		if (h->rows[i].version != NULL &&
		    db_version_cmp(h->rows[i].version, version) == 0)
			return &h->rows[i];
	return NULL;
}

/* Returns the baseline version, or NULL when there is none. */
static const char *
db_baseline(const struct db_history *h)
{
	int	 i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->rows[i].type, "BASELINE") == 0)
			return h->rows[i].version;
	return NULL;
}

/* Returns the highest version applied with success, or NULL. */
static const char *
db_current(const struct db_history *h)
{
	const char	*v = NULL;
	int		 i;

	for (i = 0; i < h->n; i++)
		if (h->rows[i].success && h->rows[i].version != NULL &&
		    (v == NULL || db_version_cmp(h->rows[i].version, v) > 0))
			v = h->rows[i].version;
	return v;
}

/*
 * Checks the history against the scripts of this build as Flyway's
 * validate does. Returns -1 with every problem, each naming its script.
 */
static int
db_validate(const struct db_history *h, char *err, size_t errsz)
{
	const struct db_migration	*m;
	const struct db_applied		*a;
	const char			*baseline = db_baseline(h);
	const char			*current = db_current(h);
	size_t				 i;
	int				 k;

	err[0] = '\0';
	for (k = 0; k < h->n; k++) {
		a = &h->rows[k];
		if (!a->success) {
			db_out(err, errsz, "migration %s failed earlier: "
			    "repair the schema by hand, then run benjictl db "
			    "repair. ", a->script);
			continue;
		}
		if (a->version == NULL || strcmp(a->type, "SQL") != 0)
			continue;
		if ((m = db_migration_find(a->version)) == NULL) {
			db_out(err, errsz, "applied migration %s (version %s) "
			    "is missing from this build. ", a->script,
			    a->version);
			continue;
		}
		if (!a->has_checksum || a->checksum !=
		    db_checksum(m->text, m->len))
			db_out(err, errsz, "checksum mismatch for migration "
			    "%s: applied %d, this build %d. ", m->script,
			    a->checksum, db_checksum(m->text, m->len));
		else if (strcmp(a->description, m->description) != 0)
			db_out(err, errsz, "description mismatch for "
			    "migration %s: applied \"%s\", this build \"%s\". ",
			    m->script, a->description, m->description);
	}
	for (i = 0; i < db_nmigrations && current != NULL; i++) {
		m = &db_migrations[i];
		if (db_applied_find(h, m->version) != NULL ||
		    db_version_cmp(m->version, current) > 0 ||
		    (baseline != NULL &&
		    db_version_cmp(m->version, baseline) <= 0))
			continue;
		db_out(err, errsz, "migration %s was never applied but "
		    "version %s already was. ", m->script, current);
	}
	if (err[0] == '\0')
		return 0;
	err[strlen(err) - 1] = '\0';
	return -1;
}

static int
db_history_create(PGconn *pg, char *err, size_t errsz)
{
	return db_exec(pg, "CREATE TABLE IF NOT EXISTS " DB_HISTORY " ("
	    "installed_rank INT NOT NULL, version VARCHAR(50), "
	    "description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, "
	    "script VARCHAR(1000) NOT NULL, checksum INTEGER, "
	    "installed_by VARCHAR(100) NOT NULL, "
	    "installed_on TIMESTAMP NOT NULL DEFAULT now(), "
	    "execution_time INTEGER NOT NULL, success BOOLEAN NOT NULL, "
	    "CONSTRAINT " DB_HISTORY "_pk PRIMARY KEY (installed_rank)); "
	    "CREATE INDEX IF NOT EXISTS " DB_HISTORY "_s_idx ON "
	    DB_HISTORY " (success)", err, errsz);
}

/* Applies one script and its history row in a single transaction. */
static int
db_apply(PGconn *pg, const struct db_migration *m, char *err, size_t errsz)
{
	struct timespec	 t0, t1;
	PGresult	*res;
	char		 checksum[16], elapsed[16];
	const char	*params[5];
	long		 ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (db_exec(pg, "BEGIN", err, errsz) == -1)
		return -1;
	if (db_exec(pg, m->text, err, errsz) == -1) {
		char	 why[512];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errsz, "migration %s failed: %s", m->script, why);
		PQclear(PQexec(pg, "ROLLBACK"));
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	snprintf(checksum, sizeof(checksum), "%d",
	    db_checksum(m->text, m->len));
	snprintf(elapsed, sizeof(elapsed), "%ld", ms);
	params[0] = m->version;
	params[1] = m->description;
	params[2] = m->script;
	params[3] = checksum;
	params[4] = elapsed;
	res = PQexecParams(pg, "INSERT INTO " DB_HISTORY " (installed_rank, "
	    "version, description, type, script, checksum, installed_by, "
	    "execution_time, success) SELECT coalesce(max(installed_rank), "
	    "0) + 1, $1, $2, 'SQL', $3, $4::int, current_user, $5::int, true "
	    "FROM " DB_HISTORY, 5, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(err, errsz, "cannot record migration %s: %s",
		    m->script, PQerrorMessage(pg));
		PQclear(res);
		PQclear(PQexec(pg, "ROLLBACK"));
		return -1;
	}
	PQclear(res);
	if (db_exec(pg, "COMMIT", err, errsz) == -1)
		return -1;
	log_info("applied migration %s in %ld ms", m->script, ms);
	return 0;
}

/*
 * Validates, then applies what is pending. The caller holds the lock.
 * exists is 0 when the history table or its index may be missing. Only
 * then does the DDL run, because it costs a round trip and takes locks.
 */
static int
db_migrate_pending(PGconn *pg, int exists, char *out, size_t outsz)
{
	struct db_history	 h;
	const char		*baseline;
	size_t			 i, applied = 0;
	int			 r = -1;

	if ((!exists && db_history_create(pg, out, outsz) == -1) ||
	    db_history_read(pg, &h, out, outsz) == -1)
		return -1;
	if (db_validate(&h, out, outsz) == -1)
		goto done;
	baseline = db_baseline(&h);
	for (i = 0; i < db_nmigrations; i++) {
		if (db_applied_find(&h, db_migrations[i].version) != NULL ||
		    (baseline != NULL && db_version_cmp(
		    db_migrations[i].version, baseline) <= 0))
			continue;
		if (db_apply(pg, &db_migrations[i], out, outsz) == -1)
			goto done;
		applied++;
	}
	snprintf(out, outsz, "schema up to date: %zu migration%s applied",
	    applied, applied == 1 ? "" : "s");
	r = 0;
 done:
	db_history_free(&h);
	return r;
}

/*
 * Takes the advisory lock and migrates. Returns 1 when another instance
 * holds the lock and wait is 0, 0 when done, -1 with a message in out.
 * The session holds no lock afterwards, so the caller may keep it.
 */
int
db_migrate_locked(PGconn *pg, int wait, char *out, size_t outsz)
{
	PGresult	*res;
	int		 locked, exists, unlocked, r;

	/*
	 * The lock and the check for the history table share a round trip.
	 * The check may use a catalog snapshot taken before the lock and
	 * miss a table that another instance has just created. The DDL that
	 * follows then finds the table and does nothing.
	 */
	out[0] = '\0';
	res = PQexec(pg, wait ? "SELECT pg_advisory_lock(" DB_LOCK_KEY
	    "), true, " DB_HISTORY_EXISTS : "SELECT true, "
	    "pg_try_advisory_lock(" DB_LOCK_KEY "), " DB_HISTORY_EXISTS);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		snprintf(out, outsz, "cannot take the migration lock: %s",
		    PQerrorMessage(pg));
		PQclear(res);
		return -1;
	}
	locked = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	exists = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	PQclear(res);
	if (!locked)
		return 1;
	r = db_migrate_pending(pg, exists, out, outsz);
	res = PQexec(pg, "SELECT pg_advisory_unlock(" DB_LOCK_KEY ")");
	unlocked = PQresultStatus(res) == PGRES_TUPLES_OK &&
	    strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	/*
	 * A session that may still hold the lock would block every other
	 * instance for as long as it lives. A new session ends the old one,
	 * and with it the lock.
	 */
	if (!unlocked && PQstatus(pg) == CONNECTION_OK) {
		log_warnx("cannot release the migration lock: %s; "
		    "reconnecting", PQerrorMessage(pg));
		PQreset(pg);
	}
	return r;
}

static void
db_info(const struct db_history *h, char *out, size_t outsz)
{
	const struct db_migration	*m;
	const struct db_applied		*a;
	const char			*baseline = db_baseline(h);
	const char			*state;
	size_t				 i;
	int				 k;

	db_out(out, outsz, "%-8s %-32s %-8s %-19s %s\n", "VERSION",
	    "DESCRIPTION", "TYPE", "INSTALLED", "STATE");
	for (k = 0; k < h->n; k++) {
		a = &h->rows[k];
		m = a->version ? db_migration_find(a->version) : NULL;
		if (!a->success)
			state = "Failed";
		else if (strcmp(a->type, "BASELINE") == 0)
			state = "Baseline";
		else if (m == NULL)
			state = "Missing";
		else if (!a->has_checksum ||
		    a->checksum != db_checksum(m->text, m->len))
			state = "Checksum mismatch";
		else
			state = "Success";
		db_out(out, outsz, "%-8s %-32.32s %-8s %-19s %s\n",
		    a->version ? a->version : "", a->description, a->type,
		    a->installed_on, state);
	}
	for (i = 0; i < db_nmigrations; i++) {
		m = &db_migrations[i];
		if (db_applied_find(h, m->version) != NULL)
			continue;
		state = baseline != NULL &&
		    db_version_cmp(m->version, baseline) <= 0 ?
		    "Below baseline" : "Pending";
		db_out(out, outsz, "%-8s %-32.32s %-8s %-19s %s\n",
		    m->version, m->description, "SQL", "", state);
	}
	if (strlen(out) > 0 && out[strlen(out) - 1] == '\n')
		out[strlen(out) - 1] = '\0';
}

/*
 * Removes failed rows and aligns the checksums and descriptions of
 * applied migrations with this build, as Flyway's repair does.
 */
static int
db_repair(PGconn *pg, const struct db_history *h, char *out, size_t outsz)
{
	const struct db_migration	*m;
	const struct db_applied		*a;
	PGresult			*res;
	char				 rank[16], checksum[16];
	const char			*params[3];
	int				 k, changed = 0;

	if (db_exec(pg, "BEGIN", out, outsz) == -1)
		return -1;
	for (k = 0; k < h->n; k++) {
		a = &h->rows[k];
		snprintf(rank, sizeof(rank), "%d", a->rank);
		params[0] = rank;
		if (!a->success) {
			res = PQexecParams(pg, "DELETE FROM " DB_HISTORY
			    " WHERE installed_rank = $1::int", 1, NULL, params,
			    NULL, NULL, 0);
			db_out(out, outsz, "removed failed migration %s\n",
			    a->script);
		} else if (a->version != NULL && strcmp(a->type, "SQL") == 0 &&
		    (m = db_migration_find(a->version)) != NULL &&
		    (!a->has_checksum || a->checksum != db_checksum(m->text,
		    m->len) || strcmp(a->description, m->description) != 0)) {
			snprintf(checksum, sizeof(checksum), "%d",
			    db_checksum(m->text, m->len));
			params[1] = checksum;
			params[2] = m->description;
			res = PQexecParams(pg, "UPDATE " DB_HISTORY " SET "
			    "checksum = $2::int, description = $3 WHERE "
			    "installed_rank = $1::int", 3, NULL, params, NULL,
			    NULL, 0);
			db_out(out, outsz, "aligned checksum of %s\n",
			    m->script);
		} else
			continue;
		changed++;
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			snprintf(out, outsz, "repair failed: %s",
			    PQerrorMessage(pg));
			PQclear(res);
			PQclear(PQexec(pg, "ROLLBACK"));
			return -1;
		}
		PQclear(res);
	}
	if (db_exec(pg, "COMMIT", out, outsz) == -1)
		return -1;
	db_out(out, outsz, "repair done: %d row%s changed", changed,
	    changed == 1 ? "" : "s");
	return 0;
}

static int
db_baseline_create(PGconn *pg, const struct db_history *h,
    const char *version, char *out, size_t outsz)
{
	PGresult	*res;
	const char	*params[1] = { version };

	if (h->n > 0) {
		snprintf(out, outsz, "cannot baseline: the schema history "
		    "already has %d row%s", h->n, h->n == 1 ? "" : "s");
		return -1;
	}
	if (db_history_create(pg, out, outsz) == -1)
		return -1;
	res = PQexecParams(pg, "INSERT INTO " DB_HISTORY " (installed_rank, "
	    "version, description, type, script, checksum, installed_by, "
	    "execution_time, success) VALUES (1, $1, '" DB_BASELINE_DESC
	    "', 'BASELINE', '" DB_BASELINE_DESC "', NULL, current_user, 0, "
	    "true)", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(out, outsz, "baseline failed: %s", PQerrorMessage(pg));
		PQclear(res);
		return -1;
	}
	PQclear(res);
	snprintf(out, outsz, "baseline at version %s", version);
	return 0;
}

/*
 * Runs one benjictl db command: migrate, validate, info, repair or
 * baseline [version]. Returns 0 or -1, with the text for benjictl in out.
 */
int
db_command(const char *command, const char *arg, char *out, size_t outsz)
{
	struct db_history	 h;
	PGconn			*pg;
	int			 r = -1;

	out[0] = '\0';
	if (strcmp(command, "baseline") == 0 && *arg == '\0')
		arg = "1";
	if (strcmp(command, "baseline") == 0 && !db_version_valid(arg)) {
		snprintf(out, outsz, "invalid baseline version \"%s\": "
		    "expected digits and dots, such as 2 or 2.1", arg);
		return -1;
	}
	if ((pg = db_connect_blocking(out, outsz)) == NULL)
		return -1;
	if (strcmp(command, "migrate") == 0) {
		r = db_migrate_locked(pg, 1, out, outsz);
		PQfinish(pg);
		return r;
	}
	PQclear(PQexec(pg, "SELECT pg_advisory_lock(" DB_LOCK_KEY ")"));
	if (db_history_load(pg, &h, out, outsz) == -1)
		goto done;
	if (strcmp(command, "validate") == 0) {
		if ((r = db_validate(&h, out, outsz)) == 0)
			snprintf(out, outsz, "schema history is valid: %d "
			    "row%s", h.n, h.n == 1 ? "" : "s");
	} else if (strcmp(command, "info") == 0) {
		db_info(&h, out, outsz);
		r = 0;
	} else if (strcmp(command, "repair") == 0)
		r = db_repair(pg, &h, out, outsz);
	else if (strcmp(command, "baseline") == 0)
		r = db_baseline_create(pg, &h, arg, out, outsz);
	else
		snprintf(out, outsz, "unknown db command \"%s\"", command);
	db_history_free(&h);
 done:
	PQclear(PQexec(pg, "SELECT pg_advisory_unlock(" DB_LOCK_KEY ")"));
	PQfinish(pg);
	return r;
}
