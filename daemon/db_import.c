/*
 * CSV imports in the db child. The http child parses and validates the
 * file, then sends its rows in pieces (IMSG_DB_IMPORT_BEGIN, _ROWS,
 * _COMMIT). Each import reserves one connection of the pool with an open
 * transaction: a temporary staging table receives the rows of each piece
 * with COPY ... FROM STDIN as it arrives, so no piece is kept here once
 * PostgreSQL has it, and the commit writes the
 * batch, the rows, the cash movements and the positions from the staging
 * table with one statement, then commits. Every row is written, or none:
 * a failure, an idle import or a lost connection rolls it all back.
 *
 * A row is skipped as a duplicate when its dedup key is already stored.
 * Positions follow the average-cost rule of csvimport.h, computed in SQL
 * on numeric with the same rounding as csvimport_position_apply.
 *
 * A piece is rows in COPY text format (csvimport_copy.c), one line per
 * row with the columns in this order. Bank rows: seq (int, file order),
 * k (dedup key), d (YYYY-MM-DD), s (description), a (amount),
 * c (category or null), n (notes or null), p (pending), acct (account
 * name). Brokerage rows: seq (int, oldest first) and line (int), then k
 * and d as above, c (code as exported), act ("buy", "sell" or "cash"),
 * t (ticker or null), q and pr (quantity and price or null). Then come
 * a (amount), s (description or null), ck (cash_movement kind) and acct.
 */

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "benjid.h"
#include "db.h"
#include "csvimport.h"

#include <malloc.h>

#define DB_IMPORTS_MAX		4	/* imports open at once */
/* An import that gets no piece for this long is dropped. */
#define DB_IMPORT_IDLE_MS	60000

/* Statement ids share one 64-bit set with db_query.c, which uses 0 to 8. */
#define DB_STMT_IMPORT_BANK	48
#define DB_STMT_IMPORT_ACTIVITY	49

struct db_import {
	TAILQ_ENTRY(db_import)	 entry;
	uint64_t		 id;
	enum procid		 peer;
	uint64_t		 kind;
	char			 account[CSVIMPORT_ACCOUNT_MAX * 4 + 1];
	char			 account_kind[16];
	char			 layout[64];
	char			 file[1024];
	char			 sha256[65];
	char			 rows_read[24];
	struct db_session	*session;
	struct event		*expire;
	int			 busy;		/* a statement runs */
	char			 out[6][64];	/* the commit's row */
	int			 outnull[6];
};
TAILQ_HEAD(db_imports, db_import);

struct db_import_call {
	struct privsep		*ps;
	enum procid		 peer;
	uint32_t		 peerid;
	struct db_import	*imp;
};

static struct db_imports	 db_imports =
				    TAILQ_HEAD_INITIALIZER(db_imports);
static unsigned int		 db_nimports;
static uint64_t			 db_import_next_id;

#define DB_IMPORT_BANK_COLUMNS						\
	"seq int, k text, d date, s text, a numeric, c text, n text, "	\
	"p boolean, acct text"
#define DB_IMPORT_ACTIVITY_COLUMNS					\
	"seq int, line int, k text, d date, c text, act text, t text, "	\
	"q numeric, pr numeric, a numeric, s text, ck text, acct text"

/* The staging table lives as long as the import's transaction. */
static const struct db_stmt db_import_open_bank = {
	DB_STMT_SIMPLE, "import_open_bank",
	"BEGIN; CREATE TEMPORARY TABLE import_stage_bank ("
	DB_IMPORT_BANK_COLUMNS ") ON COMMIT DROP",
	0
};

static const struct db_stmt db_import_open_activity = {
	DB_STMT_SIMPLE, "import_open_activity",
	"BEGIN; CREATE TEMPORARY TABLE import_stage_activity ("
	DB_IMPORT_ACTIVITY_COLUMNS ") ON COMMIT DROP",
	0
};

/* Each piece is one COPY, so that each runs under statement-timeout. */
static const struct db_stmt db_import_piece_bank = {
	DB_STMT_SIMPLE, "import_piece_bank",
	"COPY import_stage_bank FROM STDIN", 0
};

static const struct db_stmt db_import_piece_activity = {
	DB_STMT_SIMPLE, "import_piece_activity",
	"COPY import_stage_activity FROM STDIN", 0
};

