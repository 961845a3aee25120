/*
 * The http child's requests to the db child, and the exact decimals that
 * cross between JSON and PostgreSQL as text.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "benjid.h"
#include "db.h"

/* Above the default statement timeout, so the db child answers first. */
#define HTTP_DB_TIMEOUT_MS	15000

static void
http_db_done(struct http_req *hr, enum procid peer, struct ipc_msg *msg,
    void *arg)
{
	http_db_cb	 cb = (http_db_cb)arg;
	struct db_rows	 r;

	if (msg == NULL) {
		http_reply_error(hr, 503, "DATABASE_UNAVAILABLE",
		    "the database is unavailable", NULL);
		return;
	}
	db_rows_decode(msg, &r);
	switch (r.status) {
	case DB_UNAVAILABLE:
		http_reply_error(hr, 503, "DATABASE_UNAVAILABLE",
		    "the database is unavailable",
		    http_json_pair("reason", r.message));
		break;
	case DB_FAILED:
		http_reply_error(hr, 500, "DATABASE_ERROR",
		    "the database rejected the request", NULL);
		break;
	default:
		cb(hr, &r);
		break;
	}
	db_rows_free(&r);
}

/*
 * Sends one request to the db child. cb runs with DB_OK, DB_NOT_FOUND or
 * DB_INVALID results; an unavailable database or an SQL failure is
 * answered here. Returns -1 after answering 503 when nothing was sent.
 */
int
http_db_request(struct http_req *hr, uint32_t type, struct ipc_wbuf *wb,
    http_db_cb cb)
{
	return http_db_request_wait(hr, type, wb, HTTP_DB_TIMEOUT_MS, cb);
}

/* As http_db_request, waiting timeout_ms for the answer. */
int
http_db_request_wait(struct http_req *hr, uint32_t type, struct ipc_wbuf *wb,
    unsigned int timeout_ms, http_db_cb cb)
{
	/*
	 * The callback travels as the argument itself. An allocated one would
	 * leak when another reply goes to the client first, because the
	 * pending request is then dropped with the client request.
	 */
	if (http_ipc_request(hr, PROC_DB, type, wb, timeout_ms,
	    http_db_done, (void *)cb) == -1) {
		http_reply_error(hr, 503, "DATABASE_UNAVAILABLE",
		    "the database is unavailable", NULL);
		return -1;
	}
	return 0;
}

/* An exact decimal number from PostgreSQL's text, or null. */
struct json_object *
http_json_decimal(const char *text)
{
	if (text == NULL)
		return NULL;
	return json_object_new_double_s(0, text);
}

struct json_object *
http_json_text(const char *text)
{
	if (text == NULL)
		return NULL;
	return json_object_new_string(text);
}

void
http_now_iso(char *buf, size_t size)
{
	struct timespec	 ts;
	struct tm	 tm;
	char		 base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

/*
 * Checks a plain decimal: an optional '-' when negative is allowed, at
 * most digits - scale digits before the point and scale after it. No
 * exponent, no '+', no spaces: such text would reach SQL unchanged.
 */
int
http_decimal_valid(const char *s, int digits, int scale, int negative)
{
	const char	*start;
	int		 before, after = 0;

	if (*s == '-' && negative)
		s++;
	if (!isdigit((unsigned char)*s))
		return 0;
	while (*s == '0' && isdigit((unsigned char)s[1]))
		s++;
	for (start = s; isdigit((unsigned char)*s); s++)
		;
	before = *start == '0' ? 0 : (int)(s - start);
	if (*s == '.') {
		for (start = ++s; isdigit((unsigned char)*s); s++)
			;
		if ((after = (int)(s - start)) == 0)
			return 0;
	}
	return *s == '\0' && before <= digits - scale && after <= scale;
}

/* Parses the request body as one JSON object, or answers 400 itself. */
struct json_object *
http_json_body(struct http_req *hr)
{
	struct evbuffer		*buf = http_body(hr);
	struct json_tokener	*tok;
	struct json_object	*obj = NULL;
	size_t			 len = evbuffer_get_length(buf);
	const char		*text;

	/* The edge already held the body to http max-body-size. */
	text = (const char *)evbuffer_pullup(buf, -1);
	if ((tok = json_tokener_new()) != NULL && text != NULL) {
		obj = json_tokener_parse_ex(tok, text, len);
		if (json_tokener_get_error(tok) != json_tokener_success ||
		    json_tokener_get_parse_end(tok) != len) {
			json_object_put(obj);
			obj = NULL;
		}
	}
	if (tok != NULL)
		json_tokener_free(tok);
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		http_reply_error(hr, 400, "INVALID_BODY",
		    "expected a JSON object", NULL);
		return NULL;
	}
	return obj;
}

static void
http_reply_invalid(struct http_req *hr, const char *field, const char *value,
    const char *message)
{
	struct json_object	*details = json_object_new_object();

	json_object_object_add(details, "field", json_object_new_string(field));
	json_object_object_add(details, "value", value ?
	    json_object_new_string(value) : NULL);
	http_reply_error(hr, 400, "INVALID_FIELD", message, details);
}

/*
 * Reads a decimal field, given as a JSON number or string, keeping its
 * exact text. Returns 0 with *out set, or -1 after answering 400.
 */
int
http_json_decimal_field(struct http_req *hr, struct json_object *obj,
    const char *field, int digits, int scale, int negative, const char **out)
{
	struct json_object	*v;
	const char		*text;
	char			 msg[160];

	*out = NULL;
	if (!json_object_object_get_ex(obj, field, &v) || v == NULL) {
		snprintf(msg, sizeof(msg), "missing field %s", field);
		http_reply_invalid(hr, field, NULL, msg);
		return -1;
	}
	text = json_object_get_string(v);
	if ((!json_object_is_type(v, json_type_double) &&
	    !json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_string)) ||
	    (json_object_is_type(v, json_type_string) &&
	    (size_t)json_object_get_string_len(v) != strlen(text)) ||
	    !http_decimal_valid(text, digits, scale, negative)) {
		snprintf(msg, sizeof(msg), "invalid %s: expected a %sdecimal "
		    "with at most %d digits before the point and %d after it",
		    field, negative ? "" : "non-negative ", digits - scale,
		    scale);
		http_reply_invalid(hr, field, text, msg);
		return -1;
	}
	*out = text;
	return 0;
}

/*
 * Finds the totals row of a summary: the last row, whose first column is
 * NULL. Sets *t to its index, or answers 500 and returns -1 when the
 * result has none.
 */
int
http_db_totals(struct http_req *hr, const struct db_rows *r, uint32_t *t)
{
	if (r->nrows < 1 || db_rows_get(r, r->nrows - 1, 0) != NULL) {
		http_reply_error(hr, 500, "DATABASE_ERROR",
		    "invalid summary from the database", NULL);
		return -1;
	}
	*t = r->nrows - 1;
	return 0;
}
