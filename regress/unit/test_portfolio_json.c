/*
 * Unit tests of the portfolio reply bodies. The JSON writer and the
 * portfolio formatter are compared over random rows with json-c trees
 * built as the replies were built before. The packed rows of
 * IMSG_DB_RESULT are decoded back and checked.
 */

#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "benjid.h"
#include "db.h"
#include "jsonwriter.h"
#include "portfolio_json.h"

#define ROUNDS_STRINGS	20000
#define ROUNDS_REPLIES	2000

static uint64_t	 rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64*: the same sequence on every run, so a failure repeats. */
static uint32_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

/* A random string without NUL, heavy on the bytes JSON escapes. */
static char *
random_text(size_t maxlen)
{
	static const char	 special[] = "\"\\/\b\f\n\r\t\x01\x1f\x7f";
	size_t			 i, len = rng() % (maxlen + 1);
	char			*s;
	unsigned int		 kind;

	assert_non_null(s = malloc(len + 1));
	for (i = 0; i < len; i++) {
		kind = rng() % 8;
		if (kind == 0)
			s[i] = special[rng() % (sizeof(special) - 1)];
		else if (kind == 1)
			s[i] = (char)(1 + rng() % 31);
		else if (kind == 2)
			s[i] = (char)(0x80 + rng() % 0x80);
		else
			s[i] = (char)(0x20 + rng() % 0x5f);
	}
	s[len] = '\0';
	return s;
}

/* A decimal as PostgreSQL prints it, or now and then any text. */
static char *
random_decimal(void)
{
	char	*s;

	if (rng() % 10 == 0)
		return random_text(12);
	assert_non_null(s = malloc(48));
	snprintf(s, 48, "%s%u.%0*u", rng() % 4 == 0 ? "-" : "",
	    rng() % 1000000, (int)(rng() % 9), rng() % 100000000);
	return s;
}

static void
rows_random(struct db_rows *r, uint32_t nrows, uint32_t ncols,
    const int *decimal)
{
	uint32_t	 i, j;

	memset(r, 0, sizeof(*r));
	r->nrows = nrows;
	r->ncols = ncols;
	assert_non_null(r->cells = calloc((size_t)nrows * ncols + 1,
	    sizeof(char *)));
	for (i = 0; i < nrows; i++)
		for (j = 0; j < ncols; j++) {
			if (rng() % 8 == 0)
				continue;	/* SQL NULL */
			r->cells[i * ncols + j] = decimal[j] ?
			    random_decimal() : random_text(16);
		}
}

static void
rows_clear(struct db_rows *r)
{
	uint32_t	 i;

	for (i = 0; i < r->nrows * r->ncols; i++)
		free(r->cells[i]);
	free(r->cells);
	memset(r, 0, sizeof(*r));
}

/* The replies as json-c printed them. */
static struct json_object *
ref_decimal(const char *text)
{
	return text == NULL ? NULL : json_object_new_double_s(0, text);
}

static struct json_object *
ref_text(const char *text)
{
	return text == NULL ? NULL : json_object_new_string(text);
}

static struct json_object *
ref_position(const struct db_rows *r, uint32_t i)
{
	struct json_object	*p = json_object_new_object();

	json_object_object_add(p, "ticker", ref_text(db_rows_get(r, i, 0)));
	json_object_object_add(p, "quantity",
	    ref_decimal(db_rows_get(r, i, 1)));
	json_object_object_add(p, "cost_basis",
	    ref_decimal(db_rows_get(r, i, 2)));
	return p;
}

static struct json_object *
ref_positions(const struct db_rows *r, const char *now)
{
	struct json_object	*body, *list = json_object_new_array();
	uint32_t		 i;

	for (i = 0; i < r->nrows; i++)
		json_object_array_add(list, ref_position(r, i));
	body = json_object_new_object();
	json_object_object_add(body, "as_of", json_object_new_string(now));
	json_object_object_add(body, "positions", list);
	return body;
}

