/*
 * The http child's requests in the db child: one prepared statement each,
 * parameters bound as text, results sent back as text rows.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "benjid.h"
#include "db.h"

/* Destination of the reply once the statement is done. */
struct db_request {
	struct privsep	*ps;
	enum procid	 peer;
	uint32_t	 peerid;
	uint32_t	 type;
};

enum {
	STMT_POSITIONS_LIST,
	STMT_POSITION_PUT,
	STMT_POSITION_DELETE,
	STMT_PORTFOLIO_SUMMARY,
	STMT_CASH_BALANCES,
	STMT_FINANCE_SUMMARY,
	STMT_TRANSACTIONS_LIST,
	STMT_TRANSACTION_CREATE,
	STMT_TRANSACTION_PATCH
};

/* Maximum length of a summary's array literal: 1,000 prices of 64 bytes. */
#define DB_SUMMARY_LITERAL_MAX	65536

#define TX_COLUMNS	"id, to_char(posted_at AT TIME ZONE 'UTC', " \
			"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), description, " \
			"amount, category, notes"

static const struct db_stmt db_stmts[] = {
	{ STMT_POSITIONS_LIST, "positions_list",
	    "SELECT ticker, qty, basis FROM portfolio_position "
	    "ORDER BY ticker", 0 },
	{ STMT_POSITION_PUT, "position_put",
	    "INSERT INTO portfolio_position (ticker, qty, basis) "
	    "VALUES ($1, $2::numeric, $3::numeric) ON CONFLICT (ticker) DO "
	    "UPDATE SET qty = EXCLUDED.qty, basis = EXCLUDED.basis "
	    "RETURNING ticker, qty, basis, (xmax = 0)", 3 },
	{ STMT_POSITION_DELETE, "position_delete",
	    "DELETE FROM portfolio_position WHERE ticker = $1 "
	    "RETURNING ticker", 1 },
	/*
	 * Values positions with the prices the caller got from the fetcher.
	 * A position without a price has no market value and is counted in
	 * "missing"; the totals of market value and gain then cover only
	 * the priced positions.
	 */
	{ STMT_PORTFOLIO_SUMMARY, "portfolio_summary",
	    "WITH q AS (SELECT * FROM unnest($1::text[], $2::numeric[], "
	    "$3::boolean[]) AS q(ticker, price, stale)), "
	    "p AS (SELECT p.ticker, p.qty, p.basis, q.price, q.stale, "
	    "p.qty * q.price AS mv FROM portfolio_position p "
	    "LEFT JOIN q ON q.ticker = p.ticker), "
	    "t AS (SELECT count(*) AS n, sum(qty) AS qty, sum(basis) AS basis, "
	    "sum(mv) AS mv, sum(basis) FILTER (WHERE mv IS NOT NULL) AS "
	    "priced_basis, count(*) FILTER (WHERE mv IS NULL) AS missing "
	    "FROM p) "
	    "SELECT p.ticker, p.qty::text, p.basis::text, p.price::text, "
	    "p.stale::text, p.mv::text, (p.mv - p.basis)::text, "
	    "round(p.mv * 100 / nullif(t.mv, 0), 4)::text, NULL "
	    "FROM p, t "
	    "UNION ALL SELECT NULL, t.n::text, coalesce(t.qty, 0)::text, "
	    "coalesce(t.basis, 0)::text, t.mv::text, "
	    "(t.mv - t.priced_basis)::text, "
	    "round((t.mv - t.priced_basis) * 100 / "
	    "nullif(t.priced_basis, 0), 4)::text, t.missing::text, NULL "
	    "FROM t ORDER BY 1 NULLS LAST", 3 },
	{ STMT_CASH_BALANCES, "cash_balances",
	    "SELECT a.name, a.kind, a.currency, "
	    "coalesce(sum(c.amount), 0)::text FROM account a "
	    "LEFT JOIN cash_movement c ON c.account_id = a.id "
	    "GROUP BY a.id ORDER BY a.name", 0 },
	/*
	 * Spend of the current month in the configured time zone. Each
	 * category nets its amounts, so that a refund offsets the charge
	 * it returns; a category that nets negative is spend, one that nets
	 * positive is income.
	 */
	{ STMT_FINANCE_SUMMARY, "finance_summary",
	    "WITH b AS (SELECT date_trunc('month', now() AT TIME ZONE $1) AS "
	    "m, now() AT TIME ZONE $1 AS n), "
	    "r AS (SELECT m AT TIME ZONE $1 AS start_at, (m + interval "
	    "'1 month') AT TIME ZONE $1 AS end_at, extract(day FROM n)::int "
	    "AS elapsed, extract(day FROM m + interval '1 month' - interval "
	    "'1 day')::int AS days, m::date AS month FROM b), "
	    "c AS (SELECT coalesce(nullif(lower(btrim(t.category)), ''), "
	    "'uncategorized') AS category, sum(t.amount) AS net "
	    "FROM finance_transaction t, r WHERE t.posted_at >= r.start_at "
	    "AND t.posted_at < r.end_at AND t.amount IS NOT NULL AND NOT "
	    "t.pending GROUP BY 1), "
	    "s AS (SELECT coalesce(sum(-net) FILTER (WHERE net < 0), 0) AS "
	    "spend, coalesce(sum(net) FILTER (WHERE net > 0), 0) AS income "
	    "FROM c) "
	    "SELECT category, greatest(-net, 0)::text, greatest(net, 0)::text, "
	    "NULL, NULL, NULL, NULL, NULL FROM c "
	    "UNION ALL SELECT NULL, s.spend::text, s.income::text, "
	    "round(s.spend / r.elapsed, 2)::text, "
	    "round(s.spend / r.elapsed * r.days, 2)::text, r.month::text, "
	    "r.elapsed::text, r.days::text FROM s, r ORDER BY 1 NULLS LAST",
	    1 },
	{ STMT_TRANSACTIONS_LIST, "transactions_list",
	    "SELECT " TX_COLUMNS " FROM finance_transaction "
	    "WHERE $2 = '' OR lower(btrim(category)) = lower(btrim($2)) "
	    "ORDER BY posted_at DESC NULLS LAST, id LIMIT $1::int", 2 },
	{ STMT_TRANSACTION_CREATE, "transaction_create",
	    "INSERT INTO finance_transaction (id, posted_at, description, "
	    "amount, category, notes) VALUES (gen_random_uuid()::text, "
	    "$1::timestamptz, $2, $3::numeric, $4, $5) RETURNING " TX_COLUMNS,
	    5 },
	{ STMT_TRANSACTION_PATCH, "transaction_patch",
	    "UPDATE finance_transaction SET "
	    "category = CASE WHEN $2::boolean THEN $3 ELSE category END, "
	    "notes = CASE WHEN $4::boolean THEN $5 ELSE notes END "
	    "WHERE id = $1 RETURNING " TX_COLUMNS, 5 },
};

