/*
 * Unit tests for daemon/csvimport.c and daemon/csvimport_value.c: each
 * exported layout under regress/data/csv with its exact expected records,
 * dedup keys, the average-cost rule, and malformed input.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csvimport.h"

/* The fixtures sit beside this file: regress/data/csv. */
#define TEST_DATA_DIR	"regress/data/csv"

static char *
read_fixture(const char *name, size_t *len)
{
	char	 path[512];
	FILE	*fp;
	char	*buf;
	long	 size;

	snprintf(path, sizeof(path), "%s/%s", TEST_DATA_DIR, name);
	if ((fp = fopen(path, "rb")) == NULL)
		fail_msg("%s: %s (run from the top of the tree)", path,
		    strerror(errno));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	size = ftell(fp);
	rewind(fp);
	buf = malloc(size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, size, fp), (size_t)size);
	fclose(fp);
	*len = size;
	return buf;
}

static int
parse_text(const char *text, enum csvimport_kind kind,
    struct csvimport_result *res)
{
	struct csvimport_opts	 opts;

	memset(&opts, 0, sizeof(opts));
	opts.kind = kind;
	return csvimport_parse(text, strlen(text), &opts, res);
}

static int
parse_fixture(const char *name, enum csvimport_kind kind,
    struct csvimport_result *res)
{
	struct csvimport_opts	 opts;
	char			*buf;
	size_t			 len;
	int			 r;

	memset(&opts, 0, sizeof(opts));
	opts.kind = kind;
	buf = read_fixture(name, &len);
	r = csvimport_parse(buf, len, &opts, res);
	free(buf);
	return r;
}

static void
print_rejects(const struct csvimport_result *res)
{
	size_t	 i;

	for (i = 0; i < res->nrejects; i++)
		print_message("# reject line %zu column '%s' value '%s': %s\n",
		    res->rejects[i].line, res->rejects[i].column,
		    res->rejects[i].value, res->rejects[i].reason);
}

static void
sum_amounts(const struct csvimport_txn *t, size_t n, int sign,
    const char *category, char *out)
{
	struct decimal	 sum, v;
	size_t		 i;

	decimal_from_int(&sum, 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(decimal_parse(&v, t[i].amount,
		    strlen(t[i].amount)), 0);
		if (sign != 0 && decimal_sign(&v) != sign)
			continue;
		if (category != NULL && (t[i].category == NULL ||
		    strcmp(t[i].category, category) != 0))
			continue;
		assert_int_equal(decimal_add(&sum, &sum, &v), 0);
	}
	assert_int_equal(decimal_format(&sum, out, DECIMAL_STR_MAX), 0);
}

static const struct csvimport_position *
find_position(const struct csvimport_position *pos, size_t npos,
    const char *symbol)
{
	size_t	 j;

	for (j = 0; j < npos; j++)
		if (strcmp(pos[j].symbol, symbol) == 0)
			return &pos[j];
	return NULL;
}

static void
apply_all(const struct csvimport_result *res, struct csvimport_position *pos,
    size_t *npos)
{
	const char	*reason;
	size_t		 i, j;

	for (i = 0; i < res->ntrades; i++) {
		const struct csvimport_trade	*t = &res->trades[i];

		if (t->action == CSVIMPORT_ACTION_CASH)
			continue;
		for (j = 0; j < *npos; j++)
			if (strcmp(pos[j].symbol, t->symbol) == 0)
				break;
		if (j == *npos) {
			memset(&pos[j], 0, sizeof(pos[j]));
			snprintf(pos[j].symbol, sizeof(pos[j].symbol), "%s",
			    t->symbol);
			(*npos)++;
		}
		if (csvimport_position_apply(&pos[j], t, &reason) == -1)
			fail_msg("line %zu: %s", t->line, reason);
	}
}

static void
assert_position(const struct csvimport_position *p, const char *qty,
    const char *cost)
{
	char	 buf[DECIMAL_STR_MAX];

	assert_non_null(p);
	assert_int_equal(decimal_format(&p->quantity, buf, sizeof(buf)), 0);
	assert_string_equal(buf, qty);
	assert_int_equal(decimal_format(&p->cost, buf, sizeof(buf)), 0);
	assert_string_equal(buf, cost);
}