static const struct db_stmt db_import_commit_stmt = {
	DB_STMT_SIMPLE, "import_commit", "COMMIT", 0
};

/*
 * An account is upserted with a no-op update, so that RETURNING yields
 * its id whether it is new or not. Only accounts of new rows are touched.
 * The batch id is drawn first because the rows reference it. Their
 * foreign keys are checked at the end of the statement. Parameters are
 * those of db_import_commit, from $1 on.
 *
 * NOTE: this statement runs under statement-timeout, and so does each
 * piece. A file of a few million rows can exceed the default of 10 s,
 * and then fails whole with 503; raise statement-timeout for such files.
 */
static const struct db_stmt db_import_bank = {
	DB_STMT_IMPORT_BANK, "import_bank",
	"WITH fresh AS (SELECT s.* FROM import_stage_bank s WHERE NOT "
	"EXISTS (SELECT 1 FROM finance_transaction f WHERE f.dedup_key = "
	"s.k)), "
	"n AS (SELECT (SELECT count(*) FROM import_stage_bank) AS staged, "
	"(SELECT count(*) FROM fresh) AS added), "
	"acct AS (INSERT INTO account (name, kind) SELECT DISTINCT acct, $2 "
	"FROM fresh ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name "
	"RETURNING id, name), "
	"b AS (SELECT nextval(pg_get_serial_sequence('import_batch', 'id')) "
	"AS id WHERE EXISTS (SELECT 1 FROM fresh)), "
	"batch AS (INSERT INTO import_batch (id, kind, account_id, layout, "
	"file_name, content_sha256, rows_read, rows_inserted, rows_skipped) "
	"SELECT b.id, 'bank', (SELECT id FROM acct WHERE name = $1), $3, "
	"nullif($4, ''), $5, $6::int, n.added, n.staged - n.added FROM b, n "
	"RETURNING id), "
	/*
	 * Readers sort by posted_at and a random id, so the rows need no
	 * ORDER BY here.
	 */
	"ins AS (INSERT INTO finance_transaction (id, posted_at, description, "
	"amount, category, notes, account_id, import_batch_id, dedup_key, "
	"pending) SELECT gen_random_uuid()::text, f.d::timestamp AT TIME "
	"ZONE $7, f.s, f.a, f.c, f.n, acct.id, b.id, f.k, f.p FROM fresh f "
	"JOIN acct ON acct.name = f.acct, b RETURNING 1), "
	/* A pending row that an export now shows posted stops pending. */
	"upd AS (UPDATE finance_transaction t SET pending = false FROM "
	"import_stage_bank r WHERE t.dedup_key = r.k AND t.pending AND NOT "
	"r.p RETURNING 1) "
	"SELECT (SELECT count(*) FROM ins)::text, (n.staged - n.added)::text, "
	"(SELECT count(*) FROM upd)::text, (SELECT id FROM batch)::text, "
	"NULL, NULL FROM n",
	7
};

/*
 * pos walks the new trades of each ticker in order from the stored
 * position. A Sell keeps cost * remaining / held rounded half away from
 * zero to 6 places, computed exactly with div() for a cost that is not
 * negative. A Sell past the position marks its line, and then nothing at
 * all is written.
 *
 * NOTE: trades apply in the order they are imported. A file of older
 * trades imported after newer ones changes the average cost as if the
 * older trades came last.
 */