/*
 * Packs the rows of res as one bin field (see db_rows_pack_start); no
 * rows when res is NULL or not a DB_OK result. One field instead of an
 * array per row and a string per cell, because decoding a summary's
 * 9,000 cells as msgpack objects cost the http child more than using them.
 */
void
db_rows_put(struct ipc_wbuf *wb, enum db_status status, PGresult *res)
{
	struct db_rows_pack	 pk;
	const char		*v;
	int			 i, j, len, nrows = 0, ncols = 0;

	if (res != NULL && status == DB_OK) {
		nrows = PQntuples(res);
		ncols = PQnfields(res);
	}
	db_rows_pack_start(&pk, nrows, ncols);
	for (i = 0; i < nrows; i++) {
		for (j = 0; j < ncols; j++) {
			v = PQgetvalue(res, i, j);
			len = PQgetlength(res, i, j);
			/* Only an empty value may be SQL NULL. */
			if (len == 0 && PQgetisnull(res, i, j))
				v = NULL;
			db_rows_pack_cell(&pk, v, len);
		}
	}
	db_rows_pack_end(&pk, wb);
}

static void
db_reply(struct db_request *rq, enum db_status status, const char *message,
    PGresult *res)
{
	struct ipc_wbuf	 wb;

	ipc_wbuf_init(&wb, 3);
	ipc_put_u64(&wb, status);
	ipc_put_str(&wb, message != NULL ? message : "");
	db_rows_put(&wb, status, res);
	proc_compose(rq->ps, rq->peer, IMSG_DB_RESULT, rq->peerid, -1, &wb);
}