static void
test_brokerage_fixture(void **state)
{
	struct csvimport_result		 res;
	struct csvimport_position	 pos[8];
	size_t				 npos = 0, i;
	struct decimal			 cash, v;
	char				 buf[DECIMAL_STR_MAX];

	if (parse_fixture("brokerage_activity.csv", CSVIMPORT_ACTIVITY,
	    &res) != 0)
		print_rejects(&res);
	assert_int_equal(res.nrejects_total, 0);
	assert_string_equal(res.layout, "brokerage-activity");
	assert_int_equal(res.header_line, 1);
	assert_int_equal(res.rows, 9);
	assert_int_equal(res.skipped, 1);	/* the disclaimer */
	assert_int_equal(res.ntrades, 9);

	/* Oldest first, lines as in the file. */
	assert_string_equal(res.trades[0].date, "2026-10-02");
	assert_string_equal(res.trades[0].code, "ACH");
	assert_int_equal(res.trades[0].line, 14);
	assert_string_equal(res.trades[8].date, "2026-11-28");
	assert_string_equal(res.trades[8].symbol, "VOO");
	assert_int_equal(res.trades[8].line, 2);
	assert_string_equal(res.trades[8].description,
	    "Vanguard S&P 500 ETF CUSIP: 922908363");
	assert_string_equal(res.trades[8].quantity, "2");
	assert_string_equal(res.trades[8].price, "546.1");
	assert_string_equal(res.trades[8].amount, "-1092.20");
	assert_int_equal(res.trades[8].action, CSVIMPORT_ACTION_BUY);

	apply_all(&res, pos, &npos);
	assert_int_equal(npos, 3);
	assert_position(find_position(pos, npos, "AAPL"), "8.500000",
	    "1904.425000");
	assert_position(find_position(pos, npos, "VOO"), "2.000000",
	    "1092.200000");
	assert_position(find_position(pos, npos, "MSFT"), "0.251843",
	    "105.100000");

	decimal_from_int(&cash, 0);
	for (i = 0; i < res.ntrades; i++) {
		assert_int_equal(decimal_parse(&v, res.trades[i].amount,
		    strlen(res.trades[i].amount)), 0);
		assert_int_equal(decimal_add(&cash, &cash, &v), 0);
		assert_int_equal(strlen(res.trades[i].key), CSVIMPORT_KEY_LEN);
		assert_string_equal(res.trades[i].account, "default");
	}
	decimal_format(&cash, buf, sizeof(buf));
	assert_string_equal(buf, "3912.78");
	csvimport_result_free(&res);
}

static void
test_card_signed_fixture(void **state)
{
	struct csvimport_result	 res;
	char			 buf[DECIMAL_STR_MAX];

	if (parse_fixture("card_signed.csv", CSVIMPORT_BANK, &res) != 0)
		print_rejects(&res);
	assert_int_equal(res.nrejects_total, 0);
	assert_string_equal(res.layout, "signed-amount");
	assert_int_equal(res.ntxns, 6);
	assert_int_equal(res.rows, 6);

	/* The posting date wins over the transaction date. */
	assert_string_equal(res.txns[0].date, "2026-12-01");
	assert_string_equal(res.txns[0].amount, "-72.34");
	assert_string_equal(res.txns[0].category, "Groceries");
	assert_string_equal(res.txns[1].description, "CAFE LUNA, DOWNTOWN");
	assert_null(res.txns[2].category);
	assert_string_equal(res.txns[2].amount, "450.00");
	assert_string_equal(res.txns[3].memo, "monthly");
	assert_string_equal(res.txns[4].amount, "24.00");
	assert_int_equal(res.txns[4].line, 6);

	sum_amounts(res.txns, res.ntxns, -1, NULL, buf);
	assert_string_equal(buf, "-237.90");
	sum_amounts(res.txns, res.ntxns, 0, "Home", buf);
	assert_string_equal(buf, "24.00");
	csvimport_result_free(&res);
}

