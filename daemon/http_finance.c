/*
 * The finance endpoints of the http child: transactions and the spend of
 * the current month. Amounts stay decimal text from JSON to SQL and back.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <json-c/json.h>

#include "benjid.h"
#include "db.h"

#define FINANCE_LIMIT_DEFAULT	50
#define FINANCE_LIMIT_MAX	500
#define FINANCE_ID_MAX		36
#define FINANCE_CATEGORY_MAX	64
#define FINANCE_DESCRIPTION_MAX	255
#define FINANCE_NOTES_MAX	4096

static void
finance_invalid(struct http_req *hr, const char *field, const char *value,
    const char *message)
{
	struct json_object	*details = json_object_new_object();

	json_object_object_add(details, "field", json_object_new_string(field));
	json_object_object_add(details, "value",
	    value ? json_object_new_string(value) : NULL);
	http_reply_error(hr, 400, "INVALID_FIELD", message, details);
}

static struct json_object *
finance_transaction_json(const struct db_rows *r, uint32_t i)
{
	struct json_object	*t = json_object_new_object();

	json_object_object_add(t, "id", http_json_text(db_rows_get(r, i, 0)));
	json_object_object_add(t, "posted_at",
	    http_json_text(db_rows_get(r, i, 1)));
	json_object_object_add(t, "description",
	    http_json_text(db_rows_get(r, i, 2)));
	json_object_object_add(t, "amount",
	    http_json_decimal(db_rows_get(r, i, 3)));
	json_object_object_add(t, "category",
	    http_json_text(db_rows_get(r, i, 4)));
	json_object_object_add(t, "notes",
	    http_json_text(db_rows_get(r, i, 5)));
	return t;
}

static void
finance_list_done(struct http_req *hr, struct db_rows *r)
{
	struct json_object	*list;
	uint32_t		 i;

	if (r->nrows == 0) {
		http_reply_empty(hr, 204);
		return;
	}
	list = json_object_new_array();
	for (i = 0; i < r->nrows; i++)
		json_object_array_add(list, finance_transaction_json(r, i));
	http_reply_json(hr, 200, list);
}

/* GET ?limit=1..500&category=: the category compared trimmed, any case. */
static void
finance_list(struct http_req *hr)
{
	struct ipc_wbuf	 wb;
	const char	*limit_text, *category;
	char		 trimmed[FINANCE_CATEGORY_MAX + 1], *end;
	unsigned long	 limit = FINANCE_LIMIT_DEFAULT;
	size_t		 len;
	int		 r;

	if ((r = http_query(hr, "limit", &limit_text)) == -1 ||
	    http_query(hr, "category", &category) == -1)
		return;
	if (r == 1) {
		limit = strtoul(limit_text, &end, 10);
		if (!isdigit((unsigned char)*limit_text) || *end != '\0' ||
		    strlen(limit_text) > 4 || limit < 1 ||
		    limit > FINANCE_LIMIT_MAX) {
			finance_invalid(hr, "limit", limit_text,
			    "invalid limit: expected 1 to 500");
			return;
		}
	}
	trimmed[0] = '\0';
	if (category != NULL) {
		while (isspace((unsigned char)*category))
			category++;
		len = strlen(category);
		while (len > 0 && isspace((unsigned char)category[len - 1]))
			len--;
		if (len > FINANCE_CATEGORY_MAX) {
			finance_invalid(hr, "category", category,
			    "invalid category: at most 64 characters");
			return;
		}
		memcpy(trimmed, category, len);
		trimmed[len] = '\0';
	}
	ipc_wbuf_init(&wb, 2);
	ipc_put_u64(&wb, limit);
	ipc_put_str(&wb, trimmed);
	http_db_request(hr, IMSG_DB_TRANSACTIONS_LIST, &wb, finance_list_done);
}

/*
 * Reads an optional string field: returns 0 with *out NULL when absent or
 * null, or -1 after answering 400.
 */