static struct json_object *
ref_cash(const struct db_rows *r)
{
	struct json_object	*cash = json_object_new_array(), *c;
	uint32_t		 i;

	for (i = 0; i < r->nrows; i++) {
		c = json_object_new_object();
		json_object_object_add(c, "account",
		    ref_text(db_rows_get(r, i, 0)));
		json_object_object_add(c, "kind",
		    ref_text(db_rows_get(r, i, 1)));
		json_object_object_add(c, "currency",
		    ref_text(db_rows_get(r, i, 2)));
		json_object_object_add(c, "balance",
		    ref_decimal(db_rows_get(r, i, 3)));
		json_object_array_add(cash, c);
	}
	return cash;
}

static struct json_object *
ref_summary(const struct db_rows *r, const char *now,
    const char *const *statuses, const struct db_rows *cash)
{
	struct json_object	*body, *list = json_object_new_array(), *p;
	const char		*missing;
	uint32_t		 i, t = r->nrows - 1;

	for (i = 0; i < t; i++) {
		p = ref_position(r, i);
		json_object_object_add(p, "price",
		    ref_decimal(db_rows_get(r, i, 3)));
		json_object_object_add(p, "market_value",
		    ref_decimal(db_rows_get(r, i, 5)));
		json_object_object_add(p, "unrealized_gain",
		    ref_decimal(db_rows_get(r, i, 6)));
		json_object_object_add(p, "weight_pct",
		    ref_decimal(db_rows_get(r, i, 7)));
		json_object_object_add(p, "quote_status",
		    json_object_new_string(statuses[i]));
		json_object_array_add(list, p);
	}
	missing = db_rows_get(r, t, 7);
	body = json_object_new_object();
	json_object_object_add(body, "as_of", json_object_new_string(now));
	json_object_object_add(body, "positions_count",
	    ref_decimal(db_rows_get(r, t, 1)));
	json_object_object_add(body, "total_quantity",
	    ref_decimal(db_rows_get(r, t, 2)));
	json_object_object_add(body, "total_cost_basis",
	    ref_decimal(db_rows_get(r, t, 3)));
	json_object_object_add(body, "market_value",
	    ref_decimal(db_rows_get(r, t, 4)));
	json_object_object_add(body, "unrealized_gain",
	    ref_decimal(db_rows_get(r, t, 5)));
	json_object_object_add(body, "unrealized_gain_pct",
	    ref_decimal(db_rows_get(r, t, 6)));
	json_object_object_add(body, "positions_without_quote",
	    ref_decimal(missing));
	json_object_object_add(body, "valuation_complete",
	    json_object_new_boolean(missing != NULL &&
	    strcmp(missing, "0") == 0));
	json_object_object_add(body, "positions", list);
	json_object_object_add(body, "cash", ref_cash(cash));
	return body;
}

/* Compares the writer's text with the tree's, then frees both. */
static void
assert_same_json(struct jsonwriter *w, struct json_object *tree,
    const char *what, unsigned int round)
{
	const char	*want;
	char		*got;
	size_t		 wantlen, gotlen;

	want = json_object_to_json_string_length(tree,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &wantlen);
	assert_non_null(want);
	assert_non_null(got = jsonwriter_release(w, &gotlen));
	if (gotlen != wantlen || memcmp(got, want, wantlen) != 0)
		fail_msg("%s, round %u:\nwant %.*s\ngot  %.*s", what, round,
		    (int)wantlen, want, (int)gotlen, got);
	free(got);
	json_object_put(tree);
}

static void
writer_string_like_json_c(void **state)
{
	struct jsonwriter	 w;
	unsigned int		 round;
	char			*s;

	for (round = 0; round < ROUNDS_STRINGS; round++) {
		s = random_text(40);
		jsonwriter_init(&w, 0);
		jsonwriter_string(&w, s);
		assert_same_json(&w, json_object_new_string(s), "string",
		    round);
		free(s);
	}
}

