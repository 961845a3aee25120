/*
 * The quote endpoints of the http child. Symbols are normalised and checked
 * here, before anything else; the fetcher does the rest. Prices travel as
 * decimal text and are written with json_object_new_double_s, so the JSON
 * number is exactly the provider's.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "benjid.h"
#include "quote.h"

/* One result of an IMSG_QUOTES reply. */
struct quote_reply {
	char		 symbol[QUOTE_SYMBOL_MAX + 1];
	uint64_t	 status;
	char		 price[QUOTE_DECIMAL_MAX];
	char		 change[QUOTE_DECIMAL_MAX];
	char		 percent[QUOTE_DECIMAL_MAX + 1];
	char		 currency[4];
	char		 as_of[QUOTE_DATE_LEN + 1];
	char		 source[16];
	int64_t		 fetched_at;
	int		 stale;
	uint64_t	 retry_after;
	char		 message[QUOTE_MESSAGE_MAX];
};

/* A batch request: what the client listed and what was sent. */
struct quote_batch {
	size_t		 n;
	char		*raw[QUOTES_BATCH_MAX];		/* as given */
	char		 norm[QUOTES_BATCH_MAX][QUOTE_SYMBOL_MAX + 1];
	int		 valid[QUOTES_BATCH_MAX];
	size_t		 sent;				/* distinct symbols */
	char		 unique[QUOTES_BATCH_MAX][QUOTE_SYMBOL_MAX + 1];
};

static const struct {
	const char	*code;
	int		 http;
} quote_errors[] = {
	[QUOTE_OK] =		 { NULL, 200 },
	[QUOTE_NOT_FOUND] =	 { "QUOTE_NOT_FOUND", 404 },
	[QUOTE_RATE_LIMITED] =	 { "PROVIDER_RATE_LIMITED", 503 },
	[QUOTE_PROVIDER_ERROR] = { "PROVIDER_ERROR", 502 },
	[QUOTE_UNAVAILABLE] =	 { "PROVIDER_UNAVAILABLE", 503 },
};

static void
quote_batch_free(void *arg)
{
	struct quote_batch	*qb = arg;
	size_t			 i;

	for (i = 0; i < qb->n; i++)
		free(qb->raw[i]);
	free(qb);
}

/* Reads one result; a malformed reply from the fetcher is fatal. */
static void
quote_reply_read(struct ipc_body *list, struct quote_reply *r)
{
	struct ipc_body	 b;
	char		 check[QUOTE_DECIMAL_MAX];

	/* Only a positive decimal price ever reaches a client. */
	if (ipc_get_array(list, &b, 12) == -1 ||
	    ipc_get_str(&b, r->symbol, sizeof(r->symbol)) == -1 ||
	    ipc_get_u64(&b, &r->status, QUOTE_UNAVAILABLE) == -1 ||
	    ipc_get_str(&b, r->price, sizeof(r->price)) == -1 ||
	    ipc_get_str(&b, r->change, sizeof(r->change)) == -1 ||
	    ipc_get_str(&b, r->percent, sizeof(r->percent)) == -1 ||
	    ipc_get_str(&b, r->currency, sizeof(r->currency)) == -1 ||
	    ipc_get_str(&b, r->as_of, sizeof(r->as_of)) == -1 ||
	    ipc_get_str(&b, r->source, sizeof(r->source)) == -1 ||
	    ipc_get_i64(&b, &r->fetched_at) == -1 ||
	    ipc_get_bool(&b, &r->stale) == -1 ||
	    ipc_get_u64(&b, &r->retry_after, UINT32_MAX) == -1 ||
	    ipc_get_str(&b, r->message, sizeof(r->message)) == -1 ||
	    ipc_get_end(&b) == -1 ||
	    (r->status == QUOTE_OK && (quote_decimal_normalize(r->price,
	    QUOTE_DECIMAL_POSITIVE, check, sizeof(check)) == -1 ||
	    quote_date_check(r->as_of) == -1)))
		fatalx("http: malformed quotes reply from fetcher");
}

static struct json_object *
quote_time(int64_t t)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;
	char		 buf[32];

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return json_object_new_string(buf);
}

/* Writes the percentage as a number, without its '%'. */
static struct json_object *
quote_percent(const char *percent)
{
	char	 buf[64];
	size_t	 len = strlen(percent);

	if (len < 2 || percent[len - 1] != '%')
		return NULL;
	snprintf(buf, sizeof(buf), "%.*s", (int)(len - 1), percent);
	return json_object_new_double_s(0, buf);
}