static void
test_card_positive_fixture(void **state)
{
	struct csvimport_result	 res;
	char			 buf[DECIMAL_STR_MAX];

	assert_int_equal(parse_fixture("card_positive_charges.csv",
	    CSVIMPORT_BANK, &res), 0);
	assert_string_equal(res.layout, "card-charges-positive");
	assert_int_equal(res.ntxns, 4);
	assert_string_equal(res.txns[0].amount, "-45.20");
	assert_string_equal(res.txns[1].amount, "-389.00");
	assert_string_equal(res.txns[2].amount, "389.00");
	assert_string_equal(res.txns[3].amount, "-12.75");
	assert_string_equal(res.txns[3].date, "2026-11-05");
	/* The refund cancels the ticket. */
	assert_true(strcmp(res.txns[1].key, res.txns[2].key) != 0);
	sum_amounts(res.txns + 1, 2, 0, NULL, buf);
	assert_string_equal(buf, "0.00");
	sum_amounts(res.txns, res.ntxns, -1, NULL, buf);
	assert_string_equal(buf, "-446.95");
	csvimport_result_free(&res);
}

static void
test_checking_fixture(void **state)
{
	struct csvimport_result	 res;
	size_t			 i;

	if (parse_fixture("checking_debit_credit.csv", CSVIMPORT_BANK,
	    &res) != 0)
		print_rejects(&res);
	assert_int_equal(res.nrejects_total, 0);
	assert_string_equal(res.layout, "withdrawal-deposit");
	assert_int_equal(res.header_line, 2);
	assert_int_equal(res.skipped, 1);	/* the title */
	assert_int_equal(res.ntxns, 4);
	assert_string_equal(res.txns[0].date, "2026-12-01");
	assert_string_equal(res.txns[0].description, "PAYROLL ACME CORP");
	assert_string_equal(res.txns[0].amount, "3150.00");
	assert_string_equal(res.txns[1].amount, "-1800.00");
	assert_string_equal(res.txns[2].amount, "-60.00");
	assert_string_equal(res.txns[3].amount, "-41.18");
	assert_int_equal(res.txns[3].line, 6);
	for (i = 0; i < 3; i++)
		assert_false(res.txns[i].pending);
	assert_true(res.txns[3].pending);
	for (i = 0; i < res.ntxns; i++) {
		assert_null(strchr(res.txns[i].description, '\r'));
		assert_null(strstr(res.txns[i].description, "\xef\xbb\xbf"));
		assert_null(res.txns[i].category);
	}
	csvimport_result_free(&res);
}

static void
test_keys_stable_and_numbered(void **state)
{
	struct csvimport_result	 a, b;
	const char		*two =
	    "Date,Description,Amount,Category\n"
	    "2026-11-05,COFFEE,-3.50,Food\n"
	    "2026-11-05,COFFEE,-3.50,Food\n";
	const char		*three =
	    "Date,Description,Amount,Category\n"
	    "2026-11-04,TEA,-2.00,Food\n"
	    "2026-11-05,COFFEE,-3.50,Food\n"
	    "2026-11-05,COFFEE,-3.50,Food\n";

	assert_int_equal(parse_text(two, CSVIMPORT_BANK, &a), 0);
	assert_int_equal(a.ntxns, 2);
	assert_true(strcmp(a.txns[0].key, a.txns[1].key) != 0);
	/* The same rows in a longer export keep their keys. */
	assert_int_equal(parse_text(three, CSVIMPORT_BANK, &b), 0);
	assert_string_equal(a.txns[0].key, b.txns[1].key);
	assert_string_equal(a.txns[1].key, b.txns[2].key);
	csvimport_result_free(&a);
	csvimport_result_free(&b);

	/* A different account makes different keys. */
	{
		struct csvimport_opts	 opts;

		memset(&opts, 0, sizeof(opts));
		opts.account = "savings";
		assert_int_equal(csvimport_parse(two, strlen(two), &opts, &a),
		    0);
		assert_int_equal(parse_text(two, CSVIMPORT_BANK, &b), 0);
		assert_true(strcmp(a.txns[0].key, b.txns[0].key) != 0);
		assert_string_equal(a.txns[0].account, "savings");
		csvimport_result_free(&a);
		csvimport_result_free(&b);
	}
}

static void
assert_one_reject(const char *text, enum csvimport_kind kind, size_t line,
    const char *column, const char *value, const char *reason)
{
	struct csvimport_result	 res;

	assert_int_equal(parse_text(text, kind, &res), -1);
	if (res.nrejects != 1)
		print_rejects(&res);
	assert_int_equal(res.nrejects, 1);
	assert_int_equal(res.rejects[0].line, line);
	assert_string_equal(res.rejects[0].column, column);
	assert_string_equal(res.rejects[0].value, value);
	if (strstr(res.rejects[0].reason, reason) == NULL)
		fail_msg("reason '%s' lacks '%s'", res.rejects[0].reason,
		    reason);
	csvimport_result_free(&res);
}