static void
writer_values(void **state)
{
	struct jsonwriter	 w;
	char			*text;
	size_t			 len;

	jsonwriter_init(&w, 1);
	JSONWRITER_CONST(&w, "[");
	jsonwriter_string(&w, NULL);
	JSONWRITER_CONST(&w, ",");
	jsonwriter_number(&w, NULL);
	JSONWRITER_CONST(&w, ",");
	jsonwriter_number(&w, "0.100000");
	JSONWRITER_CONST(&w, ",");
	jsonwriter_bool(&w, 1);
	JSONWRITER_CONST(&w, ",");
	jsonwriter_bool(&w, 0);
	JSONWRITER_CONST(&w, ",");
	jsonwriter_string(&w, "");
	JSONWRITER_CONST(&w, "]");
	assert_non_null(text = jsonwriter_release(&w, &len));
	assert_int_equal(len, strlen("[null,null,0.100000,true,false,\"\"]"));
	assert_memory_equal(text, "[null,null,0.100000,true,false,\"\"]", len);
	free(text);
	assert_null(w.buf);
}

static void
writer_grows_past_hint(void **state)
{
	struct jsonwriter	 w;
	char			*text;
	size_t			 i, len;

	jsonwriter_init(&w, 0);
	for (i = 0; i < 100000; i++)
		jsonwriter_raw(&w, "0123456789", 10);
	assert_non_null(text = jsonwriter_release(&w, &len));
	assert_int_equal(len, 1000000);
	assert_memory_equal(text + 999990, "0123456789", 10);
	free(text);
}

static void
writer_failed_returns_null(void **state)
{
	struct jsonwriter	 w;
	size_t			 len = 1;

	jsonwriter_init(&w, 0);
	JSONWRITER_CONST(&w, "{}");
	w.failed = 1;
	JSONWRITER_CONST(&w, "more");
	assert_null(jsonwriter_release(&w, &len));
	assert_int_equal(len, 0);
	assert_null(w.buf);
}

static void
positions_like_json_c(void **state)
{
	static const int	 decimal[4] = { 0, 1, 1, 0 };
	struct db_rows		 r;
	struct jsonwriter	 w;
	unsigned int		 round;
	char			*now;

	for (round = 0; round < ROUNDS_REPLIES; round++) {
		rows_random(&r, 1 + rng() % 40, 4, decimal);
		now = random_text(30);
		jsonwriter_init(&w, 64);
		portfolio_json_positions(&w, &r, now);
		assert_same_json(&w, ref_positions(&r, now), "positions",
		    round);
		jsonwriter_init(&w, 0);
		portfolio_json_position(&w, &r, 0);
		assert_same_json(&w, ref_position(&r, 0), "position", round);
		free(now);
		rows_clear(&r);
	}
}

static void
summary_like_json_c(void **state)
{
	static const int	 decimal[9] = { 0, 1, 1, 1, 0, 1, 1, 1, 0 };
	static const int	 cash_decimal[4] = { 0, 0, 0, 1 };
	static const char	*const known[] = { "OK", "STALE", "MISSING",
				    "NOT_FOUND", "RATE_LIMITED" };
	struct db_rows		 r, cash;
	struct jsonwriter	 w, cw;
	const char		**statuses;
	char			**extra;
	unsigned int		 round;
	uint32_t		 i, t;
	char			*now;

	for (round = 0; round < ROUNDS_REPLIES; round++) {
		t = rng() % 40;
		rows_random(&r, t + 1, 9, decimal);
		free(r.cells[t * 9]);
		r.cells[t * 9] = NULL;		/* the totals row */
		if (rng() % 3 == 0) {
			free(r.cells[t * 9 + 7]);
			r.cells[t * 9 + 7] = strdup("0");
		}
		rows_random(&cash, rng() % 5, 4, cash_decimal);
		assert_non_null(statuses = calloc(t + 1, sizeof(*statuses)));
		assert_non_null(extra = calloc(t + 1, sizeof(*extra)));
		for (i = 0; i < t; i++) {
			if (rng() % 6 == 0)
				statuses[i] = extra[i] = random_text(10);
			else
				statuses[i] = known[rng() % 5];
		}
		now = random_text(30);

		jsonwriter_init(&cw, 0);
		portfolio_json_cash(&cw, &cash);
		jsonwriter_init(&w, 0);
		portfolio_json_summary(&w, &r, now, statuses);
		portfolio_json_summary_end(&w, &cw);
		assert_same_json(&w, ref_summary(&r, now, statuses, &cash),
		    "summary", round);

		jsonwriter_free(&cw);
		for (i = 0; i < t; i++)
			free(extra[i]);
		free(extra);
		free(statuses);
		free(now);
		rows_clear(&r);
		rows_clear(&cash);
	}
}

