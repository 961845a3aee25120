/*
 * The bodies of the portfolio replies. They used to be json-c trees, and
 * a summary of 1,000 positions made about 9,000 objects: building,
 * printing and freeing them was most of the http child's work for it.
 * The bytes are those of the trees, with keys in the same order, decimals
 * as PostgreSQL wrote them and SQL NULL as null.
 */

#include <string.h>

#include "db.h"
#include "jsonwriter.h"
#include "portfolio_json.h"

/* Writes key, a constant such as ",\"price\":", then the decimal or null. */
#define PORTFOLIO_JSON_DECIMAL(w, key, text) do {			\
	JSONWRITER_CONST((w), key);					\
	jsonwriter_number((w), (text));					\
} while (0)

/* A position object without its closing brace, to which more fields go. */
static void
portfolio_json_position_open(struct jsonwriter *w, const struct db_rows *r,
    uint32_t i)
{
	JSONWRITER_CONST(w, "{\"ticker\":");
	jsonwriter_string(w, db_rows_get(r, i, 0));
	PORTFOLIO_JSON_DECIMAL(w, ",\"quantity\":", db_rows_get(r, i, 1));
	PORTFOLIO_JSON_DECIMAL(w, ",\"cost_basis\":", db_rows_get(r, i, 2));
}

/* A position from columns ticker, quantity and cost basis. */
void
portfolio_json_position(struct jsonwriter *w, const struct db_rows *r,
    uint32_t i)
{
	portfolio_json_position_open(w, r, i);
	jsonwriter_raw(w, "}", 1);
}

/* The list of positions, one per row, as of now. */
void
portfolio_json_positions(struct jsonwriter *w, const struct db_rows *r,
    const char *now)
{
	uint32_t	 i;

	JSONWRITER_CONST(w, "{\"as_of\":");
	jsonwriter_string(w, now);
	JSONWRITER_CONST(w, ",\"positions\":[");
	for (i = 0; i < r->nrows; i++) {
		if (i > 0)
			jsonwriter_raw(w, ",", 1);
		portfolio_json_position(w, r, i);
	}
	JSONWRITER_CONST(w, "]}");
}

/* The cash balances as an array: account, kind, currency, balance. */
void
portfolio_json_cash(struct jsonwriter *w, const struct db_rows *r)
{
	uint32_t	 i;

	jsonwriter_raw(w, "[", 1);
	for (i = 0; i < r->nrows; i++) {
		if (i > 0)
			jsonwriter_raw(w, ",", 1);
		JSONWRITER_CONST(w, "{\"account\":");
		jsonwriter_string(w, db_rows_get(r, i, 0));
		JSONWRITER_CONST(w, ",\"kind\":");
		jsonwriter_string(w, db_rows_get(r, i, 1));
		JSONWRITER_CONST(w, ",\"currency\":");
		jsonwriter_string(w, db_rows_get(r, i, 2));
		PORTFOLIO_JSON_DECIMAL(w, ",\"balance\":",
		    db_rows_get(r, i, 3));
		jsonwriter_raw(w, "}", 1);
	}
	jsonwriter_raw(w, "]", 1);
}

static void
portfolio_json_totals(struct jsonwriter *w, const struct db_rows *r,
    uint32_t t)
{
	const char	*missing = db_rows_get(r, t, 7);

	PORTFOLIO_JSON_DECIMAL(w, ",\"positions_count\":",
	    db_rows_get(r, t, 1));
	PORTFOLIO_JSON_DECIMAL(w, ",\"total_quantity\":", db_rows_get(r, t, 2));
	PORTFOLIO_JSON_DECIMAL(w, ",\"total_cost_basis\":",
	    db_rows_get(r, t, 3));
	PORTFOLIO_JSON_DECIMAL(w, ",\"market_value\":", db_rows_get(r, t, 4));
	PORTFOLIO_JSON_DECIMAL(w, ",\"unrealized_gain\":",
	    db_rows_get(r, t, 5));
	PORTFOLIO_JSON_DECIMAL(w, ",\"unrealized_gain_pct\":",
	    db_rows_get(r, t, 6));
	PORTFOLIO_JSON_DECIMAL(w, ",\"positions_without_quote\":", missing);
	JSONWRITER_CONST(w, ",\"valuation_complete\":");
	jsonwriter_bool(w, missing != NULL && strcmp(missing, "0") == 0);
}

/*
 * The summary from the rows of the portfolio_summary statement: one per
 * position, then the totals. statuses contains the quote status of each
 * position. The object stays open for portfolio_json_summary_end, because
 * the cash balances come from another statement that may finish later.
 */
void
portfolio_json_summary(struct jsonwriter *w, const struct db_rows *r,
    const char *now, const char *const *statuses)
{
	uint32_t	 i, t = r->nrows - 1;

	JSONWRITER_CONST(w, "{\"as_of\":");
	jsonwriter_string(w, now);
	portfolio_json_totals(w, r, t);
	JSONWRITER_CONST(w, ",\"positions\":[");
	for (i = 0; i < t; i++) {
		if (i > 0)
			jsonwriter_raw(w, ",", 1);
		portfolio_json_position_open(w, r, i);
		PORTFOLIO_JSON_DECIMAL(w, ",\"price\":", db_rows_get(r, i, 3));
		PORTFOLIO_JSON_DECIMAL(w, ",\"market_value\":",
		    db_rows_get(r, i, 5));
		PORTFOLIO_JSON_DECIMAL(w, ",\"unrealized_gain\":",
		    db_rows_get(r, i, 6));
		PORTFOLIO_JSON_DECIMAL(w, ",\"weight_pct\":",
		    db_rows_get(r, i, 7));
		JSONWRITER_CONST(w, ",\"quote_status\":");
		jsonwriter_string(w, statuses[i]);
		jsonwriter_raw(w, "}", 1);
	}
	jsonwriter_raw(w, "]", 1);
}

/* Closes the summary with the array that portfolio_json_cash wrote. */
void
portfolio_json_summary_end(struct jsonwriter *w, const struct jsonwriter *cash)
{
	if (cash->failed) {
		w->failed = 1;
		return;
	}
	JSONWRITER_CONST(w, ",\"cash\":");
	jsonwriter_raw(w, cash->buf, cash->len);
	jsonwriter_raw(w, "}", 1);
}