static const struct db_stmt db_import_activity = {
	DB_STMT_IMPORT_ACTIVITY, "import_activity",
	"WITH RECURSIVE r AS (SELECT * FROM import_stage_activity), "
	"fresh AS (SELECT r.* FROM r WHERE NOT EXISTS (SELECT 1 FROM "
	"portfolio_activity pa WHERE pa.dedup_key = r.k)), "
	"tr AS (SELECT t, act, q, -a AS cost, line, row_number() OVER "
	"(PARTITION BY t ORDER BY seq) AS n FROM fresh WHERE act IN ('buy', "
	"'sell')), "
	"pos (t, n, qty, basis, bad) AS (SELECT s.t, 0::bigint, "
	"coalesce(p.qty, 0)::numeric, coalesce(p.basis, 0)::numeric, "
	"NULL::int FROM (SELECT DISTINCT t FROM tr) s LEFT JOIN "
	"portfolio_position p ON p.ticker = s.t "
	"UNION ALL SELECT pos.t, tr.n, CASE WHEN tr.act = 'buy' THEN "
	"pos.qty + tr.q ELSE pos.qty - tr.q END, CASE WHEN tr.act = 'buy' "
	"THEN pos.basis + tr.cost WHEN pos.qty - tr.q <= 0 THEN 0 ELSE "
	"div(pos.basis * (pos.qty - tr.q) * 2000000 + pos.qty, 2 * pos.qty) "
	"/ 1000000 END, CASE WHEN tr.act = 'sell' AND tr.q > pos.qty THEN "
	"tr.line END FROM pos JOIN tr ON tr.t = pos.t AND tr.n = pos.n + 1), "
	"bad AS (SELECT bad AS line, t FROM pos WHERE bad IS NOT NULL ORDER "
	"BY bad LIMIT 1), "
	"last AS (SELECT DISTINCT ON (t) t, qty, basis FROM pos ORDER BY t, "
	"n DESC), "
	"ok AS (SELECT 1 AS ok WHERE NOT EXISTS (SELECT 1 FROM bad) AND "
	"EXISTS (SELECT 1 FROM fresh)), "
	"acct AS (INSERT INTO account (name, kind) SELECT DISTINCT acct, $2 "
	"FROM fresh, ok ON CONFLICT (name) DO UPDATE SET name = "
	"EXCLUDED.name RETURNING id, name), "
	"b AS (SELECT nextval(pg_get_serial_sequence('import_batch', 'id')) "
	"AS id FROM ok), "
	"batch AS (INSERT INTO import_batch (id, kind, account_id, layout, "
	"file_name, content_sha256, rows_read, rows_inserted, rows_skipped) "
	"SELECT b.id, 'brokerage', (SELECT id FROM acct WHERE name = $1), $3, "
	"nullif($4, ''), $5, $6::int, (SELECT count(*) FROM fresh), "
	"(SELECT count(*) FROM r) - (SELECT count(*) FROM fresh) FROM b "
	"RETURNING id), "
	"ins AS (INSERT INTO portfolio_activity (account_id, trade_date, "
	"action, ticker, quantity, price, amount, description, "
	"import_batch_id, dedup_key) SELECT acct.id, f.d, f.c, f.t, f.q, "
	"f.pr, f.a, f.s, b.id, f.k FROM fresh f JOIN acct ON acct.name = "
	"f.acct, b ORDER BY f.seq RETURNING 1), "
	"cash AS (INSERT INTO cash_movement (account_id, posted_at, amount, "
	"kind, description, import_batch_id, dedup_key) SELECT acct.id, "
	"f.d::timestamp AT TIME ZONE $7, f.a, f.ck, f.s, b.id, f.k FROM "
	"fresh f JOIN acct ON acct.name = f.acct, b RETURNING 1), "
	"held AS (INSERT INTO portfolio_position (ticker, qty, basis) SELECT "
	"t, qty, basis FROM last, ok WHERE qty > 0 ON CONFLICT (ticker) DO "
	"UPDATE SET qty = EXCLUDED.qty, basis = EXCLUDED.basis RETURNING 1), "
	"sold AS (DELETE FROM portfolio_position p USING last, ok WHERE "
	"p.ticker = last.t AND last.qty = 0 RETURNING 1) "
	"SELECT (SELECT count(*) FROM ins)::text, CASE WHEN EXISTS (SELECT 1 "
	"FROM bad) THEN '0' ELSE ((SELECT count(*) FROM r) - (SELECT "
	"count(*) FROM fresh))::text END, ((SELECT count(*) FROM held) + "
	"(SELECT count(*) FROM sold) + (SELECT count(*) FROM cash))::text, "
	"(SELECT id FROM batch)::text, (SELECT line FROM bad)::text, "
	"(SELECT t FROM bad)",
	7
};

static void
db_import_free(struct db_import *imp)
{
	if (imp->expire != NULL)
		event_free(imp->expire);
	if (imp->session != NULL)
		db_session_close(imp->session);
	free(imp);
	/* A large import leaves freed heap behind; give it back. */
	malloc_trim(0);
}

static void
db_import_drop(struct db_import *imp)
{
	TAILQ_REMOVE(&db_imports, imp, entry);
	db_nimports--;
	db_import_free(imp);
}

