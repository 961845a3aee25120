/*
 * CSV imports in the http child: POST /api/portfolio/import (brokerage
 * activity) and POST /api/finance/transactions/import (bank and card
 * exports). The body is the file, as text/csv or as the one file part of
 * multipart/form-data. Its size limit (max-import-size) is enforced while
 * the request is read. The file is parsed and validated here. A file with
 * any rejected value gets a 422 reply listing every reject, and nothing is
 * stored. Otherwise its rows go to the db child in pieces of at most
 * CSVIMPORT_PIECE_MAX bytes, and the db child writes them in one
 * transaction. The db child replies to a piece or the commit only after
 * its statements ran, so the wait for a reply follows the statement
 * timeout that the db child reports when the import begins.
 *
 * Query parameters: account (name of the account, created on first use),
 * account_kind (bank imports: checking, savings, card or cash), sign
 * (out-negative or out-positive, to override the layout), date_format
 * (mdy, dmy or ymd), and column.<role>=<header name> for a layout that is
 * not recognised, with the roles of csvimport_col_name.
 */

#include <ctype.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <sodium.h>

#include "benjid.h"
#include "db.h"
#include "csvimport.h"

#define HTTP_IMPORT_FILE_MAX	255	/* bytes of a file name kept */
/* Beyond the statement timeout: the IPC and the db child's queue. */
#define HTTP_IMPORT_WAIT_MARGIN_MS	15000
/* Maximum wait, also when the db child reports no timeout. */
#define HTTP_IMPORT_WAIT_MAX_MS		(24U * 3600 * 1000)
/* Records of an import after which the heap is given back. */
#define HTTP_IMPORT_TRIM_ROWS		10000

struct http_import {
	struct csvimport_opts	 opts;
	struct csvimport_result	 res;
	char			 account[CSVIMPORT_ACCOUNT_MAX * 4 + 1];
	char			 account_kind[16];
	char			 file[HTTP_IMPORT_FILE_MAX + 4];
	char			 sha256[65];
	char			*columns[CSVIMPORT_COL_MAX];
	uint64_t		 id;
	unsigned int		 statement_ms;	/* 0: no limit */
	size_t			 next;		/* next record to send */
	char			*piece;		/* CSVIMPORT_PIECE_MAX bytes */
	size_t			 npending;
};

static void	http_import_send_next(struct http_req *);
static size_t	http_import_count(const struct http_import *);

static void
http_import_free(void *arg)
{
	struct http_import	*imp = arg;
	size_t			 n = http_import_count(imp);
	int			 i;

	csvimport_result_free(&imp->res);
	free(imp->piece);
	for (i = 0; i < CSVIMPORT_COL_MAX; i++)
		free(imp->columns[i]);
	free(imp);
	/* glibc keeps the freed records of a large file otherwise. */
	if (n >= HTTP_IMPORT_TRIM_ROWS)
		malloc_trim(0);
}