/* Frames a body built in wb as a received IMSG_DB_RESULT. */
static void
result_msg(struct ipc_wbuf *wb, struct ipc_msg *msg)
{
	memset(msg, 0, sizeof(*msg));
	msg->hdr.type = IMSG_DB_RESULT;
	msg->hdr.len = wb->sb.size - IPC_HDR_SIZE;
	msg->body = (const uint8_t *)wb->sb.data + IPC_HDR_SIZE;
	msg->fd = -1;
}

static void
packed_rows_round_trip(void **state)
{
	static const int	 decimal[6] = { 0, 1, 0, 1, 0, 0 };
	struct db_rows		 want, got;
	struct db_rows_pack	 pk;
	struct ipc_wbuf		 wb;
	struct ipc_msg		 msg;
	unsigned int		 round;
	uint32_t		 i, ncols;
	const char		*cell;

	for (round = 0; round < ROUNDS_REPLIES; round++) {
		ncols = 1 + rng() % 6;
		rows_random(&want, rng() % 30, ncols, decimal);
		ipc_wbuf_init(&wb, 3);
		ipc_put_u64(&wb, DB_NOT_FOUND);
		ipc_put_str(&wb, "a message");
		db_rows_pack_start(&pk, want.nrows, ncols);
		for (i = 0; i < want.nrows * ncols; i++) {
			cell = want.cells[i];
			db_rows_pack_cell(&pk, cell, cell ? strlen(cell) : 0);
		}
		db_rows_pack_end(&pk, &wb);
		result_msg(&wb, &msg);
		db_rows_decode(&msg, &got);

		assert_int_equal(got.status, DB_NOT_FOUND);
		assert_string_equal(got.message, "a message");
		assert_int_equal(got.nrows, want.nrows);
		assert_int_equal(got.ncols, ncols);
		for (i = 0; i < want.nrows * ncols; i++) {
			if (want.cells[i] == NULL)
				assert_null(got.cells[i]);
			else
				assert_string_equal(got.cells[i],
				    want.cells[i]);
		}
		assert_null(db_rows_get(&got, want.nrows, 0));
		assert_null(db_rows_get(&got, 0, ncols));
		db_rows_free(&got);
		ipc_wbuf_free(&wb);
		rows_clear(&want);
	}
}

static void
array_rows_still_read(void **state)
{
	struct db_rows	 got;
	struct ipc_wbuf	 wb;
	struct ipc_msg	 msg;

	ipc_wbuf_init(&wb, 3);
	ipc_put_u64(&wb, DB_OK);
	ipc_put_str(&wb, "");
	ipc_put_array(&wb, 2);
	ipc_put_array(&wb, 2);
	ipc_put_str(&wb, "42");
	ipc_put_nil(&wb);
	ipc_put_array(&wb, 2);
	ipc_put_str(&wb, "");
	ipc_put_str(&wb, "x");
	result_msg(&wb, &msg);
	db_rows_decode(&msg, &got);
	assert_int_equal(got.status, DB_OK);
	assert_string_equal(got.message, "");
	assert_int_equal(got.nrows, 2);
	assert_int_equal(got.ncols, 2);
	assert_string_equal(db_rows_get(&got, 0, 0), "42");
	assert_null(db_rows_get(&got, 0, 1));
	assert_string_equal(db_rows_get(&got, 1, 0), "");
	assert_string_equal(db_rows_get(&got, 1, 1), "x");
	db_rows_free(&got);
	ipc_wbuf_free(&wb);
}