/* Sends IMSG_DB_RESULT with the rows of res, or with one row of values. */
static void
db_import_reply(struct privsep *ps, enum procid peer, uint32_t peerid,
    enum db_status status, const char *message, PGresult *res,
    const char *const *values, int nvalues)
{
	struct ipc_wbuf	 wb;
	int		 j;

	ipc_wbuf_init(&wb, 3);
	ipc_put_u64(&wb, status);
	ipc_put_str(&wb, message != NULL ? message : "");
	if (values != NULL) {
		ipc_put_array(&wb, 1);
		ipc_put_array(&wb, nvalues);
		for (j = 0; j < nvalues; j++) {
			if (values[j] == NULL)
				ipc_put_nil(&wb);
			else
				ipc_put_str(&wb, values[j]);
		}
	} else
		db_rows_put(&wb, status, res);
	proc_compose(ps, peer, IMSG_DB_RESULT, peerid, -1, &wb);
}

static void
db_import_fail(struct privsep *ps, enum procid peer, uint32_t peerid,
    enum db_status status, const char *message)
{
	db_import_reply(ps, peer, peerid, status, message, NULL, NULL, 0);
}

static void
db_import_expire(evutil_socket_t fd, short events, void *arg)
{
	struct db_import	*imp = arg;

	log_warnx("import %llu dropped: no piece for %d seconds",
	    (unsigned long long)imp->id, DB_IMPORT_IDLE_MS / 1000);
	db_import_drop(imp);
}

static void
db_import_touch(struct db_import *imp)
{
	struct timeval	 tv = { DB_IMPORT_IDLE_MS / 1000, 0 };

	evtimer_add(imp->expire, &tv);
}

static struct db_import *
db_import_find(enum procid peer, uint64_t id)
{
	struct db_import	*imp;

	TAILQ_FOREACH(imp, &db_imports, entry)
		if (imp->id == id && imp->peer == peer)
			return imp;
	return NULL;
}

static void
db_import_malformed(enum procid peer, struct ipc_msg *msg)
{
	fatalx("db: malformed import message type %u from %s",
	    msg->hdr.type, proc_name(peer));
}

static struct db_import_call *
db_import_call(struct privsep *ps, enum procid peer, uint32_t peerid,
    struct db_import *imp)
{
	struct db_import_call	*call;

	if ((call = calloc(1, sizeof(*call))) == NULL)
		fatal("%s", __func__);
	call->ps = ps;
	call->peer = peer;
	call->peerid = peerid;
	call->imp = imp;
	return call;
}

/* The staging table exists: the import is open for pieces. */
static void
db_import_opened(void *arg, enum db_status status, const char *message,
    PGresult *res)
{
	struct db_import_call	*call = arg;
	struct db_import	*imp = call->imp;
	const char		*values[2];
	char			 id[24], timeout[24];

	imp->busy = 0;
	if (status != DB_OK) {
		log_warnx("import %llu not opened: %s",
		    (unsigned long long)imp->id, message);
		db_import_fail(call->ps, call->peer, call->peerid,
		    status == DB_INVALID ? DB_FAILED : status, message);
		db_import_drop(imp);
		free(call);
		return;
	}
	db_import_touch(imp);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)imp->id);
	snprintf(timeout, sizeof(timeout), "%u",
	    db_settings.statement_timeout_ms);
	values[0] = id;
	values[1] = timeout;
	db_import_reply(call->ps, call->peer, call->peerid, DB_OK, "", NULL,
	    values, 2);
	free(call);
}