static void
test_bad_dates(void **state)
{
	assert_one_reject("Date,Description,Amount,Memo\n"
	    "2/30/2026,X,-1.00,\n", CSVIMPORT_BANK, 2, "Date", "2/30/2026",
	    "no such calendar date");
	assert_one_reject("Date,Description,Amount,Memo\n"
	    "11/05/26,X,-1.00,\n", CSVIMPORT_BANK, 2, "Date", "11/05/26",
	    "not a valid date");
	assert_one_reject("Date,Description,Amount,Memo\n"
	    "2026-13-01,X,-1.00,\n", CSVIMPORT_BANK, 2, "Date", "2026-13-01",
	    "no such calendar date");
	assert_one_reject("Date,Description,Amount,Memo\n"
	    "yesterday,X,-1.00,\n", CSVIMPORT_BANK, 2, "Date", "yesterday",
	    "not a valid date");
	assert_one_reject("Date,Description,Amount,Memo\n"
	    ",X,-1.00,\n", CSVIMPORT_BANK, 2, "Date", "", "missing");
}

static void
test_bad_amounts(void **state)
{
	static const char *const bad[] = {
		"12,50", "$1,2345.00", "abc", "1.2.3", "(-5.00)", "$", "--1",
		"1e3", "5-", "0x10"
	};
	char	 text[256];
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "Date,Description,Amount,Memo\n"
		    "11/05/2026,X,\"%s\",\n", bad[i]);
		assert_one_reject(text, CSVIMPORT_BANK, 2, "Amount", bad[i],
		    "not a valid amount");
	}
	assert_one_reject("Date,Description,Amount,Memo\n"
	    "11/05/2026,X,1.234,\n", CSVIMPORT_BANK, 2, "Amount", "1.234",
	    "more than 2 decimal places");
	assert_one_reject("Date,Description,Amount,Memo\n"
	    "11/05/2026,X,12345678901234567.00,\n", CSVIMPORT_BANK, 2,
	    "Amount", "12345678901234567.00", "out of range");
}

static void
test_money_forms(void **state)
{
	static const struct {
		const char	*text;
		const char	*value;
	} good[] = {
		{ "$1,234.56", "1234.56" }, { "($1,092.20)", "-1092.20" },
		{ "-$5.00", "-5.00" }, { "$-5.00", "-5.00" },
		{ " 12 ", "12" }, { "1,000,000", "1000000" },
		{ "+3.5", "3.5" }, { "(12.00)", "-12.00" }
	};
	struct decimal	 d;
	const char	*reason;
	char		 buf[DECIMAL_STR_MAX];
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(csvimport_money(good[i].text,
		    strlen(good[i].text), &d, &reason), 0);
		decimal_format(&d, buf, sizeof(buf));
		assert_string_equal(buf, good[i].value);
	}
}

static void
test_missing_columns(void **state)
{
	struct csvimport_result	 res;

	assert_int_equal(parse_text("When,What,HowMuch\n1/1/2026,X,1\n",
	    CSVIMPORT_BANK, &res), -1);
	assert_int_equal(res.nrejects, 1);
	assert_int_equal(res.rejects[0].line, 0);
	assert_non_null(strstr(res.rejects[0].reason, "no known header"));
	csvimport_result_free(&res);

	assert_int_equal(parse_text("", CSVIMPORT_BANK, &res), -1);
	assert_string_equal(res.rejects[0].reason, "empty file");
	csvimport_result_free(&res);

	/* A bank layout is no brokerage layout: the error names the other
	 * import. */
	assert_int_equal(parse_fixture("card_signed.csv", CSVIMPORT_ACTIVITY,
	    &res), -1);
	assert_int_equal(res.ntrades, 0);
	assert_non_null(strstr(res.rejects[0].reason,
	    "this is a bank or card export: import it with POST "
	    "/api/finance/transactions/import"));
	csvimport_result_free(&res);

	assert_int_equal(parse_fixture("brokerage_activity.csv",
	    CSVIMPORT_BANK, &res), -1);
	assert_int_equal(res.ntxns, 0);
	assert_non_null(strstr(res.rejects[0].reason,
	    "this is a brokerage activity export: import it with POST "
	    "/api/portfolio/import"));
	csvimport_result_free(&res);

	/* An unknown layout keeps the general reason. */
	assert_int_equal(parse_text("When,What,HowMuch\n1/1/2026,X,1\n",
	    CSVIMPORT_BANK, &res), -1);
	assert_null(strstr(res.rejects[0].reason, "import it with"));
	csvimport_result_free(&res);

	/* A row shorter than the header misses its amount. */
	assert_one_reject("Date,Description,Amount\n"
	    "11/05/2026,X,-1.00\n11/06/2026,Y\n", CSVIMPORT_BANK, 3,
	    "Amount", "", "fewer fields");
}