static const char *
http_import_cash_kind(const char *code)
{
	static const struct {
		const char	*code;
		const char	*kind;
	} kinds[] = {
		{ "Buy", "trade" }, { "Sell", "trade" },
		{ "ACH", "transfer" }, { "WIRE", "transfer" },
		{ "XFER", "transfer" }, { "CDIV", "dividend" },
		{ "MDIV", "dividend" }, { "DIV", "dividend" },
		{ "QDIV", "dividend" }, { "INT", "interest" },
		{ "SLIP", "lending" }, { "FEE", "fee" }, { "GOLD", "fee" },
		{ "DFEE", "fee" }, { "AFEE", "fee" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcasecmp(code, kinds[i].code) == 0)
			return kinds[i].kind;
	return "adjustment";
}

static size_t
http_import_count(const struct http_import *imp)
{
	return imp->opts.kind == CSVIMPORT_BANK ? imp->res.ntxns :
	    imp->res.ntrades;
}

/*
 * Builds the next piece: as many rows as fit in CSVIMPORT_PIECE_MAX bytes,
 * in COPY text format. Returns -1 when a row alone does not fit.
 */
static int
http_import_piece(struct http_import *imp, struct csvimport_copy *cp)
{
	const struct csvimport_trade	*t;
	size_t				 n = http_import_count(imp);
	int				 r;

	cp->len = 0;
	cp->full = 0;
	for (; imp->next < n; imp->next++) {
		if (imp->opts.kind == CSVIMPORT_BANK)
			r = csvimport_copy_txn(cp, &imp->res.txns[imp->next],
			    imp->next);
		else {
			t = &imp->res.trades[imp->next];
			r = csvimport_copy_trade(cp, t, imp->next,
			    http_import_cash_kind(t->code));
		}
		if (r == -1)
			break;
	}
	return cp->len > 0 ? 0 : -1;
}

static void
http_import_reject_reply(struct http_req *hr, struct http_import *imp)
{
	struct csvimport_result	*res = &imp->res;
	struct json_object	*details, *list, *r;
	char			 message[128];
	size_t			 i;

	list = json_object_new_array();
	for (i = 0; i < res->nrejects; i++) {
		r = json_object_new_object();
		json_object_object_add(r, "line",
		    json_object_new_int64(res->rejects[i].line));
		json_object_object_add(r, "column",
		    json_object_new_string(res->rejects[i].column));
		json_object_object_add(r, "value",
		    json_object_new_string(res->rejects[i].value));
		json_object_object_add(r, "reason",
		    json_object_new_string(res->rejects[i].reason));
		json_object_array_add(list, r);
	}
	details = json_object_new_object();
	if (imp->file[0] != '\0')
		json_object_object_add(details, "file",
		    json_object_new_string(imp->file));
	json_object_object_add(details, "rows_read",
	    json_object_new_int64(res->rows));
	json_object_object_add(details, "rows_rejected",
	    json_object_new_int64(res->rejected_rows));
	json_object_object_add(details, "rejects", list);
	json_object_object_add(details, "rejects_total",
	    json_object_new_int64(res->nrejects_total));
	snprintf(message, sizeof(message), "%zu value%s rejected; nothing was "
	    "imported", res->nrejects_total,
	    res->nrejects_total == 1 ? "" : "s");
	http_reply_error(hr, 422, "CSV_REJECTED", message, details);
}

static void
http_import_success(struct http_req *hr, struct http_import *imp,
    const char *inserted, const char *duplicates, const char *changed,
    const char *batch)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "layout",
	    json_object_new_string(imp->res.layout));
	json_object_object_add(o, "file", imp->file[0] != '\0' ?
	    json_object_new_string(imp->file) : NULL);
	json_object_object_add(o, "account",
	    json_object_new_string(imp->account));
	json_object_object_add(o, "rows_read",
	    json_object_new_int64(imp->res.rows));
	json_object_object_add(o, "inserted",
	    json_object_new_int64(strtoll(inserted, NULL, 10)));
	json_object_object_add(o, "duplicates_skipped",
	    json_object_new_int64(strtoll(duplicates, NULL, 10)));
	json_object_object_add(o, "lines_skipped",
	    json_object_new_int64(imp->res.skipped));
	if (imp->opts.kind == CSVIMPORT_BANK) {
		json_object_object_add(o, "pending",
		    json_object_new_int64(imp->npending));
		json_object_object_add(o, "pending_cleared",
		    json_object_new_int64(strtoll(changed, NULL, 10)));
	}
	json_object_object_add(o, "batch_id", batch != NULL ?
	    json_object_new_int64(strtoll(batch, NULL, 10)) : NULL);
	http_reply_json(hr, 200, o);
}

static void
http_import_commit_done(struct http_req *hr, struct db_rows *rows)
{
	struct http_import	*imp = hr->state;
	struct json_object	*details, *r, *list;
	const char		*line;

	/* Another import stored the same rows between check and insert. */
	if (rows->status == DB_INVALID &&
	    strstr(rows->message, "duplicate key") != NULL) {
		http_reply_error(hr, 409, "IMPORT_CONFLICT", "another import "
		    "stored the same rows at the same time; nothing was "
		    "imported, send the file again", NULL);
		return;
	}
	if (rows->status == DB_INVALID) {
		http_reply_error(hr, 422, "CSV_REJECTED", "the database "
		    "rejected a value; nothing was imported",
		    http_json_pair("reason", rows->message));
		return;
	}
	if (rows->status != DB_OK || rows->nrows != 1 || rows->ncols != 6) {
		http_reply_error(hr, 500, "IMPORT_FAILED", "the import did not "
		    "complete; nothing was imported", NULL);
		return;
	}
	if ((line = db_rows_get(rows, 0, 4)) != NULL) {
		r = json_object_new_object();
		json_object_object_add(r, "line",
		    json_object_new_int64(strtoll(line, NULL, 10)));
		json_object_object_add(r, "column",
		    json_object_new_string("symbol"));
		json_object_object_add(r, "value",
		    json_object_new_string(db_rows_get(rows, 0, 5) ?
		    db_rows_get(rows, 0, 5) : ""));
		json_object_object_add(r, "reason", json_object_new_string(
		    "sells more than the position holds"));
		list = json_object_new_array();
		json_object_array_add(list, r);
		details = json_object_new_object();
		json_object_object_add(details, "rows_read",
		    json_object_new_int64(imp->res.rows));
		json_object_object_add(details, "rejects", list);
		http_reply_error(hr, 422, "CSV_REJECTED", "1 value rejected; "
		    "nothing was imported", details);
		return;
	}
	http_import_success(hr, imp, db_rows_get(rows, 0, 0),
	    db_rows_get(rows, 0, 1), db_rows_get(rows, 0, 2),
	    db_rows_get(rows, 0, 3));
}

