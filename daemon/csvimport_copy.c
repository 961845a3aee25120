/*
 * Rows of an import in PostgreSQL's COPY text format, so that the db child
 * forwards each piece to COPY ... FROM STDIN without reading it. A field
 * is escaped as COPY expects: a backslash, newline, carriage return and
 * tab become \\, \n, \r and \t, every other byte is copied, and a missing
 * value is \N. An escaped field never starts a line with a lone
 * backslash, so no row can read as the end-of-data marker \. of COPY.
 */

#include <stdio.h>
#include <string.h>

#include "csvimport.h"

static void
csvimport_copy_raw(struct csvimport_copy *cp, const char *s, size_t len)
{
	if (cp->full || cp->size - cp->len < len) {
		cp->full = 1;
		return;
	}
	memcpy(cp->buf + cp->len, s, len);
	cp->len += len;
}

/* Appends one field and the separator after it; s may be NULL. */
void
csvimport_copy_field(struct csvimport_copy *cp, const char *s, char sep)
{
	const char	*run;
	char		 esc[2] = { '\\', 0 };

	if (s == NULL)
		csvimport_copy_raw(cp, "\\N", 2);
	while (s != NULL && *s != '\0' && !cp->full) {
		run = s;
		while (*s != '\0' && *s != '\\' && *s != '\n' && *s != '\r' &&
		    *s != '\t')
			s++;
		csvimport_copy_raw(cp, run, s - run);
		switch (*s) {
		case '\0':
			continue;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			esc[1] = '\\';
			break;
		}
		csvimport_copy_raw(cp, esc, 2);
		s++;
	}
	csvimport_copy_raw(cp, &sep, 1);
}

static void
csvimport_copy_number(struct csvimport_copy *cp, size_t n)
{
	char	 text[24];

	snprintf(text, sizeof(text), "%zu", n);
	csvimport_copy_field(cp, text, '\t');
}

static const char *
csvimport_copy_opt(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/* Ends a row: a row that did not fit is taken back whole. */
static int
csvimport_copy_end(struct csvimport_copy *cp, size_t start)
{
	if (!cp->full)
		return 0;
	cp->len = start;
	cp->full = 0;
	return -1;
}

/*
 * Appends the row of a bank transaction: seq, k, d, s, a, c, n, p, acct
 * as db_import.c names them. Returns -1 and leaves cp as it was when the
 * row does not fit.
 */
int
csvimport_copy_txn(struct csvimport_copy *cp, const struct csvimport_txn *t,
    size_t seq)
{
	size_t	 start = cp->len;

	csvimport_copy_number(cp, seq);
	csvimport_copy_field(cp, t->key, '\t');
	csvimport_copy_field(cp, t->date, '\t');
	csvimport_copy_field(cp, t->description, '\t');
	csvimport_copy_field(cp, t->amount, '\t');
	csvimport_copy_field(cp, csvimport_copy_opt(t->category), '\t');
	csvimport_copy_field(cp, csvimport_copy_opt(t->memo), '\t');
	csvimport_copy_field(cp, t->pending ? "t" : "f", '\t');
	csvimport_copy_field(cp, t->account, '\n');
	return csvimport_copy_end(cp, start);
}

/*
 * Appends the row of a brokerage trade: seq, line, k, d, c, act, t, q,
 * pr, a, s, ck, acct. Returns -1 and leaves cp as it was when the row
 * does not fit.
 */
int
csvimport_copy_trade(struct csvimport_copy *cp,
    const struct csvimport_trade *t, size_t seq, const char *cash_kind)
{
	static const char *const actions[] = { "buy", "sell", "cash" };
	size_t			 start = cp->len;

	csvimport_copy_number(cp, seq);
	csvimport_copy_number(cp, t->line);
	csvimport_copy_field(cp, t->key, '\t');
	csvimport_copy_field(cp, t->date, '\t');
	csvimport_copy_field(cp, t->code, '\t');
	csvimport_copy_field(cp, actions[t->action], '\t');
	csvimport_copy_field(cp, csvimport_copy_opt(t->symbol), '\t');
	csvimport_copy_field(cp, csvimport_copy_opt(t->quantity), '\t');
	csvimport_copy_field(cp, csvimport_copy_opt(t->price), '\t');
	csvimport_copy_field(cp, t->amount, '\t');
	csvimport_copy_field(cp, csvimport_copy_opt(t->description), '\t');
	csvimport_copy_field(cp, cash_kind, '\t');
	csvimport_copy_field(cp, t->account, '\n');
	return csvimport_copy_end(cp, start);
}
