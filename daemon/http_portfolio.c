/*
 * The portfolio endpoints of the http child: positions, and a summary that
 * values them with quotes from the fetcher. Every sum is computed by
 * PostgreSQL in numeric; this file only moves decimal text.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <json-c/json.h>

#include "benjid.h"
#include "db.h"

#define TICKER_MAX	12
#define POSITIONS_MAX	1000

/* A quote as the summary uses it. */
struct portfolio_quote {
	char		 ticker[TICKER_MAX + 1];
	char		 price[64];	/* "" when there is none */
	int		 stale;
	char		 status[24];	/* OK, STALE, NOT_FOUND, ... */
};

struct portfolio_summary {
	struct portfolio_quote	*quotes;
	size_t			 nquotes;
	size_t			*slots;		/* index + 1 into quotes, 0 free */
	size_t			 nslots;	/* a power of two */
	unsigned int		 waiting;	/* quote batches in flight */
	struct json_object	*result;
};

static const char *const portfolio_quote_states[] = {
	[QUOTE_OK] =		"OK",
	[QUOTE_NOT_FOUND] =	"NOT_FOUND",
	[QUOTE_RATE_LIMITED] =	"RATE_LIMITED",
	[QUOTE_PROVIDER_ERROR] = "PROVIDER_ERROR",
	[QUOTE_UNAVAILABLE] =	"UNAVAILABLE",
};

/* Upper-cases and checks a ticker: 1 to 12 of A-Z, 0-9, '.' and '-'. */
static int
portfolio_ticker(const char *in, char *out)
{
	size_t	 i, len = strlen(in);

	if (len == 0 || len > TICKER_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		out[i] = toupper((unsigned char)in[i]);
		if (!isupper((unsigned char)out[i]) &&
		    !isdigit((unsigned char)out[i]) && out[i] != '.' &&
		    out[i] != '-')
			return -1;
	}
	out[len] = '\0';
	return 0;
}

static int
portfolio_ticker_param(struct http_req *hr, char *ticker)
{
	if (portfolio_ticker(hr->params[0], ticker) == -1) {
		struct json_object	*details = json_object_new_object();

		json_object_object_add(details, "field",
		    json_object_new_string("ticker"));
		json_object_object_add(details, "value",
		    json_object_new_string(hr->params[0]));
		http_reply_error(hr, 400, "INVALID_FIELD", "invalid ticker: "
		    "expected 1 to 12 letters, digits, '.' or '-'", details);
		return -1;
	}
	return 0;
}

static struct json_object *
portfolio_position_json(const struct db_rows *r, uint32_t i)
{
	struct json_object	*p = json_object_new_object();

	json_object_object_add(p, "ticker",
	    http_json_text(db_rows_get(r, i, 0)));
	json_object_object_add(p, "quantity",
	    http_json_decimal(db_rows_get(r, i, 1)));
	json_object_object_add(p, "cost_basis",
	    http_json_decimal(db_rows_get(r, i, 2)));
	return p;
}

static void
portfolio_list_done(struct http_req *hr, struct db_rows *r)
{
	struct json_object	*body, *list;
	char			 now[40];
	uint32_t		 i;

	if (r->nrows == 0) {
		http_reply_empty(hr, 204);
		return;
	}
	list = json_object_new_array();
	for (i = 0; i < r->nrows; i++)
		json_object_array_add(list, portfolio_position_json(r, i));
	http_now_iso(now, sizeof(now));
	body = json_object_new_object();
	json_object_object_add(body, "as_of", json_object_new_string(now));
	json_object_object_add(body, "positions", list);
	http_reply_json(hr, 200, body);
}

static void
portfolio_list(struct http_req *hr)
{
	http_db_request(hr, IMSG_DB_POSITIONS_LIST, NULL, portfolio_list_done);
}

static void
portfolio_put_done(struct http_req *hr, struct db_rows *r)
{
	const char	*created;

	if (r->status != DB_OK || r->nrows != 1) {
		http_reply_error(hr, 400, "INVALID_FIELD", r->message[0] ?
		    r->message : "invalid position", NULL);
		return;
	}
	created = db_rows_get(r, 0, 3);
	http_reply_json(hr, created && strcmp(created, "t") == 0 ? 201 : 200,
	    portfolio_position_json(r, 0));
}