static void
http_import_rows_done(struct http_req *hr, struct db_rows *rows)
{
	if (rows->status == DB_INVALID) {
		http_reply_error(hr, 422, "CSV_REJECTED", "the database "
		    "rejected a value; nothing was imported",
		    http_json_pair("reason", rows->message));
		return;
	}
	if (rows->status != DB_OK) {
		http_reply_error(hr, 503, "DATABASE_UNAVAILABLE",
		    rows->message, NULL);
		return;
	}
	http_import_send_next(hr);
}

/*
 * Returns the wait for the db child's reply to a piece, or to the commit,
 * which runs the import's statement and then COMMIT, each under the
 * statement timeout.
 */
static unsigned int
http_import_wait_ms(const struct http_import *imp, unsigned int statements)
{
	unsigned long long	 ms;

	if (imp->statement_ms == 0)
		return HTTP_IMPORT_WAIT_MAX_MS;
	ms = (unsigned long long)imp->statement_ms * statements +
	    HTTP_IMPORT_WAIT_MARGIN_MS;
	return ms > HTTP_IMPORT_WAIT_MAX_MS ? HTTP_IMPORT_WAIT_MAX_MS : ms;
}

/* Sends the next piece, or the commit once every row went out. */
static void
http_import_send_next(struct http_req *hr)
{
	struct http_import	*imp = hr->state;
	struct ipc_wbuf		 wb;
	struct csvimport_copy	 cp;

	if (imp->next == http_import_count(imp)) {
		ipc_wbuf_init(&wb, 1);
		ipc_put_u64(&wb, imp->id);
		http_db_request_wait(hr, IMSG_DB_IMPORT_COMMIT, &wb,
		    http_import_wait_ms(imp, 2), http_import_commit_done);
		return;
	}
	if (imp->piece == NULL &&
	    (imp->piece = malloc(CSVIMPORT_PIECE_MAX)) == NULL) {
		http_reply_error(hr, 503, "UNAVAILABLE", "out of memory", NULL);
		return;
	}
	cp.buf = imp->piece;
	cp.size = CSVIMPORT_PIECE_MAX;
	if (http_import_piece(imp, &cp) == -1) {
		http_reply_error(hr, 500, "IMPORT_FAILED", "a row does not fit "
		    "in one piece", NULL);
		return;
	}
	ipc_wbuf_init(&wb, 2);
	ipc_put_u64(&wb, imp->id);
	ipc_put_bin(&wb, imp->piece, cp.len);
	http_db_request_wait(hr, IMSG_DB_IMPORT_ROWS, &wb,
	    http_import_wait_ms(imp, 1), http_import_rows_done);
}

static void
http_import_begin_done(struct http_req *hr, struct db_rows *rows)
{
	struct http_import	*imp = hr->state;
	const char		*id, *ms;

	if (rows->status != DB_OK || (id = db_rows_get(rows, 0, 0)) == NULL ||
	    (ms = db_rows_get(rows, 0, 1)) == NULL) {
		http_reply_error(hr, 503, "DATABASE_UNAVAILABLE",
		    rows->message, NULL);
		return;
	}
	imp->id = strtoull(id, NULL, 10);
	imp->statement_ms = strtoul(ms, NULL, 10);
	http_import_send_next(hr);
}

/*
 * Finds the one file part of a multipart/form-data body. Returns 0 with
 * data, len and the file name set, or -1 with err set.
 */
