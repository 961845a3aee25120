/*
 * libFuzzer target for the CSV import reader (daemon/csvimport.c).
 *
 * Input layout: byte 0 picks the options (bit 0 the kind, bits 1-2 the
 * sign, bits 3-4 the date format, bit 5 an explicit column mapping), the
 * remaining bytes are the file. Every record that comes out must hold
 * values that the database columns accept, and every reject must be a
 * bounded, printable report.
 */

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csvimport.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_check_decimal(const char *s, int allow_empty, unsigned int scale)
{
	struct decimal	 d;

	if (*s == '\0') {
		assert(allow_empty);
		return;
	}
	assert(decimal_parse(&d, s, strlen(s)) == 0);
	assert(decimal_fits(&d, 18, scale));
}

static void
fuzz_check_date(const char *s)
{
	assert(strlen(s) == CSVIMPORT_DATE_LEN);
	assert(s[4] == '-' && s[7] == '-');
}

static void
fuzz_check_text(const char *s, size_t max_bytes)
{
	size_t	 i, len = strlen(s);

	assert(len > 0 && len <= max_bytes);
	assert(s[0] != ' ' && s[len - 1] != ' ');
	for (i = 0; i < len; i++)
		assert((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

static void
fuzz_check_key(const char *key)
{
	size_t	 i;

	assert(strlen(key) == CSVIMPORT_KEY_LEN);
	for (i = 0; i < CSVIMPORT_KEY_LEN; i++)
		assert((key[i] >= '0' && key[i] <= '9') ||
		    (key[i] >= 'a' && key[i] <= 'f'));
}

static void
fuzz_check_result(const struct csvimport_result *res)
{
	struct csvimport_position	 pos;
	const char			*reason;
	size_t				 i;

	assert(res->ntxns + res->ntrades + res->rejected_rows <= res->rows);
	assert(res->nrejects <= CSVIMPORT_REJECTS_MAX);
	assert(res->nrejects <= res->nrejects_total);
	for (i = 0; i < res->nrejects; i++) {
		assert(strlen(res->rejects[i].value) <=
		    CSVIMPORT_VALUE_SHOWN + 3);
		assert(strlen(res->rejects[i].reason) > 0);
	}
	for (i = 0; i < res->ntxns; i++) {
		const struct csvimport_txn	*t = &res->txns[i];

		fuzz_check_date(t->date);
		fuzz_check_text(t->description,
		    CSVIMPORT_DESCRIPTION_MAX * 4);
		fuzz_check_decimal(t->amount, 0, 2);
		fuzz_check_key(t->key);
		assert(t->account != NULL);
	}
	memset(&pos, 0, sizeof(pos));
	for (i = 0; i < res->ntrades; i++) {
		const struct csvimport_trade	*t = &res->trades[i];

		fuzz_check_date(t->date);
		if (i > 0)
			assert(strcmp(res->trades[i - 1].date, t->date) <= 0);
		fuzz_check_decimal(t->quantity, 1, 6);
		fuzz_check_decimal(t->price, 1, 6);
		fuzz_check_decimal(t->amount, 0, 2);
		fuzz_check_key(t->key);
		if (t->action != CSVIMPORT_ACTION_CASH)
			assert(t->symbol[0] != '\0' && t->quantity[0] != '\0');
		/* One position for all symbols: only the arithmetic matters. */
		(void)csvimport_position_apply(&pos, t, &reason);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csvimport_opts	 opts;
	struct csvimport_result	 res;
	int			 r;

	if (size < 1)
		return 0;
	memset(&opts, 0, sizeof(opts));
	opts.kind = data[0] & 1 ? CSVIMPORT_ACTIVITY : CSVIMPORT_BANK;
	opts.sign = (data[0] >> 1) % 3;
	opts.datefmt = (data[0] >> 3) & 3;
	if (data[0] & 0x20) {
		opts.columns[CSVIMPORT_COL_DATE] = "d";
		opts.columns[CSVIMPORT_COL_DESCRIPTION] = "t";
		opts.columns[CSVIMPORT_COL_AMOUNT] = "a";
	}
	r = csvimport_parse((const char *)data + 1, size - 1, &opts, &res);
	assert((r == 0) == (res.nrejects_total == 0));
	fuzz_check_result(&res);
	csvimport_result_free(&res);
	return 0;
}