/* PUT {quantity, cost_basis}: cost_basis is what the position cost. */
static void
portfolio_put(struct http_req *hr)
{
	struct json_object	*body;
	struct ipc_wbuf		 wb;
	const char		*qty, *basis;
	char			 ticker[TICKER_MAX + 1];

	if (portfolio_ticker_param(hr, ticker) == -1 ||
	    (body = http_json_body(hr)) == NULL)
		return;
	if (http_json_decimal_field(hr, body, "quantity", 18, 6, 0,
	    &qty) == -1 || http_json_decimal_field(hr, body, "cost_basis", 18,
	    6, 0, &basis) == -1) {
		json_object_put(body);
		return;
	}
	ipc_wbuf_init(&wb, 3);
	ipc_put_str(&wb, ticker);
	ipc_put_str(&wb, qty);
	ipc_put_str(&wb, basis);
	json_object_put(body);
	http_db_request(hr, IMSG_DB_POSITION_PUT, &wb, portfolio_put_done);
}

static void
portfolio_delete_done(struct http_req *hr, struct db_rows *r)
{
	if (r->status == DB_NOT_FOUND) {
		http_reply_error(hr, 404, "POSITION_NOT_FOUND",
		    "no position for this ticker",
		    http_json_pair("ticker", hr->params[0]));
		return;
	}
	http_reply_empty(hr, 204);
}

static void
portfolio_delete(struct http_req *hr)
{
	struct ipc_wbuf	 wb;
	char		 ticker[TICKER_MAX + 1];

	if (portfolio_ticker_param(hr, ticker) == -1)
		return;
	ipc_wbuf_init(&wb, 1);
	ipc_put_str(&wb, ticker);
	http_db_request(hr, IMSG_DB_POSITION_DELETE, &wb,
	    portfolio_delete_done);
}

static void
portfolio_summary_free(void *arg)
{
	struct portfolio_summary	*s = arg;

	if (s == NULL)
		return;
	json_object_put(s->result);
	free(s->slots);
	free(s->quotes);
	free(s);
}

/* FNV-1a of a ticker, masked to the size of the index. */
static size_t
portfolio_quote_slot(const struct portfolio_summary *s, const char *ticker)
{
	uint32_t	 h = 2166136261u;

	for (; *ticker != '\0'; ticker++) {
		h ^= (unsigned char)*ticker;
		h *= 16777619u;
	}
	return h & (s->nslots - 1);
}

/*
 * Indexes s->quotes by ticker with open addressing; the first of equal
 * tickers wins. Returns -1 when out of memory. Hashing and not qsort(3),
 * because glibc's qsort may call sysinfo(2), which the filter forbids.
 */
static int
portfolio_quote_index(struct portfolio_summary *s)
{
	size_t	 i, slot;

	for (s->nslots = 2; s->nslots < 2 * s->nquotes; s->nslots *= 2)
		;
	if ((s->slots = calloc(s->nslots, sizeof(*s->slots))) == NULL)
		return -1;
	for (i = 0; i < s->nquotes; i++) {
		slot = portfolio_quote_slot(s, s->quotes[i].ticker);
		while (s->slots[slot] != 0 && strcmp(s->quotes[
		    s->slots[slot] - 1].ticker, s->quotes[i].ticker) != 0)
			slot = (slot + 1) & (s->nslots - 1);
		if (s->slots[slot] == 0)
			s->slots[slot] = i + 1;
	}
	return 0;
}

static struct portfolio_quote *
portfolio_quote_find(struct portfolio_summary *s, const char *ticker)
{
	struct portfolio_quote	*q;
	size_t			 slot;

	if (ticker == NULL)
		return NULL;
	slot = portfolio_quote_slot(s, ticker);
	while (s->slots[slot] != 0) {
		q = &s->quotes[s->slots[slot] - 1];
		if (strcmp(q->ticker, ticker) == 0)
			return q;
		slot = (slot + 1) & (s->nslots - 1);
	}
	return NULL;
}

static void
portfolio_cash_done(struct http_req *hr, struct db_rows *r)
{
	struct portfolio_summary	*s = hr->state;
	struct json_object		*cash = json_object_new_array(), *c;
	struct json_object		*body;
	uint32_t			 i;

	for (i = 0; i < r->nrows; i++) {
		c = json_object_new_object();
		json_object_object_add(c, "account",
		    http_json_text(db_rows_get(r, i, 0)));
		json_object_object_add(c, "kind",
		    http_json_text(db_rows_get(r, i, 1)));
		json_object_object_add(c, "currency",
		    http_json_text(db_rows_get(r, i, 2)));
		json_object_object_add(c, "balance",
		    http_json_decimal(db_rows_get(r, i, 3)));
		json_object_array_add(cash, c);
	}
	body = s->result;
	s->result = NULL;
	json_object_object_add(body, "cash", cash);
	http_reply_json(hr, 200, body);
}

