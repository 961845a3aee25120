/*
 * Unit tests of the quote logic without I/O: symbols, decimals, the
 * AlphaVantage reply files in regress/data/alphavantage, the fake provider,
 * the call budget and the market data settings.
 */

#include <sys/stat.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "benjid.h"
#include "quote.h"

#ifndef AV_DATA
#define AV_DATA		"regress/data/alphavantage"
#endif

static char *
read_fixture(const char *name, size_t *len)
{
	char	 path[PATH_MAX];
	FILE	*f;
	char	*buf;
	long	 n;

	snprintf(path, sizeof(path), "%s/%s", AV_DATA, name);
	assert_non_null(f = fopen(path, "rb"));
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static enum av_reply
parse_fixture(const char *name, struct quote_data *q, char *msg,
    size_t msgsz)
{
	enum av_reply	 r;
	size_t		 len;
	char		*body = read_fixture(name, &len);

	r = quote_av_parse(body, len, q, msg, msgsz);
	free(body);
	return r;
}

static void
symbol_normalize_valid(void **state)
{
	static const char *const cases[][2] = {
		{ "IBM", "IBM" }, { "ibm", "IBM" }, { " BRK.B ", "BRK.B" },
		{ "brk.b", "BRK.B" }, { "brk-b", "BRK-B" },
		{ "\tTSCO.LON", "TSCO.LON" }, { "7203", "7203" },
		{ "ABCDEFGHIJKLMNO", "ABCDEFGHIJKLMNO" },
	};
	char	 out[QUOTE_SYMBOL_MAX + 1];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(quote_symbol_normalize(cases[i][0], out,
		    sizeof(out)), 0);
		assert_string_equal(out, cases[i][1]);
	}
}

static void
symbol_normalize_invalid(void **state)
{
	static const char *const cases[] = {
		"", "   ", ".B", "BRK.", "-B", "B-", "A B", "IBM$", "a/b",
		"ABCDEFGHIJKLMNOP", "IBM\n", "ÄBC", "A_B",
	};
	char	 out[QUOTE_SYMBOL_MAX + 1];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(quote_symbol_normalize(cases[i], out,
		    sizeof(out)), -1);
}

static void
decimal_normalize_cases(void **state)
{
	char	 out[QUOTE_DECIMAL_MAX + 1];

	assert_int_equal(quote_decimal_normalize("192.6700",
	    QUOTE_DECIMAL_POSITIVE, out, sizeof(out)), 0);
	assert_string_equal(out, "192.67");
	assert_int_equal(quote_decimal_normalize("100",
	    QUOTE_DECIMAL_POSITIVE, out, sizeof(out)), 0);
	assert_string_equal(out, "100");
	assert_int_equal(quote_decimal_normalize("-4.8700",
	    QUOTE_DECIMAL_SIGNED, out, sizeof(out)), 0);
	assert_string_equal(out, "-4.87");
	assert_int_equal(quote_decimal_normalize("-0.8841%",
	    QUOTE_DECIMAL_SIGNED | QUOTE_DECIMAL_PERCENT, out, sizeof(out)),
	    0);
	assert_string_equal(out, "-0.8841%");
	assert_int_equal(quote_decimal_normalize("-0.0000",
	    QUOTE_DECIMAL_SIGNED, out, sizeof(out)), 0);
	assert_string_equal(out, "0");

	assert_int_equal(quote_decimal_normalize("0.0000",
	    QUOTE_DECIMAL_POSITIVE, out, sizeof(out)), -1);
	assert_int_equal(quote_decimal_normalize("-1.00",
	    QUOTE_DECIMAL_POSITIVE, out, sizeof(out)), -1);
	assert_int_equal(quote_decimal_normalize("NaN",
	    QUOTE_DECIMAL_POSITIVE, out, sizeof(out)), -1);
	assert_int_equal(quote_decimal_normalize("Infinity",
	    QUOTE_DECIMAL_POSITIVE, out, sizeof(out)), -1);
	assert_int_equal(quote_decimal_normalize("1e5",
	    QUOTE_DECIMAL_POSITIVE, out, sizeof(out)), -1);
	assert_int_equal(quote_decimal_normalize("1.",
	    QUOTE_DECIMAL_POSITIVE, out, sizeof(out)), -1);
	assert_int_equal(quote_decimal_normalize(".5",
	    QUOTE_DECIMAL_POSITIVE, out, sizeof(out)), -1);
	assert_int_equal(quote_decimal_normalize(" 1",
	    QUOTE_DECIMAL_POSITIVE, out, sizeof(out)), -1);
	assert_int_equal(quote_decimal_normalize("1.5",
	    QUOTE_DECIMAL_PERCENT, out, sizeof(out)), -1);
	assert_int_equal(quote_decimal_normalize(
	    "1234567890123456789012345678901234", 0, out, sizeof(out)), -1);
}

static void
currency_rule(void **state)
{
	assert_string_equal(quote_currency("IBM"), "USD");
	assert_string_equal(quote_currency("BRK.B"), "USD");
	assert_string_equal(quote_currency("BRK-B"), "USD");
	assert_string_equal(quote_currency("TSCO.LON"), "");
	assert_string_equal(quote_currency("SHOP.TRT"), "");
}

