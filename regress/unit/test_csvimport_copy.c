/*
 * Unit tests for csvimport_copy.c: rows in COPY text format, checked
 * against fixed outputs and against a decoder that follows PostgreSQL's
 * rules for COPY text input, over many random hostile values.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csvimport.h"

/* Formats one field followed by sep into a fresh string. */
static char *
copy_field(const char *s, char sep)
{
	static char		 buf[8192];
	struct csvimport_copy	 cp = { buf, 0, sizeof(buf) - 1, 0 };

	csvimport_copy_field(&cp, s, sep);
	assert_false(cp.full);
	buf[cp.len] = '\0';
	return buf;
}

static void
test_copy_field_escapes(void **state)
{
	assert_string_equal(copy_field("plain", '\t'), "plain\t");
	assert_string_equal(copy_field("a\tb", '\t'), "a\\tb\t");
	assert_string_equal(copy_field("a\nb", '\n'), "a\\nb\n");
	assert_string_equal(copy_field("a\rb", '\t'), "a\\rb\t");
	assert_string_equal(copy_field("C:\\dir", '\t'), "C:\\\\dir\t");
	assert_string_equal(copy_field("\\.", '\n'), "\\\\.\n");
	assert_string_equal(copy_field("\\N", '\t'), "\\\\N\t");
	assert_string_equal(copy_field(NULL, '\t'), "\\N\t");
	assert_string_equal(copy_field("", '\t'), "\t");
	assert_string_equal(copy_field("caf\xc3\xa9 \xe2\x82\xac", '\n'),
	    "caf\xc3\xa9 \xe2\x82\xac\n");
	assert_string_equal(copy_field("\t\n\r\\", '\n'), "\\t\\n\\r\\\\\n");
}

/*
 * Decodes one line of COPY text input by the rules of the COPY reference
 * page: tab separates fields, \N alone is NULL, and \n, \r, \t and \\
 * stand for their characters. Any other escape fails the test, because
 * the writer never emits one. Returns the number of fields.
 */
static int
copy_decode_line(const char *line, size_t len, char **fields, int max)
{
	size_t	 i = 0, o;
	int	 n = 0;
	char	*f;

	for (;;) {
		assert_true(n < max);
		f = malloc(len + 1);
		assert_non_null(f);
		o = 0;
		if (len - i >= 2 && line[i] == '\\' && line[i + 1] == 'N' &&
		    (i + 2 == len || line[i + 2] == '\t')) {
			free(f);
			f = NULL;
			i += 2;
		} else {
			while (i < len && line[i] != '\t') {
				if (line[i] != '\\') {
					f[o++] = line[i++];
					continue;
				}
				assert_true(i + 1 < len);
				switch (line[i + 1]) {
				case 'n':
					f[o++] = '\n';
					break;
				case 'r':
					f[o++] = '\r';
					break;
				case 't':
					f[o++] = '\t';
					break;
				case '\\':
					f[o++] = '\\';
					break;
				default:
					fail_msg("unexpected escape \\%c",
					    line[i + 1]);
				}
				i += 2;
			}
			f[o] = '\0';
		}
		fields[n++] = f;
		if (i == len)
			return n;
		assert_int_equal(line[i], '\t');
		i++;
	}
}

/* A random value made mostly of the bytes that COPY treats specially. */
static char *
random_value(void)
{
	static const char	 special[] = "\t\n\r\\.N ";
	size_t			 len = random() % 24, i;
	char			*s;

	if (random() % 8 == 0)
		return NULL;
	s = malloc(len + 1);
	assert_non_null(s);
	for (i = 0; i < len; i++) {
		if (random() % 2)
			s[i] = special[random() % (sizeof(special) - 1)];
		else
			s[i] = 1 + random() % 255;
	}
	s[len] = '\0';
	return s;
}

static void
test_copy_round_trip_random(void **state)
{
	enum { ROWS = 20000, COLS = 6 };
	static char		 buf[CSVIMPORT_PIECE_MAX];
	struct csvimport_copy	 cp;
	char			*in[COLS], *out[COLS + 1];
	const char		*line;
	size_t			 len;
	int			 r, c, n;

	srandom(7);
	for (r = 0; r < ROWS; r++) {
		cp.buf = buf;
		cp.len = 0;
		cp.size = sizeof(buf);
		cp.full = 0;
		for (c = 0; c < COLS; c++) {
			in[c] = random_value();
			csvimport_copy_field(&cp, in[c],
			    c == COLS - 1 ? '\n' : '\t');
		}
		assert_false(cp.full);
		assert_int_equal(buf[cp.len - 1], '\n');
		assert_null(memchr(buf, '\n', cp.len - 1));
		line = buf;
		len = cp.len - 1;
		assert_false(len == 2 && memcmp(line, "\\.", 2) == 0);
		n = copy_decode_line(line, len, out, COLS + 1);
		assert_int_equal(n, COLS);
		for (c = 0; c < COLS; c++) {
			if (in[c] == NULL)
				assert_null(out[c]);
			else {
				assert_non_null(out[c]);
				assert_string_equal(out[c], in[c]);
			}
			free(in[c]);
			free(out[c]);
		}
	}
}