static void
db_request_done(void *arg, enum db_status status, const char *message,
    PGresult *res)
{
	struct db_request	*rq = arg;

	if (status == DB_OK && res != NULL && PQntuples(res) == 0 &&
	    (rq->type == IMSG_DB_POSITION_DELETE ||
	    rq->type == IMSG_DB_TRANSACTION_PATCH))
		status = DB_NOT_FOUND;
	if (status == DB_FAILED)
		log_warnx("statement for request type %u failed: %s",
		    rq->type, message);
	db_reply(rq, status, message, res);
	free(rq);
}

static void
db_query_fatal(enum procid peer, struct ipc_msg *msg)
{
	fatalx("db: malformed message type %u from %s", msg->hdr.type,
	    proc_name(peer));
}

/* Reads a string or nil field into a new string; NULL for nil. */
static int
db_get_text(struct ipc_body *b, char **out, size_t max)
{
	const char	*s;
	size_t		 len;

	*out = NULL;
	if (ipc_get_nil(b) == 0)
		return 0;
	if (ipc_get_strp(b, &s, &len, max) == -1 || memchr(s, '\0', len))
		return -1;
	if ((*out = strndup(s, len)) == NULL)
		fatal("%s", __func__);
	return 0;
}

/*
 * Checks one array literal of a summary request: '{', elements separated
 * by ',', '}', each element one or more characters marked in allowed, in
 * double quotes when quoted. The statement binds the literal as a
 * parameter, so a bad one could only fail the statement, but a sibling
 * that sends one is broken. Returns the element count, or -1.
 */
static int
db_literal_check(const char *s, size_t len, int quoted, const char *allowed)
{
	size_t	 i, first;
	int	 n = 0;

	if (len < 2 || s[0] != '{' || s[len - 1] != '}')
		return -1;
	if (len == 2)
		return 0;
	for (i = 1; i < len; i++) {
		if (quoted && s[i++] != '"')
			return -1;
		for (first = i; i < len && allowed[(unsigned char)s[i]]; i++)
			;
		if (i == first || (quoted && (i == len || s[i++] != '"')))
			return -1;
		if (i >= len || (s[i] != ',' && i != len - 1))
			return -1;
		n++;
	}
	return n;
}

/*
 * Reads the three array literals of a summary request for unnest():
 * tickers, prices and stale flags, each with one element per quote.
 */
static int
db_summary_arrays(struct ipc_body *b, char **params)
{
	/* The characters of tickers, prices and stale flags. */
	static const char	 allowed[3][256] = {
		{ ['A' ... 'Z'] = 1, ['0' ... '9'] = 1, ['.'] = 1, ['-'] = 1 },
		{ ['0' ... '9'] = 1, ['.'] = 1 },
		{ ['t'] = 1, ['f'] = 1 },
	};
	const char		*s;
	size_t			 len;
	int			 i, n, count = -1;

	for (i = 0; i < 3; i++) {
		/* Only the tickers are quoted. */
		if (ipc_get_strp(b, &s, &len, DB_SUMMARY_LITERAL_MAX) == -1 ||
		    (n = db_literal_check(s, len, i == 0, allowed[i])) == -1 ||
		    n > 1000 || (count != -1 && n != count))
			return -1;
		count = n;
		if ((params[i] = strndup(s, len)) == NULL)
			fatal("%s", __func__);
	}
	return 0;
}