static int
http_import_multipart(const char *ctype, const char *body, size_t blen,
    const char **data, size_t *len, char *file, size_t filesz,
    const char **err)
{
	char		 delim[128];
	const char	*b, *p, *end, *head, *next, *name;
	size_t		 dlen, n;
	int		 found = 0;

	*err = "multipart body without a boundary";
	if ((b = strcasestr(ctype, "boundary=")) == NULL)
		return -1;
	b += 9;
	n = *b == '"' ? strcspn(++b, "\"") : strcspn(b, "; \t");
	if (n == 0 || n > 70)
		return -1;
	dlen = snprintf(delim, sizeof(delim), "\r\n--%.*s", (int)n, b);

	*err = "malformed multipart body";
	/* The first delimiter may start the body, without its CRLF. */
	if (blen >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0)
		p = body + dlen - 2;
	else if ((p = memmem(body, blen, delim, dlen)) != NULL)
		p += dlen;
	else
		return -1;
	end = body + blen;
	for (;;) {
		if (end - p >= 2 && memcmp(p, "--", 2) == 0)
			break;	/* the closing delimiter */
		if (end - p < 2 || memcmp(p, "\r\n", 2) != 0)
			return -1;
		head = p + 2;
		if ((p = memmem(head, end - head, "\r\n\r\n", 4)) == NULL)
			return -1;
		p += 4;
		if ((next = memmem(p, end - p, delim, dlen)) == NULL)
			return -1;
		name = memmem(head, p - head, "filename=\"", 10);
		if (name != NULL) {
			if (found++) {
				*err = "more than one file part";
				return -1;
			}
			*data = p;
			*len = next - p;
			name += 10;
			n = strcspn(name, "\"\r\n");
			csvimport_show(name, n, file, filesz);
		}
		p = next + dlen;
	}
	if (!found) {
		*err = "no file part in the multipart body";
		return -1;
	}
	return 0;
}

static int
http_import_option(struct http_req *hr, struct http_import *imp,
    const char *key, const char *value)
{
	enum csvimport_col	 col;

	if (strcmp(key, "account") == 0) {
		if (*value == '\0' || strlen(value) > CSVIMPORT_ACCOUNT_MAX)
			return -1;
		snprintf(imp->account, sizeof(imp->account), "%s", value);
	} else if (strcmp(key, "account_kind") == 0 &&
	    imp->opts.kind == CSVIMPORT_BANK) {
		if (strcmp(value, "checking") != 0 &&
		    strcmp(value, "savings") != 0 &&
		    strcmp(value, "card") != 0 && strcmp(value, "cash") != 0)
			return -1;
		snprintf(imp->account_kind, sizeof(imp->account_kind), "%s",
		    value);
	} else if (strcmp(key, "sign") == 0) {
		if (strcmp(value, "out-negative") == 0)
			imp->opts.sign = CSVIMPORT_SIGN_OUT_NEGATIVE;
		else if (strcmp(value, "out-positive") == 0)
			imp->opts.sign = CSVIMPORT_SIGN_OUT_POSITIVE;
		else
			return -1;
	} else if (strcmp(key, "date_format") == 0) {
		if (strcmp(value, "mdy") == 0)
			imp->opts.datefmt = CSVIMPORT_DATE_MDY;
		else if (strcmp(value, "dmy") == 0)
			imp->opts.datefmt = CSVIMPORT_DATE_DMY;
		else if (strcmp(value, "ymd") == 0)
			imp->opts.datefmt = CSVIMPORT_DATE_YMD;
		else
			return -1;
	} else if (strncmp(key, "column.", 7) == 0 &&
	    csvimport_col_lookup(key + 7, &col) == 0) {
		if (*value == '\0' ||
		    strlen(value) > CSVIMPORT_COLUMN_NAME_MAX ||
		    imp->columns[col] != NULL ||
		    (imp->columns[col] = strdup(value)) == NULL)
			return -1;
		imp->opts.columns[col] = imp->columns[col];
	} else
		return -1;
	return 0;
}

/* Reads the query; on a bad parameter, replies 400 naming it and returns -1. */
static int
http_import_options(struct http_req *hr, struct http_import *imp)
{
	struct evkeyval	*kv;

	TAILQ_FOREACH(kv, hr->query, next) {
		if (http_import_option(hr, imp, kv->key, kv->value) == -1) {
			http_reply_error(hr, 400, "INVALID_PARAMETER",
			    "invalid, unknown or repeated query parameter",
			    http_json_pair("parameter", kv->key));
			return -1;
		}
	}
	return 0;
}