static void
av_quote_ibm(void **state)
{
	struct quote_data	 q;
	char			 msg[QUOTE_MESSAGE_MAX];

	assert_int_equal(parse_fixture("global_quote_ibm.json", &q, msg,
	    sizeof(msg)), AV_QUOTE);
	assert_string_equal(q.price, "192.67");
	assert_string_equal(q.as_of, "2026-12-03");
	assert_string_equal(q.change, "1.63");
	assert_string_equal(q.change_percent, "0.8532%");
}

static void
av_quote_brk_b(void **state)
{
	struct quote_data	 q;
	char			 msg[QUOTE_MESSAGE_MAX];

	assert_int_equal(parse_fixture("global_quote_brk_b.json", &q, msg,
	    sizeof(msg)), AV_QUOTE);
	assert_string_equal(q.price, "473.55");
}

static void
av_quote_negative_change(void **state)
{
	struct quote_data	 q;
	char			 msg[QUOTE_MESSAGE_MAX];

	assert_int_equal(parse_fixture("global_quote_negative_change.json",
	    &q, msg, sizeof(msg)), AV_QUOTE);
	assert_string_equal(q.price, "546.01");
	assert_string_equal(q.change, "-4.87");
	assert_string_equal(q.change_percent, "-0.8841%");
}

static void
av_reply_kinds(void **state)
{
	static const struct {
		const char	*file;
		enum av_reply	 expected;
	} cases[] = {
		{ "global_quote_unknown_symbol.json", AV_NOT_FOUND },
		{ "rate_limit_note.json", AV_RATE_LIMITED },
		{ "rate_limit_information.json", AV_RATE_LIMITED },
		{ "error_invalid_key.json", AV_KEY_INVALID },
		{ "error_invalid_call.json", AV_ERROR },
		{ "truncated_body.json", AV_MALFORMED },
		{ "gateway_error.html", AV_MALFORMED },
	};
	struct quote_data	 q;
	char			 msg[QUOTE_MESSAGE_MAX];
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("%s\n", cases[i].file);
		assert_int_equal(parse_fixture(cases[i].file, &q, msg,
		    sizeof(msg)), cases[i].expected);
	}
}

static void
av_reply_invalid_values(void **state)
{
	static const char *const bodies[] = {
		"{\"Global Quote\": {\"05. price\": \"-1.00\", "
		    "\"07. latest trading day\": \"2026-12-03\"}}",
		"{\"Global Quote\": {\"05. price\": \"NaN\", "
		    "\"07. latest trading day\": \"2026-12-03\"}}",
		"{\"Global Quote\": {\"05. price\": 192.67, "
		    "\"07. latest trading day\": \"2026-12-03\"}}",
		"{\"Global Quote\": {\"05. price\": \"1.00\", "
		    "\"07. latest trading day\": \"yesterday\"}}",
		"{\"Global Quote\": {\"05. price\": \"1.00\", "
		    "\"07. latest trading day\": \"2026-12-03\", "
		    "\"09. change\": \"up\"}}",
		"{\"Information\": \"Something else happened.\"}",
		"[]",
	};
	struct quote_data	 q;
	char			 msg[QUOTE_MESSAGE_MAX];
	enum av_reply		 r;
	size_t			 i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		r = quote_av_parse(bodies[i], strlen(bodies[i]), &q, msg,
		    sizeof(msg));
		print_message("%s\n", bodies[i]);
		if (i == sizeof(bodies) / sizeof(bodies[0]) - 1)
			assert_int_equal(r, AV_MALFORMED);
		else
			assert_int_equal(r, AV_ERROR);
	}
}

static void
av_reply_trailing_bytes(void **state)
{
	static const char	 body[] = "{\"Global Quote\": {}} x";
	struct quote_data	 q;
	char			 msg[QUOTE_MESSAGE_MAX];

	assert_int_equal(quote_av_parse(body, strlen(body), &q, msg,
	    sizeof(msg)), AV_MALFORMED);
}

static void
fake_deterministic(void **state)
{
	struct quote_data	 a, b, c;
	time_t			 day = 1796342400;	/* 2026-12-04 00:00 UTC */
	char			 out[QUOTE_DECIMAL_MAX + 1];

	assert_int_equal(quote_fake("IBM", day + 10, &a), 0);
	assert_int_equal(quote_fake("IBM", day + 80000, &b), 0);
	assert_int_equal(quote_fake("IBM", day + 86400, &c), 0);
	assert_string_equal(a.price, b.price);
	assert_string_equal(a.as_of, "2026-12-04");
	assert_string_equal(c.as_of, "2026-12-05");
	assert_string_equal(a.currency, "USD");
	assert_int_equal(quote_decimal_normalize(a.price,
	    QUOTE_DECIMAL_POSITIVE, out, sizeof(out)), 0);
	assert_int_equal(quote_decimal_normalize(a.change,
	    QUOTE_DECIMAL_SIGNED, out, sizeof(out)), 0);
	assert_int_equal(quote_decimal_normalize(a.change_percent,
	    QUOTE_DECIMAL_SIGNED | QUOTE_DECIMAL_PERCENT, out, sizeof(out)),
	    0);
}