static int
finance_text_field(struct http_req *hr, struct json_object *obj,
    const char *field, size_t max, const char **out)
{
	struct json_object	*v;
	char			 msg[128];

	*out = NULL;
	if (!json_object_object_get_ex(obj, field, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) !=
	    strlen(json_object_get_string(v)) ||
	    strlen(json_object_get_string(v)) > max) {
		snprintf(msg, sizeof(msg), "invalid %s: expected a string of "
		    "at most %zu bytes", field, max);
		finance_invalid(hr, field, json_object_get_string(v), msg);
		return -1;
	}
	*out = json_object_get_string(v);
	return 0;
}

/* Accepts YYYY-MM-DD, or a date and time with Z or a UTC offset. */
static int
finance_timestamp_valid(const char *s)
{
	static const char	 date[] = "dddd-dd-dd";
	size_t			 i, len = strlen(s);

	if (len < 10 || len > 35)
		return 0;
	for (i = 0; i < 10; i++)
		if (date[i] == 'd' ? !isdigit((unsigned char)s[i]) :
		    s[i] != date[i])
			return 0;
	if (len == 10)
		return 1;
	if (s[10] != 'T' || s[len - 1] == 'T')
		return 0;
	return s[strspn(s + 11, "0123456789:.+-Z") + 11] == '\0' &&
	    (s[len - 1] == 'Z' || strchr(s + 11, '+') != NULL ||
	    strchr(s + 11, '-') != NULL);
}

static void
finance_write_done(struct http_req *hr, struct db_rows *r)
{
	if (r->status == DB_NOT_FOUND) {
		http_reply_error(hr, 404, "TRANSACTION_NOT_FOUND",
		    "no transaction with this id",
		    http_json_pair("id", hr->params[0]));
		return;
	}
	if (r->status == DB_INVALID || r->nrows != 1) {
		http_reply_error(hr, 400, "INVALID_FIELD", r->message,
		    NULL);
		return;
	}
	http_reply_json(hr, evhttp_request_get_command(hr->req) ==
	    EVHTTP_REQ_POST ? 201 : 200, finance_transaction_json(r, 0));
}