/* Decodes the body of a request into statement parameters. */
static int
db_query_params(struct ipc_msg *msg, const struct db_stmt **stmt,
    char **params)
{
	struct ipc_body	 b;
	uint64_t	 limit;
	int		 set, r = -1;

	if (ipc_body_open(&b, msg) == -1)
		return -1;
	switch (msg->hdr.type) {
	case IMSG_DB_POSITIONS_LIST:
		*stmt = &db_stmts[STMT_POSITIONS_LIST];
		break;
	case IMSG_DB_CASH_BALANCES:
		*stmt = &db_stmts[STMT_CASH_BALANCES];
		break;
	case IMSG_DB_POSITION_PUT:
		*stmt = &db_stmts[STMT_POSITION_PUT];
		if (db_get_text(&b, &params[0], 12) == -1 ||
		    db_get_text(&b, &params[1], 64) == -1 ||
		    db_get_text(&b, &params[2], 64) == -1)
			goto done;
		break;
	case IMSG_DB_POSITION_DELETE:
		*stmt = &db_stmts[STMT_POSITION_DELETE];
		if (db_get_text(&b, &params[0], 12) == -1)
			goto done;
		break;
	case IMSG_DB_PORTFOLIO_SUMMARY:
		*stmt = &db_stmts[STMT_PORTFOLIO_SUMMARY];
		if (db_summary_arrays(&b, params) == -1)
			goto done;
		break;
	case IMSG_DB_FINANCE_SUMMARY:
		*stmt = &db_stmts[STMT_FINANCE_SUMMARY];
		params[0] = strdup(db_settings.timezone);
		break;
	case IMSG_DB_TRANSACTIONS_LIST:
		*stmt = &db_stmts[STMT_TRANSACTIONS_LIST];
		if (ipc_get_u64(&b, &limit, 500) == -1 ||
		    db_get_text(&b, &params[1], 256) == -1 ||
		    params[1] == NULL)
			goto done;
		if (asprintf(&params[0], "%llu", (unsigned long long)limit) ==
		    -1)
			fatal("%s", __func__);
		break;
	case IMSG_DB_TRANSACTION_CREATE:
		*stmt = &db_stmts[STMT_TRANSACTION_CREATE];
		if (db_get_text(&b, &params[0], 64) == -1 ||
		    db_get_text(&b, &params[1], 1024) == -1 ||
		    db_get_text(&b, &params[2], 64) == -1 ||
		    db_get_text(&b, &params[3], 256) == -1 ||
		    db_get_text(&b, &params[4], 65536) == -1)
			goto done;
		break;
	case IMSG_DB_TRANSACTION_PATCH:
		*stmt = &db_stmts[STMT_TRANSACTION_PATCH];
		if (db_get_text(&b, &params[0], 64) == -1 ||
		    ipc_get_bool(&b, &set) == -1 ||
		    (params[1] = strdup(set ? "t" : "f")) == NULL ||
		    db_get_text(&b, &params[2], 256) == -1 ||
		    ipc_get_bool(&b, &set) == -1 ||
		    (params[3] = strdup(set ? "t" : "f")) == NULL ||
		    db_get_text(&b, &params[4], 65536) == -1)
			goto done;
		break;
	default:
		goto done;
	}
	r = ipc_get_end(&b);
 done:
	ipc_body_close(&b);
	return r;
}

/* Handles one request of the http child; every request gets one reply. */
void
db_query_dispatch(struct privsep *ps, enum procid peer, struct ipc_msg *msg)
{
	const struct db_stmt	*stmt = NULL;
	struct db_request	*rq;
	struct ipc_body		 b;
	char			*params[DB_STMT_PARAMS_MAX] = { NULL };
	const char		*why;
	int			 i, ready;

	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		fatal("%s", __func__);
	rq->ps = ps;
	rq->peer = peer;
	rq->peerid = msg->hdr.peerid;
	rq->type = msg->hdr.type;

	if (msg->hdr.type == IMSG_DB_READINESS) {
		if (ipc_body_open(&b, msg) == -1 || ipc_get_end(&b) == -1)
			db_query_fatal(peer, msg);
		ipc_body_close(&b);
		ready = db_ready(&why);
		db_reply(rq, ready ? DB_OK : DB_UNAVAILABLE, why, NULL);
		free(rq);
		return;
	}
	if (db_query_params(msg, &stmt, params) == -1)
		db_query_fatal(peer, msg);

	if (!db_ready(&why))
		db_reply(rq, DB_UNAVAILABLE, why, NULL);
	else if (db_pool_submit(stmt, (const char *const *)params,
	    stmt->nparams, db_request_done, rq) == -1)
		db_reply(rq, DB_UNAVAILABLE, "PostgreSQL is unavailable", NULL);
	else
		rq = NULL;
	free(rq);
	for (i = 0; i < DB_STMT_PARAMS_MAX; i++)
		free(params[i]);
}