/* Finds the file in the body; replies with an error and returns -1 if none. */
static int
http_import_body(struct http_req *hr, struct http_import *imp,
    const char **data, size_t *len)
{
	struct evbuffer	*body = http_body(hr);
	const char	*ctype = http_header(hr, "Content-Type");
	const char	*err;
	size_t		 blen = evbuffer_get_length(body);
	char		*raw;

	raw = (char *)evbuffer_pullup(body, -1);
	if (raw == NULL && blen > 0) {
		http_reply_error(hr, 503, "UNAVAILABLE", "out of memory", NULL);
		return -1;
	}
	if (ctype != NULL && strncasecmp(ctype, "multipart/form-data", 19) ==
	    0) {
		if (http_import_multipart(ctype, raw, blen, data, len,
		    imp->file, sizeof(imp->file), &err) == -1) {
			http_reply_error(hr, 400, "INVALID_BODY", err, NULL);
			return -1;
		}
		return 0;
	}
	if (ctype == NULL || (strncasecmp(ctype, "text/csv", 8) != 0 &&
	    strncasecmp(ctype, "application/csv", 15) != 0 &&
	    strncasecmp(ctype, "text/plain", 10) != 0)) {
		http_reply_error(hr, 415, "UNSUPPORTED_MEDIA_TYPE",
		    "send the file as text/csv or multipart/form-data",
		    http_json_pair("content_type", ctype ? ctype : ""));
		return -1;
	}
	*data = raw != NULL ? raw : "";
	*len = blen;
	return 0;
}

static void
http_import_run(struct http_req *hr, enum csvimport_kind kind)
{
	struct http_import	*imp;
	struct ipc_wbuf		 wb;
	unsigned char		 digest[crypto_hash_sha256_BYTES];
	const char		*data;
	size_t			 len, i;

	if ((imp = calloc(1, sizeof(*imp))) == NULL) {
		http_reply_error(hr, 503, "UNAVAILABLE", "out of memory", NULL);
		return;
	}
	hr->state = imp;
	hr->state_free = http_import_free;
	imp->opts.kind = kind;
	snprintf(imp->account, sizeof(imp->account), "%s",
	    kind == CSVIMPORT_BANK ? "checking" : "brokerage");
	snprintf(imp->account_kind, sizeof(imp->account_kind), "%s",
	    kind == CSVIMPORT_BANK ? "checking" : "brokerage");
	if (http_import_options(hr, imp) == -1 ||
	    http_import_body(hr, imp, &data, &len) == -1)
		return;
	imp->opts.account = imp->account;

	if (csvimport_parse(data, len, &imp->opts, &imp->res) == -1) {
		http_import_reject_reply(hr, imp);
		return;
	}
	crypto_hash_sha256(digest, (const unsigned char *)data, len);
	sodium_bin2hex(imp->sha256, sizeof(imp->sha256), digest,
	    sizeof(digest));
	for (i = 0; i < imp->res.ntxns; i++)
		imp->npending += imp->res.txns[i].pending;
	if (http_import_count(imp) == 0) {
		http_import_success(hr, imp, "0", "0", "0", NULL);
		return;
	}

	ipc_wbuf_init(&wb, 7);
	ipc_put_u64(&wb, kind);
	ipc_put_str(&wb, imp->account);
	ipc_put_str(&wb, imp->account_kind);
	ipc_put_str(&wb, imp->res.layout);
	ipc_put_str(&wb, imp->file);
	ipc_put_str(&wb, imp->sha256);
	ipc_put_u64(&wb, imp->res.rows);
	http_db_request(hr, IMSG_DB_IMPORT_BEGIN, &wb, http_import_begin_done);
}

static void
http_import_activity(struct http_req *hr)
{
	http_import_run(hr, CSVIMPORT_ACTIVITY);
}

static void
http_import_bank(struct http_req *hr)
{
	http_import_run(hr, CSVIMPORT_BANK);
}

const struct http_route http_import_routes[] = {
	{ "/api/portfolio/import", EVHTTP_REQ_POST, "POST", HTTP_AUTH_API,
	    http_import_activity },
	{ "/api/finance/transactions/import", EVHTTP_REQ_POST, "POST",
	    HTTP_AUTH_API, http_import_bank },
	{ NULL, 0, NULL, HTTP_AUTH_NONE, NULL }
};