static void
db_import_begin(struct privsep *ps, enum procid peer, struct ipc_msg *msg)
{
	struct ipc_body		 b;
	struct db_import	*imp;
	struct db_import_call	*call;
	const char		*why;
	uint64_t		 rows;

	if ((imp = calloc(1, sizeof(*imp))) == NULL)
		fatal("%s", __func__);
	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_u64(&b, &imp->kind, CSVIMPORT_ACTIVITY) == -1 ||
	    ipc_get_str(&b, imp->account, sizeof(imp->account)) == -1 ||
	    ipc_get_str(&b, imp->account_kind,
	    sizeof(imp->account_kind)) == -1 ||
	    ipc_get_str(&b, imp->layout, sizeof(imp->layout)) == -1 ||
	    ipc_get_str(&b, imp->file, sizeof(imp->file)) == -1 ||
	    ipc_get_str(&b, imp->sha256, sizeof(imp->sha256)) == -1 ||
	    ipc_get_u64(&b, &rows, UINT32_MAX) == -1 || ipc_get_end(&b) == -1)
		db_import_malformed(peer, msg);
	ipc_body_close(&b);

	if (!db_ready(&why)) {
		free(imp);
		db_import_fail(ps, peer, msg->hdr.peerid, DB_UNAVAILABLE, why);
		return;
	}
	/* Each import reserves a connection; one stays for other requests. */
	if (db_nimports == DB_IMPORTS_MAX || (db_settings.pool_size > 1 &&
	    db_nimports >= db_settings.pool_size - 1)) {
		free(imp);
		db_import_fail(ps, peer, msg->hdr.peerid, DB_UNAVAILABLE,
		    "too many imports at once; try again");
		return;
	}
	snprintf(imp->rows_read, sizeof(imp->rows_read), "%llu",
	    (unsigned long long)rows);
	imp->id = ++db_import_next_id;
	imp->peer = peer;
	if ((imp->expire = evtimer_new(ps->base, db_import_expire, imp)) ==
	    NULL)
		fatal("%s", __func__);
	imp->busy = 1;
	call = db_import_call(ps, peer, msg->hdr.peerid, imp);
	imp->session = db_session_open(imp->kind == CSVIMPORT_BANK ?
	    &db_import_open_bank : &db_import_open_activity, NULL, 0,
	    db_import_opened, call);
	TAILQ_INSERT_TAIL(&db_imports, imp, entry);
	db_nimports++;
	if (imp->session == NULL) {
		free(call);
		db_import_drop(imp);
		db_import_fail(ps, peer, msg->hdr.peerid, DB_UNAVAILABLE,
		    "PostgreSQL is unavailable");
	}
}

/* A piece is in the staging table, or the import is over. */
static void
db_import_piece_done(void *arg, enum db_status status, const char *message,
    PGresult *res)
{
	struct db_import_call	*call = arg;
	struct db_import	*imp = call->imp;

	imp->busy = 0;
	if (status != DB_OK) {
		log_warnx("import %llu failed: %s",
		    (unsigned long long)imp->id, message);
		db_import_fail(call->ps, call->peer, call->peerid, status,
		    message);
		db_import_drop(imp);
	} else {
		db_import_touch(imp);
		db_import_fail(call->ps, call->peer, call->peerid, DB_OK, "");
	}
	free(call);
}

/*
 * Starts stmt on the import's connection, with the COPY data of a piece
 * when piece is not NULL, or replies with an error and drops the import.
 */
static void
db_import_run(struct privsep *ps, enum procid peer, uint32_t peerid,
    struct db_import *imp, const struct db_stmt *stmt,
    const char *const *params, int nparams, const uint8_t *piece,
    size_t len, db_done_cb cb)
{
	struct db_import_call	*call;
	int			 r;

	call = db_import_call(ps, peer, peerid, imp);
	evtimer_del(imp->expire);
	imp->busy = 1;
	if (piece != NULL)
		r = db_session_copy(imp->session, stmt, piece, len, cb, call);
	else
		r = db_session_submit(imp->session, stmt, params, nparams, cb,
		    call);
	if (r == -1) {
		free(call);
		log_warnx("import %llu failed: the connection to PostgreSQL "
		    "was lost", (unsigned long long)imp->id);
		db_import_fail(ps, peer, peerid, DB_UNAVAILABLE,
		    "the connection to PostgreSQL was lost");
		db_import_drop(imp);
	}
}

/* Finds the import of a piece or commit, or replies with an error. */
static struct db_import *
db_import_get(struct privsep *ps, enum procid peer, uint32_t peerid,
    uint64_t id)
{
	struct db_import	*imp;

	if ((imp = db_import_find(peer, id)) == NULL) {
		db_import_fail(ps, peer, peerid, DB_NOT_FOUND,
		    "no such import; it may have expired");
		return NULL;
	}
	if (imp->busy) {
		db_import_fail(ps, peer, peerid, DB_FAILED,
		    "the previous piece is still being written");
		return NULL;
	}
	return imp;
}

