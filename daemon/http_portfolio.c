/*
 * The portfolio endpoints of the http child: positions, and a summary that
 * values them with quotes from the fetcher. Every sum is computed by
 * PostgreSQL in numeric; this file only moves decimal text.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "benjid.h"
#include "db.h"
#include "jsonwriter.h"
#include "portfolio_json.h"

#define TICKER_MAX	12
#define POSITIONS_MAX	1000
#define PRICE_MAX	63
/* About the bytes of one position in a reply, to size its buffer once. */
#define POSITION_JSON_SIZE	96
#define SUMMARY_POSITION_JSON_SIZE	256

/* A quote as the summary uses it. */
struct portfolio_quote {
	char		 ticker[TICKER_MAX + 1];
	char		 price[PRICE_MAX + 1];	/* "" when there is none */
	int		 stale;
	const char	*status;	/* OK, NOT_FOUND, ...; NULL when none */
};

/*
 * A summary in progress. The cash balances are requested at the start,
 * beside the positions, and the reply goes out once both the valued
 * positions and the cash balances are written.
 */
struct portfolio_summary {
	struct portfolio_quote	*quotes;
	size_t			 nquotes;
	size_t			*slots;		/* index + 1 into quotes, 0 free */
	size_t			 nslots;	/* a power of two */
	unsigned int		 waiting;	/* quote batches in flight */
	struct jsonwriter	 body;		/* open until the cash comes */
	struct jsonwriter	 cash;
	int			 valued;
	int			 cash_done;
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

static void
portfolio_text_free(const void *text, size_t len, void *arg)
{
	free((void *)text);
}

/* Sends the JSON text of w, which it takes over, then frees hr. */
static void
portfolio_reply(struct http_req *hr, int status, struct jsonwriter *w)
{
	struct evbuffer	*buf;
	char		*text;
	size_t		 len;

	if ((text = jsonwriter_release(w, &len)) == NULL) {
		http_reply_empty(hr, 500);
		return;
	}
	if ((buf = evbuffer_new()) == NULL || evbuffer_add_reference(buf,
	    text, len, portfolio_text_free, NULL) == -1) {
		free(text);
		if (buf != NULL)
			evbuffer_free(buf);
		http_reply_empty(hr, 500);
		return;
	}
	http_reply_buffer(hr, status, "application/json", buf);
}

static void
portfolio_list_done(struct http_req *hr, struct db_rows *r)
{
	struct jsonwriter	 w;
	char			 now[40];

	if (r->nrows == 0) {
		http_reply_empty(hr, 204);
		return;
	}
	http_now_iso(now, sizeof(now));
	jsonwriter_init(&w, (size_t)r->nrows * POSITION_JSON_SIZE);
	portfolio_json_positions(&w, r, now);
	portfolio_reply(hr, 200, &w);
}

static void
portfolio_list(struct http_req *hr)
{
	http_db_request(hr, IMSG_DB_POSITIONS_LIST, NULL, portfolio_list_done);
}

static void
portfolio_put_done(struct http_req *hr, struct db_rows *r)
{
	struct jsonwriter	 w;
	const char		*created;

	if (r->status != DB_OK || r->nrows != 1) {
		http_reply_error(hr, 400, "INVALID_FIELD", r->message[0] ?
		    r->message : "invalid position", NULL);
		return;
	}
	created = db_rows_get(r, 0, 3);
	jsonwriter_init(&w, POSITION_JSON_SIZE);
	portfolio_json_position(&w, r, 0);
	portfolio_reply(hr, created && strcmp(created, "t") == 0 ? 201 : 200,
	    &w);
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
	jsonwriter_free(&s->body);
	jsonwriter_free(&s->cash);
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

/* Replies once the valued positions and the cash balances are written. */
static void
portfolio_summary_finish(struct http_req *hr)
{
	struct portfolio_summary	*s = hr->state;

	if (!s->valued || !s->cash_done)
		return;
	portfolio_json_summary_end(&s->body, &s->cash);
	portfolio_reply(hr, 200, &s->body);
}

/*
 * Finds the quote of ticker, trying index first: the fetcher returns
 * quotes in the order requested, and the summary lists positions in the
 * order of the list unless a position came or went in between.
 */
static struct portfolio_quote *
portfolio_quote_at(struct portfolio_summary *s, size_t index,
    const char *ticker)
{
	if (ticker != NULL && index < s->nquotes &&
	    strcmp(s->quotes[index].ticker, ticker) == 0)
		return &s->quotes[index];
	return portfolio_quote_find(s, ticker);
}

static void
portfolio_cash_done(struct http_req *hr, struct db_rows *r)
{
	struct portfolio_summary	*s = hr->state;

	jsonwriter_init(&s->cash, (size_t)r->nrows * 128);
	portfolio_json_cash(&s->cash, r);
	s->cash_done = 1;
	portfolio_summary_finish(hr);
}

/* The quote status of a position: its price from SQL, its quote here. */
static const char *
portfolio_position_status(struct portfolio_summary *s,
    const struct db_rows *r, uint32_t i)
{
	struct portfolio_quote	*q;

	q = portfolio_quote_at(s, i, db_rows_get(r, i, 0));
	if (db_rows_get(r, i, 3) == NULL)
		return q != NULL && q->status != NULL ? q->status : "MISSING";
	return q != NULL && q->stale ? "STALE" : "OK";
}

static void
portfolio_valued(struct http_req *hr, struct db_rows *r)
{
	struct portfolio_summary	*s = hr->state;
	const char			**statuses;
	char				 now[40];
	uint32_t			 i, t;

	if (http_db_totals(hr, r, &t) == -1)
		return;
	if (t == 0) {
		http_reply_empty(hr, 204);
		return;
	}
	if ((statuses = calloc(t, sizeof(*statuses))) == NULL) {
		http_reply_error(hr, 503, "UNAVAILABLE", "out of memory", NULL);
		return;
	}
	for (i = 0; i < t; i++)
		statuses[i] = portfolio_position_status(s, r, i);
	http_now_iso(now, sizeof(now));
	jsonwriter_init(&s->body, (size_t)t * SUMMARY_POSITION_JSON_SIZE);
	portfolio_json_summary(&s->body, r, now, statuses);
	free(statuses);
	s->valued = 1;
	portfolio_summary_finish(hr);
}

/* Appends one element to an array literal that has room for it. */
static void
portfolio_literal_add(char *lit, size_t *len, const char *elem, int quoted)
{
	size_t	 n = strlen(elem);
	char	 sep = *len == 0 ? '{' : ',';

	lit[(*len)++] = sep;
	if (quoted)
		lit[(*len)++] = '"';
	memcpy(lit + *len, elem, n);
	*len += n;
	if (quoted)
		lit[(*len)++] = '"';
}

static void
portfolio_literal_end(char *lit, size_t *len)
{
	if (*len == 0)
		lit[(*len)++] = '{';
	lit[(*len)++] = '}';
}

/*
 * Asks the db child to value the positions with the quotes gathered,
 * sent as the three array literals that the statement unnests: tickers,
 * prices and stale flags. Tickers and prices were validated, so no
 * element needs escaping.
 */
static void
portfolio_value(struct http_req *hr)
{
	struct portfolio_summary	*s = hr->state;
	struct ipc_wbuf			 wb;
	char				*lit[3];
	size_t				 i, len[3] = { 0, 0, 0 };
	size_t				 room[3] = { TICKER_MAX + 3,
					    PRICE_MAX + 1, 2 };

	lit[0] = malloc(room[0] * (s->nquotes + 1));
	lit[1] = malloc(room[1] * (s->nquotes + 1));
	lit[2] = malloc(room[2] * (s->nquotes + 1));
	if (lit[0] == NULL || lit[1] == NULL || lit[2] == NULL) {
		for (i = 0; i < 3; i++)
			free(lit[i]);
		http_reply_error(hr, 503, "UNAVAILABLE", "out of memory", NULL);
		return;
	}
	for (i = 0; i < s->nquotes; i++) {
		if (s->quotes[i].price[0] == '\0')
			continue;
		portfolio_literal_add(lit[0], &len[0], s->quotes[i].ticker, 1);
		portfolio_literal_add(lit[1], &len[1], s->quotes[i].price, 0);
		portfolio_literal_add(lit[2], &len[2],
		    s->quotes[i].stale ? "t" : "f", 0);
	}
	ipc_wbuf_init(&wb, 3);
	for (i = 0; i < 3; i++) {
		portfolio_literal_end(lit[i], &len[i]);
		ipc_put_strn(&wb, lit[i], len[i]);
		free(lit[i]);
	}
	http_db_request(hr, IMSG_DB_PORTFOLIO_SUMMARY, &wb, portfolio_valued);
}

/*
 * Reads one quote of the fetcher's reply: [str symbol, u quote_status,
 * str price, str change, str change_percent, str currency, str as_of,
 * str source, i fetched_at, b stale, u retry_after, str message]. Only
 * the symbol, status, price and stale flag matter here; the rest is
 * checked and skipped without a copy.
 */
static void
portfolio_quote_read(struct ipc_body *list, char *symbol, uint64_t *status,
    char *price, int *stale)
{
	struct ipc_body	 item;
	const char	*p;
	size_t		 len, symlen;
	uint64_t	 u;
	int64_t		 i64;
	int		 i;

	if (ipc_get_array(list, &item, 12) == -1 ||
	    ipc_get_strp(&item, &p, &symlen, 31) == -1)
		fatalx("http: malformed quote from fetcher");
	memcpy(symbol, p, symlen);
	symbol[symlen] = '\0';
	if (ipc_get_u64(&item, status, QUOTE_UNAVAILABLE) == -1 ||
	    ipc_get_strp(&item, &p, &len, PRICE_MAX) == -1)
		fatalx("http: malformed quote from fetcher");
	memcpy(price, p, len);
	price[len] = '\0';
	/* change, percent, currency, as_of, source */
	for (i = 0; i < 5; i++)
		if (ipc_get_strp(&item, &p, &len, 255) == -1)
			fatalx("http: malformed quote");
	if (ipc_get_i64(&item, &i64) == -1 ||
	    ipc_get_bool(&item, stale) == -1 ||
	    ipc_get_u64(&item, &u, UINT32_MAX) == -1 ||
	    ipc_get_strp(&item, &p, &len, 255) == -1 ||
	    ipc_get_end(&item) == -1)
		fatalx("http: malformed quote from fetcher");
}

/* Stores the fetcher's answer for one batch; a bad price counts as none. */
static void
portfolio_quotes_done(struct http_req *hr, enum procid peer,
    struct ipc_msg *msg, void *arg)
{
	struct portfolio_summary	*s = hr->state;
	struct portfolio_quote		*q;
	struct ipc_body			 b, list;
	char				 symbol[32], price[PRICE_MAX + 1];
	uint64_t			 status;
	size_t				 first = (uintptr_t)arg;
	int				 stale;
	uint32_t			 i;

	if (msg != NULL) {
		if (ipc_body_open(&b, msg) == -1 ||
		    ipc_get_array(&b, &list, QUOTES_BATCH_MAX) == -1)
			fatalx("http: malformed quotes from fetcher");
		for (i = 0; i < list.count; i++) {
			portfolio_quote_read(&list, symbol, &status, price,
			    &stale);
			if ((q = portfolio_quote_at(s, first + i, symbol)) ==
			    NULL)
				continue;
			q->status = portfolio_quote_states[status];
			if (status == QUOTE_OK &&
			    http_decimal_valid(price, 18, 6, 0))
				memcpy(q->price, price, strlen(price) + 1);
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
	const char			*ticker;
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
		if ((ticker = db_rows_get(r, i, 0)) != NULL)
			memcpy(s->quotes[i].ticker, ticker,
			    strnlen(ticker, TICKER_MAX));
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
		    QUOTES_IPC_TIMEOUT_MS, portfolio_quotes_done,
		    (void *)(uintptr_t)i) == 0)
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
	if (http_db_request(hr, IMSG_DB_POSITIONS_LIST, NULL,
	    portfolio_tickers_done) == -1)
		return;
	http_db_request(hr, IMSG_DB_CASH_BALANCES, NULL, portfolio_cash_done);
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
