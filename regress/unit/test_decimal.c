/*
 * Unit tests for daemon/decimal.c: exact parsing, formatting, checked
 * arithmetic, rounding half to even and the numeric(p,s) check.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "decimal.h"

static struct decimal
dec(const char *s)
{
	struct decimal	 d;

	if (decimal_parse(&d, s, strlen(s)) == -1)
		fail_msg("cannot parse %s", s);
	return d;
}

static void
assert_decimal(const struct decimal *d, const char *expected)
{
	char	 buf[DECIMAL_STR_MAX];

	assert_int_equal(decimal_format(d, buf, sizeof(buf)), 0);
	assert_string_equal(buf, expected);
}

static void
test_parse_format_roundtrip(void **state)
{
	static const char *const values[] = {
		"0", "-1", "0.10", "-0.000001", "123456789012.123456",
		"99999999999999999999999999999999999999",
		"-0.999999999999999999", "1092.20"
	};
	struct decimal	 d;
	size_t		 i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		d = dec(values[i]);
		assert_decimal(&d, values[i]);
	}
	d = dec("+5");
	assert_decimal(&d, "5");
}

static void
test_parse_rejects_invalid(void **state)
{
	static const char *const bad[] = {
		"", "-", ".5", "5.", "1.2.3", "1e5", "0x10", " 1", "1 ", "--1",
		"1,000", "nan", "inf",
		"100000000000000000000000000000000000000",
		"0.1234567890123456789"
	};
	struct decimal	 d;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(decimal_parse(&d, bad[i], strlen(bad[i])), -1);
}

static void
test_add_tenths_exact(void **state)
{
	struct decimal	 a = dec("0.1"), b = dec("0.2"), r;

	assert_int_equal(decimal_add(&r, &a, &b), 0);
	assert_decimal(&r, "0.3");
	a = dec("0.3");
	assert_int_equal(decimal_cmp(&r, &a), 0);
}

static void
test_eighteen_digit_quantities(void **state)
{
	struct decimal	 a = dec("123456789012.123456");
	struct decimal	 b = dec("876543210987.876544"), r, q;

	assert_int_equal(decimal_add(&r, &a, &b), 0);
	assert_decimal(&r, "1000000000000.000000");
	assert_int_equal(decimal_sub(&r, &r, &a), 0);
	assert_decimal(&r, "876543210987.876544");
	assert_int_equal(decimal_mul(&r, &a, &b), 0);
	assert_decimal(&r, "108215210258939489101167.453814616064");
	assert_int_equal(decimal_div(&q, &r, &b, 6,
	    DECIMAL_HALF_EVEN), 0);
	assert_decimal(&q, "123456789012.123456");
}

static void
test_overflow_detected(void **state)
{
	struct decimal	 max = dec("99999999999999999999999999999999999999");
	struct decimal	 one = dec("1"), tenth = dec("0.1"), r;

	assert_int_equal(decimal_add(&r, &max, &one), -1);
	assert_int_equal(decimal_mul(&r, &max, &max), -1);
	/* Aligning to one fraction digit needs a 39th digit. */
	assert_int_equal(decimal_add(&r, &max, &tenth), -1);
	assert_int_equal(decimal_cmp(&max, &tenth), 1);
	decimal_neg(&r, &max);
	assert_int_equal(decimal_sub(&r, &r, &one), -1);
}

static void
test_div_round_half_even(void **state)
{
	struct decimal	 r, a, b;

	a = dec("1");
	b = dec("8");
	assert_int_equal(decimal_div(&r, &a, &b, 2,
	    DECIMAL_HALF_EVEN), 0);
	assert_decimal(&r, "0.12");	/* 0.125 to even */
	a = dec("3");
	assert_int_equal(decimal_div(&r, &a, &b, 2,
	    DECIMAL_HALF_EVEN), 0);
	assert_decimal(&r, "0.38");	/* 0.375 to even */
	a = dec("-3");
	assert_int_equal(decimal_div(&r, &a, &b, 2,
	    DECIMAL_HALF_EVEN), 0);
	assert_decimal(&r, "-0.38");
	a = dec("2");
	b = dec("3");
	assert_int_equal(decimal_div(&r, &a, &b, 6,
	    DECIMAL_HALF_EVEN), 0);
	assert_decimal(&r, "0.666667");
	b = dec("0");
	assert_int_equal(decimal_div(&r, &a, &b, 2,
	    DECIMAL_HALF_EVEN), -1);
}

static void
test_average_cost_exact(void **state)
{
	struct decimal	 cost = dec("2240.50"), held = dec("8.5");
	struct decimal	 qty = dec("10"), product, r;

	assert_int_equal(decimal_mul(&product, &cost, &held), 0);
	assert_int_equal(decimal_div(&r, &product, &qty, 6,
	    DECIMAL_HALF_EVEN), 0);
	assert_decimal(&r, "1904.425000");
}

static void
test_round_and_trim(void **state)
{
	struct decimal	 d = dec("2.345"), r;

	assert_int_equal(decimal_round(&r, &d, 2, DECIMAL_HALF_EVEN), 0);
	assert_decimal(&r, "2.34");
	d = dec("2.355");
	assert_int_equal(decimal_round(&r, &d, 2, DECIMAL_HALF_EVEN), 0);
	assert_decimal(&r, "2.36");
	d = dec("2.345");
	assert_int_equal(decimal_round(&r, &d, 2, DECIMAL_HALF_AWAY), 0);
	assert_decimal(&r, "2.35");
	d = dec("-2.345");
	assert_int_equal(decimal_round(&r, &d, 2, DECIMAL_HALF_AWAY), 0);
	assert_decimal(&r, "-2.35");
	d = dec("5");
	assert_int_equal(decimal_round(&r, &d, 2, DECIMAL_HALF_EVEN), 0);
	assert_decimal(&r, "5.00");
	d = dec("8.500000");
	decimal_trim(&d);
	assert_decimal(&d, "8.5");
	d = dec("-0.00");
	decimal_trim(&d);
	assert_decimal(&d, "0");
}

static void
test_cmp_across_scales(void **state)
{
	struct decimal	 a = dec("1.50"), b = dec("1.5"), c = dec("-2");

	assert_int_equal(decimal_cmp(&a, &b), 0);
	assert_int_equal(decimal_cmp(&a, &c), 1);
	assert_int_equal(decimal_cmp(&c, &a), -1);
	assert_int_equal(decimal_sign(&c), -1);
}

static void
test_fits_numeric_columns(void **state)
{
	struct decimal	 d;

	d = dec("9999999999999999.99");
	assert_true(decimal_fits(&d, 18, 2));
	d = dec("10000000000000000.00");
	assert_false(decimal_fits(&d, 18, 2));
	d = dec("1.230");
	assert_true(decimal_fits(&d, 18, 2));
	d = dec("1.234");
	assert_false(decimal_fits(&d, 18, 2));
	d = dec("123456789012.123456");
	assert_true(decimal_fits(&d, 18, 6));
	d = dec("-123456789012.1234567");
	assert_false(decimal_fits(&d, 18, 6));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format_roundtrip),
		cmocka_unit_test(test_parse_rejects_invalid),
		cmocka_unit_test(test_add_tenths_exact),
		cmocka_unit_test(test_eighteen_digit_quantities),
		cmocka_unit_test(test_overflow_detected),
		cmocka_unit_test(test_div_round_half_even),
		cmocka_unit_test(test_average_cost_exact),
		cmocka_unit_test(test_round_and_trim),
		cmocka_unit_test(test_cmp_across_scales),
		cmocka_unit_test(test_fits_numeric_columns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