static void
db_import_rows(struct privsep *ps, enum procid peer, struct ipc_msg *msg)
{
	struct ipc_body		 b;
	struct db_import	*imp;
	const uint8_t		*piece;
	size_t			 len;
	uint64_t		 id;

	/* Whole rows only: COPY would join a cut row with the next piece. */
	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_u64(&b, &id, UINT64_MAX) == -1 ||
	    ipc_get_bin(&b, &piece, &len, CSVIMPORT_PIECE_MAX) == -1 ||
	    len == 0 || piece[len - 1] != '\n' ||
	    memchr(piece, '\0', len) != NULL || ipc_get_end(&b) == -1)
		db_import_malformed(peer, msg);
	if ((imp = db_import_get(ps, peer, msg->hdr.peerid, id)) != NULL)
		db_import_run(ps, peer, msg->hdr.peerid, imp,
		    imp->kind == CSVIMPORT_BANK ? &db_import_piece_bank :
		    &db_import_piece_activity, NULL, 0, piece, len,
		    db_import_piece_done);
	ipc_body_close(&b);
}

/* The transaction committed: the import is stored. */
static void
db_import_committed(void *arg, enum db_status status, const char *message,
    PGresult *res)
{
	struct db_import_call	*call = arg;
	struct db_import	*imp = call->imp;
	const char		*values[6];
	int			 i;

	imp->busy = 0;
	if (status == DB_OK) {
		log_info("import %llu of %s written",
		    (unsigned long long)imp->id, imp->layout);
		for (i = 0; i < 6; i++)
			values[i] = imp->outnull[i] ? NULL : imp->out[i];
		db_import_reply(call->ps, call->peer, call->peerid, DB_OK, "",
		    NULL, values, 6);
	} else {
		log_warnx("import %llu failed at commit: %s",
		    (unsigned long long)imp->id, message);
		db_import_fail(call->ps, call->peer, call->peerid, status,
		    message);
	}
	db_import_drop(imp);
	free(call);
}

/* The rows are written; their counts are kept until the commit. */
static void
db_import_written(void *arg, enum db_status status, const char *message,
    PGresult *res)
{
	struct db_import_call	*call = arg;
	struct db_import	*imp = call->imp;
	int			 i;

	imp->busy = 0;
	if (status != DB_OK || PQntuples(res) != 1 || PQnfields(res) != 6) {
		log_warnx("import %llu failed: %s",
		    (unsigned long long)imp->id, status != DB_OK ? message :
		    "unexpected result");
		db_import_fail(call->ps, call->peer, call->peerid,
		    status != DB_OK ? status : DB_FAILED, message);
		db_import_drop(imp);
		free(call);
		return;
	}
	for (i = 0; i < 6; i++) {
		imp->outnull[i] = PQgetisnull(res, 0, i);
		snprintf(imp->out[i], sizeof(imp->out[i]), "%s",
		    PQgetvalue(res, 0, i));
	}
	db_import_run(call->ps, call->peer, call->peerid, imp,
	    &db_import_commit_stmt, NULL, 0, NULL, 0, db_import_committed);
	free(call);
}

static void
db_import_commit(struct privsep *ps, enum procid peer, struct ipc_msg *msg)
{
	struct ipc_body		 b;
	struct db_import	*imp;
	const char		*params[7];
	uint64_t		 id;

	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_u64(&b, &id, UINT64_MAX) == -1 || ipc_get_end(&b) == -1)
		db_import_malformed(peer, msg);
	ipc_body_close(&b);
	if ((imp = db_import_get(ps, peer, msg->hdr.peerid, id)) == NULL)
		return;
	params[0] = imp->account;
	params[1] = imp->account_kind;
	params[2] = imp->layout;
	params[3] = imp->file;
	params[4] = imp->sha256;
	params[5] = imp->rows_read;
	params[6] = db_settings.timezone[0] != '\0' ? db_settings.timezone :
	    "UTC";
	db_import_run(ps, peer, msg->hdr.peerid, imp,
	    imp->kind == CSVIMPORT_BANK ? &db_import_bank :
	    &db_import_activity, params, 7, NULL, 0, db_import_written);
}

/* Handles the import messages of the http child. */
void
db_import_dispatch(struct privsep *ps, enum procid peer, struct ipc_msg *msg)
{
	switch (msg->hdr.type) {
	case IMSG_DB_IMPORT_BEGIN:
		db_import_begin(ps, peer, msg);
		break;
	case IMSG_DB_IMPORT_ROWS:
		db_import_rows(ps, peer, msg);
		break;
	case IMSG_DB_IMPORT_COMMIT:
		db_import_commit(ps, peer, msg);
		break;
	default:
		db_import_malformed(peer, msg);
	}
}