static void
budget_minute_and_day(void **state)
{
	struct quote_budget	 b;
	time_t			 t = 1796342400 + 3600;

	quote_budget_init(&b, 2, 3);
	assert_int_equal(quote_budget_take(&b, t), 0);
	assert_int_equal(quote_budget_take(&b, t + 1), 0);
	assert_int_equal(quote_budget_take(&b, t + 2), 58);
	assert_int_equal(quote_budget_take(&b, t + 60), 0);
	assert_int_equal(quote_budget_calls_today(&b, t + 60), 3);
	/* The day is spent until midnight UTC. */
	assert_int_equal(quote_budget_take(&b, t + 120), 86400 - 3600 - 120);
	assert_int_equal(quote_budget_take(&b, t + 86400), 0);
}

static void
budget_unlimited_and_exhausted(void **state)
{
	struct quote_budget	 b;
	time_t			 t = 1796342400;
	int			 i;

	quote_budget_init(&b, 0, 0);
	for (i = 0; i < 1000; i++)
		assert_int_equal(quote_budget_take(&b, t), 0);
	quote_budget_exhaust(&b, t, 0);
	assert_int_equal(quote_budget_take(&b, t + 10), 50);
	assert_int_equal(quote_budget_take(&b, t + 60), 0);
	quote_budget_exhaust(&b, t + 100, 1);
	assert_int_equal(quote_budget_take(&b, t + 100), 86400 - 100);
}

static void
settings_from_file_options(void **state)
{
	struct benjid_config	 conf;
	char			 err[512];

	config_defaults(&conf);
	assert_null(conf.marketdata_providers);
	assert_int_equal(conf.quote_cache_ttl_ms, 30000);
	assert_int_equal(conf.quote_cache_size, 1024);
	assert_int_equal(marketdata_set(&conf, "marketdata", "providers",
	    "alphavantage,fake", err, sizeof(err)), 0);
	assert_string_equal(conf.marketdata_providers, "alphavantage,fake");
	assert_int_equal(marketdata_set(&conf, "quote-cache", "ttl", "PT1S",
	    err, sizeof(err)), 0);
	assert_int_equal(conf.quote_cache_ttl_ms, 1000);
	assert_int_equal(marketdata_set(&conf, "marketdata", "providers",
	    "fake,fake", err, sizeof(err)), -1);
	assert_int_equal(marketdata_set(&conf, "marketdata", "providers",
	    "yahoo", err, sizeof(err)), -1);
	assert_int_equal(marketdata_set(&conf, "marketdata", "url",
	    "ftp://x", err, sizeof(err)), -1);
	assert_int_equal(marketdata_set(&conf, "marketdata", "timeout",
	    "PT60S", err, sizeof(err)), -1);
	assert_int_equal(marketdata_set(&conf, "marketdata", "colour", "red",
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown marketdata option"));
	config_free(&conf);
}

static void
settings_from_environment(void **state)
{
	struct benjid_config	 conf;
	char			 err[512];

	config_defaults(&conf);
	setenv("TRADING_MARKETDATA_BUDGET_PER_MINUTE", "7", 1);
	setenv("TRADING_CACHE_QUOTES_MAXIMUM_SIZE", "3", 1);
	assert_int_equal(config_env(&conf, err, sizeof(err)), 0);
	assert_int_equal(conf.marketdata_budget_minute, 7);
	assert_int_equal(conf.quote_cache_size, 3);

	setenv("TRADING_CACHE_QUOTES_TTL", "30 seconds", 1);
	assert_int_equal(config_env(&conf, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "TRADING_CACHE_QUOTES_TTL"));
	assert_int_equal(conf.quote_cache_ttl_ms, 30000);

	unsetenv("TRADING_CACHE_QUOTES_TTL");
	unsetenv("TRADING_MARKETDATA_BUDGET_PER_MINUTE");
	unsetenv("TRADING_CACHE_QUOTES_MAXIMUM_SIZE");
	unsetenv("MARKETDATA_API_KEY");
	unsetenv("ALPHA_VANTAGE_API_KEY");
	config_free(&conf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(symbol_normalize_valid),
		cmocka_unit_test(symbol_normalize_invalid),
		cmocka_unit_test(decimal_normalize_cases),
		cmocka_unit_test(currency_rule),
		cmocka_unit_test(av_quote_ibm),
		cmocka_unit_test(av_quote_brk_b),
		cmocka_unit_test(av_quote_negative_change),
		cmocka_unit_test(av_reply_kinds),
		cmocka_unit_test(av_reply_invalid_values),
		cmocka_unit_test(av_reply_trailing_bytes),
		cmocka_unit_test(fake_deterministic),
		cmocka_unit_test(budget_minute_and_day),
		cmocka_unit_test(budget_unlimited_and_exhausted),
		cmocka_unit_test(settings_from_file_options),
		cmocka_unit_test(settings_from_environment),
	};

	log_init("test_quotes", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