static void
finance_create(struct http_req *hr)
{
	struct json_object	*body, *v;
	struct ipc_wbuf		 wb;
	const char		*posted, *desc, *amount, *category, *notes;

	if ((body = http_json_body(hr)) == NULL)
		return;
	if (!json_object_object_get_ex(body, "posted_at", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !finance_timestamp_valid(posted = json_object_get_string(v))) {
		finance_invalid(hr, "posted_at", v ? json_object_get_string(v) :
		    NULL, "invalid posted_at: expected an ISO-8601 date, or a "
		    "date and time with Z or an offset");
		json_object_put(body);
		return;
	}
	if (http_json_decimal_field(hr, body, "amount", 18, 2, 1,
	    &amount) == -1 || finance_text_field(hr, body, "description",
	    FINANCE_DESCRIPTION_MAX, &desc) == -1 ||
	    finance_text_field(hr, body, "category", FINANCE_CATEGORY_MAX,
	    &category) == -1 || finance_text_field(hr, body, "notes",
	    FINANCE_NOTES_MAX, &notes) == -1) {
		json_object_put(body);
		return;
	}
	ipc_wbuf_init(&wb, 5);
	ipc_put_str(&wb, posted);
	desc ? ipc_put_str(&wb, desc) : ipc_put_nil(&wb);
	ipc_put_str(&wb, amount);
	category ? ipc_put_str(&wb, category) : ipc_put_nil(&wb);
	notes ? ipc_put_str(&wb, notes) : ipc_put_nil(&wb);
	json_object_put(body);
	http_db_request(hr, IMSG_DB_TRANSACTION_CREATE, &wb,
	    finance_write_done);
}

/* PATCH {category, notes}: a field given as null clears it. */
static void
finance_patch(struct http_req *hr)
{
	struct json_object	*body;
	struct ipc_wbuf		 wb;
	const char		*category, *notes;
	int			 set_category, set_notes;

	if (strlen(hr->params[0]) > FINANCE_ID_MAX) {
		finance_invalid(hr, "id", hr->params[0],
		    "invalid id: at most 36 characters");
		return;
	}
	if ((body = http_json_body(hr)) == NULL)
		return;
	json_object_object_foreach(body, key, val) {
		(void)val;
		if (strcmp(key, "category") != 0 && strcmp(key, "notes") != 0) {
			finance_invalid(hr, key, NULL, "unknown field: only "
			    "category and notes can change");
			json_object_put(body);
			return;
		}
	}
	set_category = json_object_object_get_ex(body, "category", NULL);
	set_notes = json_object_object_get_ex(body, "notes", NULL);
	if (!set_category && !set_notes) {
		finance_invalid(hr, "category", NULL,
		    "nothing to change: give category, notes or both");
		json_object_put(body);
		return;
	}
	if (finance_text_field(hr, body, "category", FINANCE_CATEGORY_MAX,
	    &category) == -1 || finance_text_field(hr, body, "notes",
	    FINANCE_NOTES_MAX, &notes) == -1) {
		json_object_put(body);
		return;
	}
	ipc_wbuf_init(&wb, 5);
	ipc_put_str(&wb, hr->params[0]);
	ipc_put_bool(&wb, set_category);
	category ? ipc_put_str(&wb, category) : ipc_put_nil(&wb);
	ipc_put_bool(&wb, set_notes);
	notes ? ipc_put_str(&wb, notes) : ipc_put_nil(&wb);
	json_object_put(body);
	http_db_request(hr, IMSG_DB_TRANSACTION_PATCH, &wb,
	    finance_write_done);
}

static void
finance_summary_done(struct http_req *hr, struct db_rows *r)
{
	struct json_object	*body, *cats, *c;
	char			 now[40];
	uint32_t		 i, t;

	if (http_db_totals(hr, r, &t) == -1)
		return;
	cats = json_object_new_array();
	for (i = 0; i < t; i++) {
		c = json_object_new_object();
		json_object_object_add(c, "category",
		    http_json_text(db_rows_get(r, i, 0)));
		json_object_object_add(c, "spend",
		    http_json_decimal(db_rows_get(r, i, 1)));
		json_object_object_add(c, "income",
		    http_json_decimal(db_rows_get(r, i, 2)));
		json_object_array_add(cats, c);
	}
	http_now_iso(now, sizeof(now));
	body = json_object_new_object();
	json_object_object_add(body, "as_of", json_object_new_string(now));
	json_object_object_add(body, "month_start",
	    http_json_text(db_rows_get(r, t, 5)));
	json_object_object_add(body, "month_to_date_spend",
	    http_json_decimal(db_rows_get(r, t, 1)));
	json_object_object_add(body, "month_to_date_income",
	    http_json_decimal(db_rows_get(r, t, 2)));
	json_object_object_add(body, "average_daily_spend",
	    http_json_decimal(db_rows_get(r, t, 3)));
	json_object_object_add(body, "projected_month_end_spend",
	    http_json_decimal(db_rows_get(r, t, 4)));
	json_object_object_add(body, "days_elapsed",
	    http_json_decimal(db_rows_get(r, t, 6)));
	json_object_object_add(body, "days_in_month",
	    http_json_decimal(db_rows_get(r, t, 7)));
	json_object_object_add(body, "categories", cats);
	http_reply_json(hr, 200, body);
}

static void
finance_summary(struct http_req *hr)
{
	http_db_request(hr, IMSG_DB_FINANCE_SUMMARY, NULL,
	    finance_summary_done);
}

const struct http_route http_finance_routes[] = {
	{ "/api/finance/summary", EVHTTP_REQ_GET | EVHTTP_REQ_HEAD,
	    "GET, HEAD", HTTP_AUTH_API, finance_summary },
	{ "/api/finance/transactions", EVHTTP_REQ_GET | EVHTTP_REQ_HEAD,
	    "GET, HEAD", HTTP_AUTH_API, finance_list },
	{ "/api/finance/transactions", EVHTTP_REQ_POST, "POST",
	    HTTP_AUTH_API, finance_create },
	{ "/api/finance/transactions/*", EVHTTP_REQ_PATCH, "PATCH",
	    HTTP_AUTH_API, finance_patch },
	{ NULL, 0, NULL, HTTP_AUTH_NONE, NULL }
};