static void
test_header_search_limit(void **state)
{
	struct csvimport_result	 res;
	char			 text[1024];
	size_t			 i, o = 0;

	for (i = 0; i < CSVIMPORT_HEADER_SEARCH; i++)
		o += snprintf(text + o, sizeof(text) - o, "title %zu\n", i);
	snprintf(text + o, sizeof(text) - o, "Date,Description,Amount\n");
	assert_int_equal(parse_text(text, CSVIMPORT_BANK, &res), -1);
	assert_int_equal(res.rejects[0].line, CSVIMPORT_HEADER_SEARCH);
	csvimport_result_free(&res);
}

static void
test_unterminated_quote(void **state)
{
	assert_one_reject("Date,Description,Amount\n"
	    "11/05/2026,X,-1.00\n11/06/2026,\"open,-2.00\n",
	    CSVIMPORT_BANK, 3, "Description", "",
	    "unterminated quoted field");
}

static void
test_malformed_quote(void **state)
{
	struct csvimport_result	 res;

	assert_int_equal(parse_text("Date,Description,Amount\n"
	    "11/05/2026,\"X\"Y,-1.00\n", CSVIMPORT_BANK, &res), -1);
	assert_int_equal(res.nrejects, 1);
	assert_int_equal(res.rejects[0].line, 2);
	assert_string_equal(res.rejects[0].column, "Description");
	assert_non_null(strstr(res.rejects[0].reason, "malformed quoting"));
	csvimport_result_free(&res);
}

static void
test_huge_field(void **state)
{
	struct csvimport_result	 res;
	size_t			 n = 3 * CSVIMPORT_FIELD_MAX;
	char			*text;
	const char		*head =
	    "Date,Description,Amount\n11/05/2026,\"";

	/* Quoted and unquoted, with and without line breaks inside. */
	text = malloc(strlen(head) + n + 32);
	assert_non_null(text);
	strcpy(text, head);
	memset(text + strlen(head), 'A', n);
	text[strlen(head) + n / 2] = '\n';
	strcpy(text + strlen(head) + n, "\",-1.00\n");
	assert_int_equal(parse_text(text, CSVIMPORT_BANK, &res), -1);
	assert_int_equal(res.nrejects, 1);
	assert_int_equal(res.rejects[0].line, 2);
	assert_string_equal(res.rejects[0].column, "Description");
	assert_string_equal(res.rejects[0].reason,
	    "field longer than 4096 bytes");
	assert_true(strlen(res.rejects[0].value) <= CSVIMPORT_VALUE_SHOWN + 3);
	csvimport_result_free(&res);

	strcpy(text, "Date,Description,Amount\n11/05/2026,");
	memset(text + strlen(text), 'B', n);
	strcpy(text + 35 + n, ",-1.00\n");
	assert_int_equal(parse_text(text, CSVIMPORT_BANK, &res), -1);
	assert_string_equal(res.rejects[0].reason,
	    "field longer than 4096 bytes");
	csvimport_result_free(&res);
	free(text);
}

static void
test_too_many_fields(void **state)
{
	struct csvimport_result	 res;
	char			 text[4096];
	size_t			 i, o;

	o = snprintf(text, sizeof(text), "Date,Description,Amount\n"
	    "11/05/2026,X,-1.00");
	for (i = 0; i < CSVIMPORT_COLUMNS_MAX + 5; i++)
		o += snprintf(text + o, sizeof(text) - o, ",x");
	snprintf(text + o, sizeof(text) - o, "\n");
	assert_int_equal(parse_text(text, CSVIMPORT_BANK, &res), -1);
	assert_int_equal(res.nrejects, 1);
	assert_non_null(strstr(res.rejects[0].reason, "more than 64"));
	csvimport_result_free(&res);

	/* Empty trailing fields are harmless. */
	assert_int_equal(parse_text("Date,Description,Amount\n"
	    "11/05/2026,X,-1.00,,\n", CSVIMPORT_BANK, &res), 0);
	csvimport_result_free(&res);
}