static void
test_copy_txn_row(void **state)
{
	static char		 buf[512];
	struct csvimport_copy	 cp = { buf, 0, sizeof(buf), 0 };
	struct csvimport_txn	 t;

	memset(&t, 0, sizeof(t));
	snprintf(t.key, sizeof(t.key), "%s", "ab12");
	snprintf(t.date, sizeof(t.date), "%s", "2026-10-01");
	t.description = "SHOP\t\\.";
	snprintf(t.amount, sizeof(t.amount), "%s", "-12.50");
	t.category = NULL;
	t.memo = "";
	t.account = "home\nacct";
	t.pending = 1;
	assert_int_equal(csvimport_copy_txn(&cp, &t, 42), 0);
	assert_int_equal(cp.len, strlen("42\tab12\t2026-10-01\tSHOP\\t\\\\.\t"
	    "-12.50\t\\N\t\\N\tt\thome\\nacct\n"));
	assert_memory_equal(buf, "42\tab12\t2026-10-01\tSHOP\\t\\\\.\t-12.50\t"
	    "\\N\t\\N\tt\thome\\nacct\n", cp.len);

	t.pending = 0;
	t.category = "Food";
	cp.len = 0;
	assert_int_equal(csvimport_copy_txn(&cp, &t, 0), 0);
	assert_memory_equal(buf, "0\tab12\t2026-10-01\tSHOP\\t\\\\.\t-12.50\t"
	    "Food\t\\N\tf\thome\\nacct\n", cp.len);
}

static void
test_copy_row_that_does_not_fit(void **state)
{
	static char		 buf[64];
	struct csvimport_copy	 cp = { buf, 0, sizeof(buf), 0 };
	struct csvimport_txn	 t;
	size_t			 first;

	memset(&t, 0, sizeof(t));
	snprintf(t.key, sizeof(t.key), "%s", "k");
	snprintf(t.date, sizeof(t.date), "%s", "2026-10-01");
	t.description = "x";
	snprintf(t.amount, sizeof(t.amount), "%s", "1.00");
	t.account = "a";
	assert_int_equal(csvimport_copy_txn(&cp, &t, 1), 0);
	first = cp.len;
	t.description = "a description far too long for what is left";
	assert_int_equal(csvimport_copy_txn(&cp, &t, 2), -1);
	assert_int_equal(cp.len, first);
	assert_false(cp.full);
	assert_int_equal(buf[cp.len - 1], '\n');
}

static void
test_copy_trade_row(void **state)
{
	static char		 buf[512];
	struct csvimport_copy	 cp = { buf, 0, sizeof(buf), 0 };
	struct csvimport_trade	 t;
	static const char	 want[] = "3\t17\tkk\t2026-01-02\tBuy\tbuy\t"
	    "IBM\t10\t150.5\t-1505.00\t\\N\ttrade\tbroker\\\\1\n";

	memset(&t, 0, sizeof(t));
	t.line = 17;
	snprintf(t.key, sizeof(t.key), "%s", "kk");
	snprintf(t.date, sizeof(t.date), "%s", "2026-01-02");
	snprintf(t.code, sizeof(t.code), "%s", "Buy");
	t.action = CSVIMPORT_ACTION_BUY;
	snprintf(t.symbol, sizeof(t.symbol), "%s", "IBM");
	snprintf(t.quantity, sizeof(t.quantity), "%s", "10");
	snprintf(t.price, sizeof(t.price), "%s", "150.5");
	snprintf(t.amount, sizeof(t.amount), "%s", "-1505.00");
	t.description = NULL;
	t.account = "broker\\1";
	assert_int_equal(csvimport_copy_trade(&cp, &t, 3, "trade"), 0);
	assert_int_equal(cp.len, sizeof(want) - 1);
	assert_memory_equal(buf, want, cp.len);

	/* A cash row has no symbol, quantity or price. */
	t.action = CSVIMPORT_ACTION_CASH;
	snprintf(t.code, sizeof(t.code), "%s", "CDIV");
	t.symbol[0] = t.quantity[0] = t.price[0] = '\0';
	t.description = "Dividend";
	cp.len = 0;
	assert_int_equal(csvimport_copy_trade(&cp, &t, 4, "dividend"), 0);
	assert_memory_equal(buf, "4\t17\tkk\t2026-01-02\tCDIV\tcash\t\\N\t\\N\t"
	    "\\N\t-1505.00\tDividend\tdividend\tbroker\\\\1\n", cp.len);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_field_escapes),
		cmocka_unit_test(test_copy_round_trip_random),
		cmocka_unit_test(test_copy_txn_row),
		cmocka_unit_test(test_copy_row_that_does_not_fit),
		cmocka_unit_test(test_copy_trade_row),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