static struct json_object *
quote_json(const char *symbol, const struct quote_reply *r)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "symbol", json_object_new_string(symbol));
	json_object_object_add(o, "price",
	    json_object_new_double_s(0, r->price));
	if (*r->change != '\0')
		json_object_object_add(o, "change",
		    json_object_new_double_s(0, r->change));
	if (*r->percent != '\0')
		json_object_object_add(o, "change_percent",
		    quote_percent(r->percent));
	if (*r->currency != '\0')
		json_object_object_add(o, "currency",
		    json_object_new_string(r->currency));
	json_object_object_add(o, "as_of", json_object_new_string(r->as_of));
	json_object_object_add(o, "source", json_object_new_string(r->source));
	json_object_object_add(o, "fetched_at", quote_time(r->fetched_at));
	json_object_object_add(o, "stale", json_object_new_boolean(r->stale));
	return o;
}

/*
 * The single quote reply, the busiest one, is written without a json-c
 * tree: building and freeing one cost a few percent of the http child's
 * time. The bytes are those quote_json() would print.
 */
struct quote_text {
	size_t	 len;
	/* Room for each string at 6 bytes per byte (the worst escape). */
	char	 buf[6 * (QUOTE_SYMBOL_MAX + 4 + QUOTE_DATE_LEN + 16 + 32) +
		    3 * QUOTE_DECIMAL_MAX + 256];
};

static void
quote_text_add(struct quote_text *t, const char *s, size_t n)
{
	if (n > sizeof(t->buf) - t->len)
		fatalx("http: quote reply longer than its buffer");
	memcpy(t->buf + t->len, s, n);
	t->len += n;
}

static void
quote_text_raw(struct quote_text *t, const char *s)
{
	quote_text_add(t, s, strlen(s));
}

/* Writes s as a JSON string, escaped as json-c escapes it without "\/". */
static void
quote_text_string(struct quote_text *t, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	char			 esc[6] = { '\\', 'u', '0', '0' };
	unsigned char		 c;

	quote_text_add(t, "\"", 1);
	for (; (c = *s) != '\0'; s++) {
		if (c == '"' || c == '\\') {
			esc[1] = c;
			quote_text_add(t, esc, 2);
		} else if (c < 0x20) {
			esc[1] = 'u';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			switch (c) {
			case '\b':
				quote_text_add(t, "\\b", 2);
				break;
			case '\t':
				quote_text_add(t, "\\t", 2);
				break;
			case '\n':
				quote_text_add(t, "\\n", 2);
				break;
			case '\f':
				quote_text_add(t, "\\f", 2);
				break;
			case '\r':
				quote_text_add(t, "\\r", 2);
				break;
			default:
				quote_text_add(t, esc, 6);
				break;
			}
		} else
			quote_text_add(t, s, 1);
	}
	quote_text_add(t, "\"", 1);
}

static void
quote_text_percent(struct quote_text *t, const char *percent)
{
	size_t	 len = strlen(percent);

	if (len < 2 || percent[len - 1] != '%')
		quote_text_raw(t, "null");
	else
		quote_text_add(t, percent, len - 1);
}

/* A cached quote keeps its fetch time, so the last one formatted is kept. */
static void
quote_text_time(struct quote_text *t, int64_t when)
{
	static int64_t	 last_when;
	static char	 last[32];
	struct tm	 tm;
	time_t		 tt = (time_t)when;

	if (last[0] == '\0' || when != last_when) {
		if (gmtime_r(&tt, &tm) == NULL || strftime(last, sizeof(last),
		    "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
			last[0] = '\0';
			quote_text_raw(t, "null");
			return;
		}
		last_when = when;
	}
	quote_text_string(t, last);
}

static void
quote_reply_one(struct http_req *hr, const char *symbol,
    const struct quote_reply *r)
{
	struct quote_text	 t;
	struct evbuffer		*buf;

	t.len = 0;
	quote_text_raw(&t, "{\"symbol\":");
	quote_text_string(&t, symbol);
	quote_text_raw(&t, ",\"price\":");
	quote_text_raw(&t, r->price);
	if (*r->change != '\0') {
		quote_text_raw(&t, ",\"change\":");
		quote_text_raw(&t, r->change);
	}
	if (*r->percent != '\0') {
		quote_text_raw(&t, ",\"change_percent\":");
		quote_text_percent(&t, r->percent);
	}
	if (*r->currency != '\0') {
		quote_text_raw(&t, ",\"currency\":");
		quote_text_string(&t, r->currency);
	}
	quote_text_raw(&t, ",\"as_of\":");
	quote_text_string(&t, r->as_of);
	quote_text_raw(&t, ",\"source\":");
	quote_text_string(&t, r->source);
	quote_text_raw(&t, ",\"fetched_at\":");
	quote_text_time(&t, r->fetched_at);
	quote_text_raw(&t, r->stale ? ",\"stale\":true}" : ",\"stale\":false}");

	if ((buf = evbuffer_new()) == NULL ||
	    evbuffer_add(buf, t.buf, t.len) == -1) {
		if (buf != NULL)
			evbuffer_free(buf);
		http_reply_empty(hr, 500);
		return;
	}
	http_reply_buffer(hr, 200, "application/json", buf);
}

static struct json_object *
quote_error_json(const char *code, const char *message, const char *symbol)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "code", json_object_new_string(code));
	json_object_object_add(o, "message", json_object_new_string(message));
	json_object_object_add(o, "details", http_json_pair("symbol", symbol));
	return o;
}