static void
test_bad_text(void **state)
{
	struct csvimport_result	 res;
	char			 text[1024];
	size_t			 o;

	assert_one_reject("Date,Description,Amount\n"
	    "11/05/2026,\"A\x01" "B\",-1.00\n", CSVIMPORT_BANK, 2,
	    "Description", "A?B", "control character");
	assert_one_reject("Date,Description,Amount\n"
	    "11/05/2026,\"A\xc3\x28\",-1.00\n", CSVIMPORT_BANK, 2,
	    "Description", "A?(", "invalid UTF-8");

	o = snprintf(text, sizeof(text), "Date,Description,Amount\n"
	    "11/05/2026,");
	memset(text + o, 'd', CSVIMPORT_DESCRIPTION_MAX + 1);
	o += CSVIMPORT_DESCRIPTION_MAX + 1;
	snprintf(text + o, sizeof(text) - o, ",-1.00\n");
	assert_int_equal(parse_text(text, CSVIMPORT_BANK, &res), -1);
	assert_string_equal(res.rejects[0].reason, "too long");
	csvimport_result_free(&res);

	/* 255 characters of two bytes each are still 255 characters. */
	o = snprintf(text, sizeof(text), "Date,Description,Amount\n"
	    "11/05/2026,");
	for (size_t i = 0; i < CSVIMPORT_DESCRIPTION_MAX; i++) {
		text[o++] = '\xc3';
		text[o++] = '\xa9';
	}
	snprintf(text + o, sizeof(text) - o, ",-1.00\n");
	assert_int_equal(parse_text(text, CSVIMPORT_BANK, &res), 0);
	csvimport_result_free(&res);
}

static void
test_nul_byte_rejected(void **state)
{
	struct csvimport_opts	 opts;
	struct csvimport_result	 res;
	const char		 text[] = "Date,Description,Amount\n"
	    "11/05/2026,A\0B,-1.00\n";

	memset(&opts, 0, sizeof(opts));
	assert_int_equal(csvimport_parse(text, sizeof(text) - 1, &opts, &res),
	    -1);
	assert_int_equal(res.rejects[0].line, 2);
	assert_string_equal(res.rejects[0].value, "A?B");
	csvimport_result_free(&res);
}

static void
test_every_bad_value_reported(void **state)
{
	struct csvimport_result	 res;

	assert_int_equal(parse_text("Date,Description,Amount\n"
	    "11/05/2026,X,-1.00\n"
	    "13/05/2026,,abc\n"
	    "11/07/2026,\"two\nlines\",-1.00\n"
	    "11/08/2026,Z,1.005\n", CSVIMPORT_BANK, &res), -1);
	assert_int_equal(res.rows, 4);
	assert_int_equal(res.rejected_rows, 2);
	assert_int_equal(res.nrejects, 4);
	assert_string_equal(res.rejects[0].column, "Date");
	assert_string_equal(res.rejects[1].column, "Description");
	assert_string_equal(res.rejects[2].column, "Amount");
	assert_int_equal(res.rejects[2].line, 3);
	/* The row after a two-line field starts on line 6. */
	assert_int_equal(res.rejects[3].line, 6);
	csvimport_result_free(&res);
}

static void
test_note_inside_data_rejected(void **state)
{
	assert_one_reject("Date,Description,Amount\n"
	    "11/05/2026,X,-1.00\n\"a note\"\n11/06/2026,Y,-1.00\n",
	    CSVIMPORT_BANK, 3, "", "a note", "1 field");
}