static struct json_object *
portfolio_summary_position(struct portfolio_summary *s,
    const struct db_rows *r, uint32_t i)
{
	struct json_object	*p = portfolio_position_json(r, i);
	struct portfolio_quote	*q;
	const char		*price = db_rows_get(r, i, 3);
	const char		*status;

	q = portfolio_quote_find(s, db_rows_get(r, i, 0));
	if (price == NULL)
		status = q != NULL && q->status[0] ? q->status : "MISSING";
	else
		status = q != NULL && q->stale ? "STALE" : "OK";
	json_object_object_add(p, "price", http_json_decimal(price));
	json_object_object_add(p, "market_value",
	    http_json_decimal(db_rows_get(r, i, 5)));
	json_object_object_add(p, "unrealized_gain",
	    http_json_decimal(db_rows_get(r, i, 6)));
	json_object_object_add(p, "weight_pct",
	    http_json_decimal(db_rows_get(r, i, 7)));
	json_object_object_add(p, "quote_status",
	    json_object_new_string(status));
	return p;
}

static void
portfolio_valued(struct http_req *hr, struct db_rows *r)
{
	struct portfolio_summary	*s = hr->state;
	struct json_object		*body, *list;
	const char			*missing;
	char				 now[40];
	uint32_t			 i, t;

	if (r->nrows < 1 || db_rows_get(r, r->nrows - 1, 0) != NULL) {
		http_reply_error(hr, 500, "DATABASE_ERROR",
		    "invalid summary from the database", NULL);
		return;
	}
	t = r->nrows - 1;
	if (t == 0) {
		http_reply_empty(hr, 204);
		return;
	}
	list = json_object_new_array();
	for (i = 0; i < t; i++)
		json_object_array_add(list,
		    portfolio_summary_position(s, r, i));
	missing = db_rows_get(r, t, 7);
	http_now_iso(now, sizeof(now));
	body = json_object_new_object();
	json_object_object_add(body, "as_of", json_object_new_string(now));
	json_object_object_add(body, "positions_count",
	    http_json_decimal(db_rows_get(r, t, 1)));
	json_object_object_add(body, "total_quantity",
	    http_json_decimal(db_rows_get(r, t, 2)));
	json_object_object_add(body, "total_cost_basis",
	    http_json_decimal(db_rows_get(r, t, 3)));
	json_object_object_add(body, "market_value",
	    http_json_decimal(db_rows_get(r, t, 4)));
	json_object_object_add(body, "unrealized_gain",
	    http_json_decimal(db_rows_get(r, t, 5)));
	json_object_object_add(body, "unrealized_gain_pct",
	    http_json_decimal(db_rows_get(r, t, 6)));
	json_object_object_add(body, "positions_without_quote",
	    http_json_decimal(missing));
	json_object_object_add(body, "valuation_complete",
	    json_object_new_boolean(missing != NULL &&
	    strcmp(missing, "0") == 0));
	json_object_object_add(body, "positions", list);
	s->result = body;
	http_db_request(hr, IMSG_DB_CASH_BALANCES, NULL, portfolio_cash_done);
}

/* Asks the db child to value the positions with the quotes gathered. */
static void
portfolio_value(struct http_req *hr)
{
	struct portfolio_summary	*s = hr->state;
	struct ipc_wbuf			 wb;
	size_t				 i, n = 0;

	for (i = 0; i < s->nquotes; i++)
		if (s->quotes[i].price[0] != '\0')
			n++;
	ipc_wbuf_init(&wb, 1);
	ipc_put_array(&wb, n);
	for (i = 0; i < s->nquotes; i++) {
		if (s->quotes[i].price[0] == '\0')
			continue;
		ipc_put_array(&wb, 3);
		ipc_put_str(&wb, s->quotes[i].ticker);
		ipc_put_str(&wb, s->quotes[i].price);
		ipc_put_bool(&wb, s->quotes[i].stale);
	}
	http_db_request(hr, IMSG_DB_PORTFOLIO_SUMMARY, &wb, portfolio_valued);
}

/* Stores the fetcher's answer for one batch; a bad price counts as none. */
static void
portfolio_quotes_done(struct http_req *hr, enum procid peer,
    struct ipc_msg *msg, void *arg)
{
	struct portfolio_summary	*s = hr->state;
	struct portfolio_quote		*q;
	struct ipc_body			 b, list, item;
	char				 symbol[32], price[64], skip[256];
	uint64_t			 status, u;
	int64_t				 i64;
	int				 stale;
	uint32_t			 i;