static void
packed_rows_empty(void **state)
{
	struct db_rows		 got;
	struct db_rows_pack	 pk;
	struct ipc_wbuf		 wb;
	struct ipc_msg		 msg;

	ipc_wbuf_init(&wb, 3);
	ipc_put_u64(&wb, DB_UNAVAILABLE);
	ipc_put_str(&wb, "not connected");
	db_rows_pack_start(&pk, 0, 0);
	db_rows_pack_end(&pk, &wb);
	result_msg(&wb, &msg);
	db_rows_decode(&msg, &got);
	assert_int_equal(got.status, DB_UNAVAILABLE);
	assert_string_equal(got.message, "not connected");
	assert_int_equal(got.nrows, 0);
	assert_null(db_rows_get(&got, 0, 0));
	db_rows_free(&got);
	ipc_wbuf_free(&wb);
}

/* Decodes a packed body in a child process; returns its exit status. */
static int
decode_in_child(const uint8_t *rows, size_t len)
{
	struct db_rows	 got;
	struct ipc_wbuf	 wb;
	struct ipc_msg	 msg;
	pid_t		 pid;
	int		 status;

	ipc_wbuf_init(&wb, 3);
	ipc_put_u64(&wb, DB_OK);
	ipc_put_str(&wb, "");
	ipc_put_bin(&wb, rows, len);
	result_msg(&wb, &msg);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		db_rows_decode(&msg, &got);
		db_rows_free(&got);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	ipc_wbuf_free(&wb);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
packed_rows_malformed_fatal(void **state)
{
	static const struct {
		const char	*what;
		size_t		 len;
		uint8_t		 bytes[24];
	} cases[] = {
		{ "short header", 7, { 0, 0, 0, 1, 0, 0, 0 } },
		{ "more cells than bytes", 9,
		    { 0, 0, 0, 2, 0, 0, 0, 1, 0 } },
		{ "unterminated text", 11,
		    { 0, 0, 0, 1, 0, 0, 0, 1, 1, 'a', 'b' } },
		{ "unknown cell tag", 9, { 0, 0, 0, 1, 0, 0, 0, 1, 2 } },
		{ "bytes after the cells", 10,
		    { 0, 0, 0, 1, 0, 0, 0, 1, 0, 0 } },
		{ "too many columns", 8 + 65,
		    { 0, 0, 0, 1, 0, 0, 0, 65 } },
		{ "rows without columns beyond the limit", 8,
		    { 0, 2, 0, 0, 0, 0, 0, 0 } },
	};
	static const uint8_t	 good[] = { 0, 0, 0, 1, 0, 0, 0, 2, 0,
				    1, 'h', 'i', 0 };
	uint8_t			 buf[128];
	size_t			 i;

	assert_int_equal(decode_in_child(good, sizeof(good)), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf, cases[i].bytes, sizeof(cases[i].bytes));
		if (decode_in_child(buf, cases[i].len) != 1)
			fail_msg("%s: decoded without a fatal error",
			    cases[i].what);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(writer_string_like_json_c),
		cmocka_unit_test(writer_values),
		cmocka_unit_test(writer_grows_past_hint),
		cmocka_unit_test(writer_failed_returns_null),
		cmocka_unit_test(positions_like_json_c),
		cmocka_unit_test(summary_like_json_c),
		cmocka_unit_test(packed_rows_round_trip),
		cmocka_unit_test(array_rows_still_read),
		cmocka_unit_test(packed_rows_empty),
		cmocka_unit_test(packed_rows_malformed_fatal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