static void
test_explicit_mapping(void **state)
{
	struct csvimport_opts	 opts;
	struct csvimport_result	 res;
	const char		*text =
	    "Booked,Text,Value,Kind\n"
	    "05/11/2026,BAKERY,4.20,Food\n"
	    "06/11/2026,REFUND,-1.00,Food\n";

	memset(&opts, 0, sizeof(opts));
	opts.columns[CSVIMPORT_COL_DATE] = "booked";
	opts.columns[CSVIMPORT_COL_DESCRIPTION] = "Text";
	opts.columns[CSVIMPORT_COL_AMOUNT] = "Value";
	opts.columns[CSVIMPORT_COL_CATEGORY] = "Kind";
	opts.sign = CSVIMPORT_SIGN_OUT_POSITIVE;
	opts.datefmt = CSVIMPORT_DATE_DMY;
	assert_int_equal(csvimport_parse(text, strlen(text), &opts, &res), 0);
	assert_string_equal(res.layout, "mapping");
	assert_int_equal(res.ntxns, 2);
	assert_string_equal(res.txns[0].date, "2026-11-05");
	assert_string_equal(res.txns[0].amount, "-4.20");
	assert_string_equal(res.txns[1].amount, "1.00");
	assert_string_equal(res.txns[0].category, "Food");
	csvimport_result_free(&res);

	/* A mapped column the header lacks finds no header. */
	opts.columns[CSVIMPORT_COL_MEMO] = "Remark";
	assert_int_equal(csvimport_parse(text, strlen(text), &opts, &res), -1);
	assert_non_null(strstr(res.rejects[0].reason, "no known header"));
	csvimport_result_free(&res);
}

static void
test_activity_rules(void **state)
{
	const char	*head = "Activity Date,Instrument,Description,"
	    "Trans Code,Quantity,Price,Amount\n";
	char		 text[512];

	snprintf(text, sizeof(text), "%s1/2/2026,AAPL,x,Buy,1,$1.00,$1.00\n",
	    head);
	assert_one_reject(text, CSVIMPORT_ACTIVITY, 2, "Amount", "$1.00",
	    "a Buy must take money out");
	snprintf(text, sizeof(text), "%s1/2/2026,AAPL,x,CDIV,3,,$1.00\n",
	    head);
	assert_one_reject(text, CSVIMPORT_ACTIVITY, 2, "Quantity", "3",
	    "only Buy and Sell");
	snprintf(text, sizeof(text), "%s1/2/2026,,x,Buy,1,$1.00,($1.00)\n",
	    head);
	assert_one_reject(text, CSVIMPORT_ACTIVITY, 2, "Instrument", "",
	    "missing for a trade");
	snprintf(text, sizeof(text), "%s1/2/2026,AAPL,x,Buy,,$1.00,($1.00)\n",
	    head);
	assert_one_reject(text, CSVIMPORT_ACTIVITY, 2, "Quantity", "",
	    "positive quantity");
	snprintf(text, sizeof(text),
	    "%s1/2/2026,AAPL,x,Buy,0.0000001,$1.00,($1.00)\n", head);
	assert_one_reject(text, CSVIMPORT_ACTIVITY, 2, "Quantity",
	    "0.0000001", "more than 6 decimal places");
	snprintf(text, sizeof(text),
	    "%s1/2/2026,AA PL!,x,Buy,1,$1.00,($1.00)\n", head);
	assert_one_reject(text, CSVIMPORT_ACTIVITY, 2, "Instrument", "AA PL!",
	    "not a valid symbol");
}

static void
test_sell_more_than_held(void **state)
{
	struct csvimport_result		 res;
	struct csvimport_position	 pos;
	const char			*reason;
	const char			*text = "Activity Date,Instrument,"
	    "Description,Trans Code,Quantity,Price,Amount\n"
	    "1/3/2026,ABC,x,Sell,-3,$1.00,$3.00\n"
	    "1/2/2026,ABC,x,Buy,2,$1.00,($2.00)\n";

	assert_int_equal(parse_text(text, CSVIMPORT_ACTIVITY, &res), 0);
	assert_int_equal(res.ntrades, 2);
	assert_int_equal(res.trades[0].action, CSVIMPORT_ACTION_BUY);
	assert_string_equal(res.trades[1].quantity, "3");
	memset(&pos, 0, sizeof(pos));
	assert_int_equal(csvimport_position_apply(&pos, &res.trades[0],
	    &reason), 0);
	assert_int_equal(csvimport_position_apply(&pos, &res.trades[1],
	    &reason), -1);
	assert_string_equal(reason, "sells more than the position holds");
	csvimport_result_free(&res);
}