static void
quote_reply_error(struct http_req *hr, const struct quote_reply *r,
    const char *symbol)
{
	char	 secs[24];

	if (r->status == QUOTE_RATE_LIMITED) {
		snprintf(secs, sizeof(secs), "%llu", (unsigned long long)
		    (r->retry_after > 0 ? r->retry_after : 60));
		evhttp_add_header(evhttp_request_get_output_headers(hr->req),
		    "Retry-After", secs);
	}
	http_reply_error(hr, quote_errors[r->status].http,
	    quote_errors[r->status].code, *r->message != '\0' ? r->message :
	    "no quote available", http_json_pair("symbol", symbol));
}

static void
quote_one_done(struct http_req *hr, enum procid peer, struct ipc_msg *msg,
    void *arg)
{
	char			*symbol = hr->state;
	struct ipc_body		 b, list;
	struct quote_reply	 r;

	if (msg == NULL) {
		http_reply_error(hr, 503, "PROVIDER_UNAVAILABLE",
		    "the market data service did not respond",
		    http_json_pair("symbol", symbol));
		return;
	}
	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_array(&b, &list, 1) == -1 || list.count != 1)
		fatalx("http: malformed quotes reply from fetcher");
	quote_reply_read(&list, &r);
	if (ipc_get_end(&list) == -1 || ipc_get_end(&b) == -1 ||
	    strcmp(r.symbol, symbol) != 0)
		fatalx("http: malformed quotes reply from fetcher");

	if (r.status == QUOTE_OK)
		quote_reply_one(hr, symbol, &r);
	else
		quote_reply_error(hr, &r, symbol);
	ipc_body_close(&b);
}

/* Asks the fetcher for n distinct symbols; cb gets them in that order. */
static int
quote_send(struct http_req *hr, char (*symbols)[QUOTE_SYMBOL_MAX + 1],
    size_t n, http_ipc_cb cb)
{
	struct ipc_wbuf	 wb;
	size_t		 i;

	ipc_wbuf_init(&wb, 1);
	ipc_put_array(&wb, (uint32_t)n);
	for (i = 0; i < n; i++)
		ipc_put_str(&wb, symbols[i]);
	return http_ipc_request(hr, PROC_FETCHER, IMSG_QUOTES_GET, &wb,
	    QUOTES_IPC_TIMEOUT_MS, cb, NULL);
}

static struct quote_batch *
quote_batch_new(struct http_req *hr)
{
	struct quote_batch	*qb;

	if ((qb = calloc(1, sizeof(*qb))) == NULL) {
		http_reply_error(hr, 503, "UNAVAILABLE", "out of memory", NULL);
		return NULL;
	}
	hr->state = qb;
	hr->state_free = quote_batch_free;
	return qb;
}

/*
 * GET /api/quotes/{symbol}. The state is the normalized symbol alone: a
 * zeroed batch of QUOTES_BATCH_MAX symbols cost more than the rest of the
 * handler.
 */
static void
quote_get(struct http_req *hr)
{
	char		(*symbol)[QUOTE_SYMBOL_MAX + 1];
	const char	*raw = hr->params[0];

	if ((symbol = malloc(sizeof(*symbol))) == NULL) {
		http_reply_error(hr, 503, "UNAVAILABLE", "out of memory", NULL);
		return;
	}
	hr->state = symbol;
	hr->state_free = free;
	if (quote_symbol_normalize(raw, *symbol, sizeof(*symbol)) == -1) {
		http_reply_error(hr, 400, "SYMBOL_INVALID", "invalid symbol: "
		    "expected 1 to 15 letters, digits, '.' or '-', starting "
		    "and ending with a letter or digit",
		    http_json_pair("symbol", raw));
		return;
	}
	if (quote_send(hr, symbol, 1, quote_one_done) == -1)
		http_reply_error(hr, 503, "PROVIDER_UNAVAILABLE",
		    "the market data service is not running",
		    http_json_pair("symbol", *symbol));
}