	if (msg != NULL) {
		if (ipc_body_open(&b, msg) == -1 ||
		    ipc_get_array(&b, &list, QUOTES_BATCH_MAX) == -1)
			fatalx("http: malformed quotes from fetcher");
		for (i = 0; i < list.count; i++) {
			if (ipc_get_array(&list, &item, 12) == -1 ||
			    ipc_get_str(&item, symbol, sizeof(symbol)) == -1 ||
			    ipc_get_u64(&item, &status, QUOTE_UNAVAILABLE) ==
			    -1 || ipc_get_str(&item, price, sizeof(price)) ==
			    -1)
				fatalx("http: malformed quote from fetcher");
			/* change, percent, currency, as_of, source */
			for (u = 0; u < 5; u++)
				if (ipc_get_str(&item, skip, sizeof(skip)) == -1)
					fatalx("http: malformed quote");
			if (ipc_get_i64(&item, &i64) == -1 ||
			    ipc_get_bool(&item, &stale) == -1 ||
			    ipc_get_u64(&item, &u, UINT32_MAX) == -1 ||
			    ipc_get_str(&item, skip, sizeof(skip)) == -1 ||
			    ipc_get_end(&item) == -1)
				fatalx("http: malformed quote from fetcher");
			if ((q = portfolio_quote_find(s, symbol)) == NULL)
				continue;
			snprintf(q->status, sizeof(q->status), "%s",
			    portfolio_quote_states[status]);
			if (status == QUOTE_OK &&
			    http_decimal_valid(price, 18, 6, 0))
				snprintf(q->price, sizeof(q->price), "%s",
				    price);
			q->stale = stale;
		}
		if (ipc_get_end(&list) == -1 || ipc_get_end(&b) == -1)
			fatalx("http: malformed quotes from fetcher");
		ipc_body_close(&b);
	}
	if (--s->waiting == 0)
		portfolio_value(hr);
}

/* Got the tickers: asks the fetcher for their quotes, in batches. */
static void
portfolio_tickers_done(struct http_req *hr, struct db_rows *r)
{
	struct portfolio_summary	*s = hr->state;
	struct ipc_wbuf			 wb;
	size_t				 i, j, n;

	if (r->nrows == 0) {
		http_reply_empty(hr, 204);
		return;
	}
	s->nquotes = r->nrows < POSITIONS_MAX ? r->nrows : POSITIONS_MAX;
	if ((s->quotes = calloc(s->nquotes, sizeof(*s->quotes))) == NULL) {
		http_reply_error(hr, 503, "UNAVAILABLE", "out of memory", NULL);
		return;
	}
	for (i = 0; i < s->nquotes; i++)
		snprintf(s->quotes[i].ticker, sizeof(s->quotes[i].ticker),
		    "%s", db_rows_get(r, i, 0) ? db_rows_get(r, i, 0) : "");
	if (portfolio_quote_index(s) == -1) {
		http_reply_error(hr, 503, "UNAVAILABLE", "out of memory", NULL);
		return;
	}
	s->waiting = 1;
	for (i = 0; i < s->nquotes; i += QUOTES_BATCH_MAX) {
		n = s->nquotes - i < QUOTES_BATCH_MAX ? s->nquotes - i :
		    QUOTES_BATCH_MAX;
		ipc_wbuf_init(&wb, 1);
		ipc_put_array(&wb, n);
		for (j = 0; j < n; j++)
			ipc_put_str(&wb, s->quotes[i + j].ticker);
		if (http_ipc_request(hr, PROC_FETCHER, IMSG_QUOTES_GET, &wb,
		    QUOTES_IPC_TIMEOUT_MS, portfolio_quotes_done, NULL) == 0)
			s->waiting++;
	}
	/* A fetcher that is down leaves every quote missing, not zero. */
	if (--s->waiting == 0)
		portfolio_value(hr);
}

static void
portfolio_summary(struct http_req *hr)
{
	struct portfolio_summary	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		http_reply_error(hr, 503, "UNAVAILABLE", "out of memory", NULL);
		return;
	}
	hr->state = s;
	hr->state_free = portfolio_summary_free;
	http_db_request(hr, IMSG_DB_POSITIONS_LIST, NULL,
	    portfolio_tickers_done);
}

const struct http_route http_portfolio_routes[] = {
	{ "/api/portfolio/positions", EVHTTP_REQ_GET | EVHTTP_REQ_HEAD,
	    "GET, HEAD", HTTP_AUTH_API, portfolio_list },
	{ "/api/portfolio/positions/*", EVHTTP_REQ_PUT, "PUT", HTTP_AUTH_API,
	    portfolio_put },
	{ "/api/portfolio/positions/*", EVHTTP_REQ_DELETE, "DELETE",
	    HTTP_AUTH_API, portfolio_delete },
	{ "/api/portfolio/summary", EVHTTP_REQ_GET | EVHTTP_REQ_HEAD,
	    "GET, HEAD", HTTP_AUTH_API, portfolio_summary },
	{ NULL, 0, NULL, HTTP_AUTH_NONE, NULL }
};