static void
test_sell_all_zero_cost(void **state)
{
	struct csvimport_result		 res;
	struct csvimport_position	 pos;
	const char			*reason;
	size_t				 i;
	const char			*text = "Activity Date,Instrument,"
	    "Description,Trans Code,Quantity,Price,Amount\n"
	    "1/2/2026,ABC,x,Buy,3,$1.00,($1.00)\n"
	    "1/3/2026,ABC,x,Sell,1,$1.00,$1.00\n"
	    "1/4/2026,ABC,x,Sell,2,$1.00,$2.00\n";

	assert_int_equal(parse_text(text, CSVIMPORT_ACTIVITY, &res), 0);
	memset(&pos, 0, sizeof(pos));
	for (i = 0; i < res.ntrades; i++)
		assert_int_equal(csvimport_position_apply(&pos, &res.trades[i],
		    &reason), 0);
	assert_position(&pos, "0.000000", "0.000000");
	csvimport_result_free(&res);
}

static void
test_same_day_order_kept(void **state)
{
	struct csvimport_result	 res;
	const char		*text = "Activity Date,Instrument,"
	    "Description,Trans Code,Quantity,Price,Amount\n"
	    "1/3/2026,ABC,x,Sell,1,$1.00,$1.00\n"
	    "1/3/2026,ABC,x,Buy,1,$1.00,($1.00)\n"
	    "1/2/2026,,x,ACH,,,$5.00\n";

	/* Newest first: the Buy on 1/3 happened before the Sell. */
	assert_int_equal(parse_text(text, CSVIMPORT_ACTIVITY, &res), 0);
	assert_string_equal(res.trades[0].code, "ACH");
	assert_string_equal(res.trades[1].code, "Buy");
	assert_int_equal(res.trades[1].line, 3);
	assert_string_equal(res.trades[2].code, "Sell");
	assert_int_equal(res.trades[2].line, 2);
	csvimport_result_free(&res);
}

static void
test_crlf_and_bom_everywhere(void **state)
{
	struct csvimport_result	 res;
	const char		*text = "\xef\xbb\xbf" "Date,Description,Amount"
	    ",Category\r\n\r\n11/05/2026,\"A\r\nB\",-1.00,Food\r\n";

	assert_int_equal(parse_text(text, CSVIMPORT_BANK, &res), 0);
	assert_int_equal(res.ntxns, 1);
	assert_string_equal(res.txns[0].description, "A B");
	assert_string_equal(res.txns[0].category, "Food");
	assert_int_equal(res.txns[0].line, 3);
	csvimport_result_free(&res);
}

static void
test_reject_list_bounded(void **state)
{
	struct csvimport_result	 res;
	size_t			 n = CSVIMPORT_REJECTS_MAX + 10, i, o;
	char			*text = malloc(32 + n * 16);

	assert_non_null(text);
	o = sprintf(text, "Date,Description,Amount\n");
	for (i = 0; i < n; i++)
		o += sprintf(text + o, "bad,X,-1.00\n");
	assert_int_equal(parse_text(text, CSVIMPORT_BANK, &res), -1);
	assert_int_equal(res.nrejects, CSVIMPORT_REJECTS_MAX);
	assert_int_equal(res.nrejects_total, n);
	assert_int_equal(res.rejected_rows, n);
	csvimport_result_free(&res);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_brokerage_fixture),
		cmocka_unit_test(test_card_signed_fixture),
		cmocka_unit_test(test_card_positive_fixture),
		cmocka_unit_test(test_checking_fixture),
		cmocka_unit_test(test_keys_stable_and_numbered),
		cmocka_unit_test(test_bad_dates),
		cmocka_unit_test(test_bad_amounts),
		cmocka_unit_test(test_money_forms),
		cmocka_unit_test(test_missing_columns),
		cmocka_unit_test(test_header_search_limit),
		cmocka_unit_test(test_unterminated_quote),
		cmocka_unit_test(test_malformed_quote),
		cmocka_unit_test(test_huge_field),
		cmocka_unit_test(test_too_many_fields),
		cmocka_unit_test(test_bad_text),
		cmocka_unit_test(test_nul_byte_rejected),
		cmocka_unit_test(test_every_bad_value_reported),
		cmocka_unit_test(test_note_inside_data_rejected),
		cmocka_unit_test(test_explicit_mapping),
		cmocka_unit_test(test_activity_rules),
		cmocka_unit_test(test_sell_more_than_held),
		cmocka_unit_test(test_sell_all_zero_cost),
		cmocka_unit_test(test_same_day_order_kept),
		cmocka_unit_test(test_crlf_and_bom_everywhere),
		cmocka_unit_test(test_reject_list_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