static void
quote_batch_done(struct http_req *hr, enum procid peer, struct ipc_msg *msg,
    void *arg)
{
	struct quote_batch	*qb = hr->state;
	struct quote_reply	 r[QUOTES_BATCH_MAX];
	struct json_object	*body, *arr, *item;
	struct ipc_body		 b, list;
	size_t			 i, j;

	if (msg == NULL) {
		http_reply_error(hr, 503, "PROVIDER_UNAVAILABLE",
		    "the market data service did not respond", NULL);
		return;
	}
	if (ipc_body_open(&b, msg) == -1 ||
	    ipc_get_array(&b, &list, QUOTES_BATCH_MAX) == -1 ||
	    list.count != qb->sent)
		fatalx("http: malformed quotes reply from fetcher");
	for (i = 0; i < qb->sent; i++) {
		quote_reply_read(&list, &r[i]);
		if (strcmp(r[i].symbol, qb->unique[i]) != 0)
			fatalx("http: quotes reply from fetcher out of order");
	}
	if (ipc_get_end(&list) == -1 || ipc_get_end(&b) == -1)
		fatalx("http: malformed quotes reply from fetcher");

	arr = json_object_new_array();
	for (i = 0; i < qb->n; i++) {
		if (!qb->valid[i]) {
			item = quote_error_json("SYMBOL_INVALID",
			    "invalid symbol", qb->raw[i]);
		} else {
			for (j = 0; strcmp(qb->unique[j], qb->norm[i]); j++)
				;
			item = r[j].status == QUOTE_OK ?
			    quote_json(qb->norm[i], &r[j]) :
			    quote_error_json(quote_errors[r[j].status].code,
			    r[j].message, qb->norm[i]);
		}
		json_object_array_add(arr, item);
	}
	body = json_object_new_object();
	json_object_object_add(body, "quotes", arr);
	ipc_body_close(&b);
	http_reply_json(hr, 200, body);
}

/* Splits the symbols parameter; each symbol goes upstream once. */
static int
quote_batch_parse(struct quote_batch *qb, const char *list)
{
	const char	*s = list;
	size_t		 len, j;

	for (;;) {
		len = strcspn(s, ",");
		if (qb->n == QUOTES_BATCH_MAX)
			return -1;
		if ((qb->raw[qb->n] = strndup(s, len)) == NULL)
			return -1;
		qb->valid[qb->n] = quote_symbol_normalize(qb->raw[qb->n],
		    qb->norm[qb->n], sizeof(qb->norm[0])) == 0;
		if (qb->valid[qb->n]) {
			for (j = 0; j < qb->sent; j++)
				if (strcmp(qb->unique[j], qb->norm[qb->n]) == 0)
					break;
			if (j == qb->sent)
				memcpy(qb->unique[qb->sent++],
				    qb->norm[qb->n], sizeof(qb->unique[0]));
		}
		qb->n++;
		if (s[len] == '\0')
			return 0;
		s += len + 1;
	}
}

static void
quote_index(struct http_req *hr)
{
	struct json_object	*body = json_object_new_object();
	struct json_object	*links = json_object_new_object();

	json_object_object_add(links, "quote",
	    json_object_new_string("/api/quotes/{symbol}"));
	json_object_object_add(links, "batch",
	    json_object_new_string("/api/quotes?symbols={symbol},{symbol}"));
	json_object_object_add(body, "endpoints", links);
	json_object_object_add(body, "max_symbols",
	    json_object_new_int(QUOTES_BATCH_MAX));
	http_reply_json(hr, 200, body);
}

/* GET /api/quotes and GET /api/quotes?symbols=A,B,C */
static void
quote_list(struct http_req *hr)
{
	struct quote_batch	*qb;
	const char		*list;
	int			 found;
	size_t			 i;

	if ((found = http_query(hr, "symbols", &list)) == -1)
		return;
	if (found == 0) {
		quote_index(hr);
		return;
	}
	if ((qb = quote_batch_new(hr)) == NULL)
		return;
	if (quote_batch_parse(qb, list) == -1) {
		http_reply_error(hr, 400, "SYMBOLS_TOO_MANY", "at most 50 "
		    "comma-separated symbols per request",
		    http_json_pair("symbols", list));
		return;
	}
	if (qb->sent == 0) {
		for (i = 0; i < qb->n && qb->valid[i]; i++)
			;
		http_reply_error(hr, 400, "SYMBOL_INVALID", "no valid symbol "
		    "in the list", http_json_pair("symbol", qb->raw[i]));
		return;
	}
	if (quote_send(hr, qb->unique, qb->sent, quote_batch_done) == -1)
		http_reply_error(hr, 503, "PROVIDER_UNAVAILABLE",
		    "the market data service is not running", NULL);
}

const struct http_route http_quote_routes[] = {
	{ "/api/quotes", EVHTTP_REQ_GET, "GET", HTTP_AUTH_API, quote_list },
	{ "/api/quotes/*", EVHTTP_REQ_GET, "GET", HTTP_AUTH_API, quote_get },
	{ NULL, 0, NULL, HTTP_AUTH_NONE, NULL }
};
