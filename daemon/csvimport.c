/*
 * CSV imports: reading a file with libcsv, finding its header and layout,
 * and turning each data row into a record or into rejects. See
 * csvimport.h for the conventions of the records.
 *
 * libcsv does not count lines, so the input is fed one line at a time (or
 * CSVIMPORT_FIELD_MAX bytes when a line is longer): every callback then
 * happens while the line being fed is known.
 */

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <csv.h>
#include <sodium.h>

#include "csvimport.h"

#define CSVI_BIT(col)	(1U << (col))
#define CSVI_ALIASES	8

/*
 * A known layout: the roles its header must have, the roles it must not
 * have, and how its amounts are signed. The first layout that matches a
 * header wins, so a narrower one comes before a wider one.
 */
struct csvi_layout {
	const char		*name;
	enum csvimport_kind	 kind;
	unsigned int		 required;
	unsigned int		 absent;
	size_t			 ncolumns;	/* 0, or exactly this many */
	enum csvimport_sign	 sign;
};

static const struct csvi_layout csvi_layouts[] = {
	/* Banks that split money out and money in over two columns. */
	{ "withdrawal-deposit", CSVIMPORT_BANK,
	    CSVI_BIT(CSVIMPORT_COL_DATE) | CSVI_BIT(CSVIMPORT_COL_DESCRIPTION) |
	    CSVI_BIT(CSVIMPORT_COL_WITHDRAWAL) |
	    CSVI_BIT(CSVIMPORT_COL_DEPOSIT),
	    CSVI_BIT(CSVIMPORT_COL_AMOUNT), 0, CSVIMPORT_SIGN_OUT_NEGATIVE },
	/*
	 * Exactly "Date,Description,Amount": card issuers that export this
	 * header write charges as positive numbers, so the sign is flipped.
	 */
	{ "card-charges-positive", CSVIMPORT_BANK,
	    CSVI_BIT(CSVIMPORT_COL_DATE) | CSVI_BIT(CSVIMPORT_COL_DESCRIPTION) |
	    CSVI_BIT(CSVIMPORT_COL_AMOUNT), 0, 3,
	    CSVIMPORT_SIGN_OUT_POSITIVE },
	{ "signed-amount", CSVIMPORT_BANK,
	    CSVI_BIT(CSVIMPORT_COL_DATE) | CSVI_BIT(CSVIMPORT_COL_DESCRIPTION) |
	    CSVI_BIT(CSVIMPORT_COL_AMOUNT), 0, 0,
	    CSVIMPORT_SIGN_OUT_NEGATIVE },
	{ "brokerage-activity", CSVIMPORT_ACTIVITY,
	    CSVI_BIT(CSVIMPORT_COL_DATE) | CSVI_BIT(CSVIMPORT_COL_ACTION) |
	    CSVI_BIT(CSVIMPORT_COL_SYMBOL) | CSVI_BIT(CSVIMPORT_COL_QUANTITY) |
	    CSVI_BIT(CSVIMPORT_COL_PRICE) | CSVI_BIT(CSVIMPORT_COL_AMOUNT),
	    0, 0, CSVIMPORT_SIGN_OUT_NEGATIVE },
};

static const char *const csvi_col_names[CSVIMPORT_COL_MAX] = {
	"date", "description", "amount", "withdrawal", "deposit", "category",
	"status", "account", "memo", "action", "symbol", "quantity", "price"
};

/* Header names of each role, compared without case, best match first. */
static const char *const
    csvi_bank_aliases[CSVIMPORT_COL_MAX][CSVI_ALIASES] = {
	[CSVIMPORT_COL_DATE] = { "Post Date", "Posted Date", "Posting Date",
	    "Date", "Transaction Date", "Trans. Date" },
	[CSVIMPORT_COL_DESCRIPTION] = { "Description", "Payee", "Merchant" },
	[CSVIMPORT_COL_AMOUNT] = { "Amount" },
	[CSVIMPORT_COL_WITHDRAWAL] = { "Withdrawal", "Withdrawals", "Debit" },
	[CSVIMPORT_COL_DEPOSIT] = { "Deposit", "Deposits", "Credit" },
	[CSVIMPORT_COL_CATEGORY] = { "Category" },
	[CSVIMPORT_COL_STATUS] = { "Status" },
	[CSVIMPORT_COL_ACCOUNT] = { "Account", "Account Name",
	    "Account Number" },
	[CSVIMPORT_COL_MEMO] = { "Memo", "Notes" },
};

static const char *const
    csvi_activity_aliases[CSVIMPORT_COL_MAX][CSVI_ALIASES] = {
	[CSVIMPORT_COL_DATE] = { "Activity Date", "Trade Date", "Run Date",
	    "Date" },
	[CSVIMPORT_COL_DESCRIPTION] = { "Description" },
	[CSVIMPORT_COL_AMOUNT] = { "Amount" },
	[CSVIMPORT_COL_ACCOUNT] = { "Account", "Account Name",
	    "Account Number" },
	[CSVIMPORT_COL_ACTION] = { "Trans Code", "Action", "Transaction Code" },
	[CSVIMPORT_COL_SYMBOL] = { "Instrument", "Symbol", "Ticker" },
	[CSVIMPORT_COL_QUANTITY] = { "Quantity", "Shares", "Qty" },
	[CSVIMPORT_COL_PRICE] = { "Price" },
};

struct csvi_state {
	const struct csvimport_opts	*opts;
	struct csvimport_result		*res;
	struct csv_parser		 parser;

	/* the row being read */
	char				*fields[CSVIMPORT_COLUMNS_MAX];
	size_t				 lens[CSVIMPORT_COLUMNS_MAX];
	size_t				 nfields;
	int				 toomany;
	size_t				 line;		/* line being fed */
	size_t				 row_line;	/* row's first line */
	int				 in_row;
	int				 stop;		/* file rejected */
	size_t				 rows_before_header;
	int				 other_kind;	/* its header seen */

	/* once the header is found */
	const struct csvi_layout	*layout;
	char				*header[CSVIMPORT_COLUMNS_MAX];
	size_t				 nheader;
	int				 col[CSVIMPORT_COL_MAX];
	enum csvimport_sign		 sign;

	/* a one-field row: a trailing note unless data rows follow */
	char				*note;
	size_t				 note_len;
	size_t				 note_line;

	size_t				 txns_size;
	size_t				 trades_size;
};

const char *
csvimport_col_name(enum csvimport_col col)
{
	return col < CSVIMPORT_COL_MAX ? csvi_col_names[col] : "?";
}

int
csvimport_col_lookup(const char *name, enum csvimport_col *col)
{
	int	 i;

	for (i = 0; i < CSVIMPORT_COL_MAX; i++) {
		if (strcmp(csvi_col_names[i], name) == 0) {
			*col = i;
			return 0;
		}
	}
	return -1;
}

static void
csvi_reject(struct csvi_state *st, size_t line, const char *column,
    const char *value, size_t len, const char *reason)
{
	struct csvimport_result	*res = st->res;
	struct csvimport_reject	*r, *grown;
	size_t			 size;

	res->nrejects_total++;
	if (res->nrejects == CSVIMPORT_REJECTS_MAX)
		return;
	if ((res->nrejects & (res->nrejects - 1)) == 0) {
		size = res->nrejects == 0 ? 8 : res->nrejects * 2;
		grown = reallocarray(res->rejects, size, sizeof(*grown));
		if (grown == NULL) {
			st->stop = 1;
			return;
		}
		res->rejects = grown;
	}
	r = &res->rejects[res->nrejects++];
	memset(r, 0, sizeof(*r));
	r->line = line;
	csvimport_show(column, strlen(column), r->column, sizeof(r->column));
	csvimport_show(value, len, r->value, sizeof(r->value));
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
}

/* Rejects the whole file: nothing more is read. */
static void
csvi_fail(struct csvi_state *st, size_t line, const char *column,
    const char *value, size_t len, const char *reason)
{
	csvi_reject(st, line, column, value, len, reason);
	st->stop = 1;
}

/* The header name of a field index, or "" before the header is known. */
static const char *
csvi_column_at(struct csvi_state *st, size_t i)
{
	if (st->layout == NULL || i >= st->nheader)
		return "";
	return st->header[i];
}

static void
csvi_row_clear(struct csvi_state *st)
{
	size_t	 i;

	for (i = 0; i < st->nfields; i++)
		free(st->fields[i]);
	st->nfields = 0;
	st->toomany = 0;
}

static int
csvi_row_empty(struct csvi_state *st)
{
	size_t	 i, j;

	for (i = 0; i < st->nfields; i++)
		for (j = 0; j < st->lens[i]; j++)
			if (!isspace((unsigned char)st->fields[i][j]))
				return 0;
	return 1;
}

static int
csvi_name_equal(const char *field, size_t len, const char *name)
{
	while (len > 0 && isspace((unsigned char)*field)) {
		field++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)field[len - 1]))
		len--;
	return strlen(name) == len && strncasecmp(field, name, len) == 0;
}

/* Finds the column of a role in the current row, taken as a header. */
static int
csvi_find_column(struct csvi_state *st, enum csvimport_kind kind,
    enum csvimport_col role)
{
	const char *const	*aliases;
	size_t			 i, a;

	if (st->opts->columns[role] != NULL) {
		for (i = 0; i < st->nfields; i++)
			if (csvi_name_equal(st->fields[i], st->lens[i],
			    st->opts->columns[role]))
				return (int)i;
		return -1;
	}
	aliases = kind == CSVIMPORT_BANK ? csvi_bank_aliases[role] :
	    csvi_activity_aliases[role];
	for (a = 0; a < CSVI_ALIASES && aliases[a] != NULL; a++)
		for (i = 0; i < st->nfields; i++)
			if (csvi_name_equal(st->fields[i], st->lens[i],
			    aliases[a]))
				return (int)i;
	return -1;
}

static unsigned int
csvi_roles_found(const int *col)
{
	unsigned int	 found = 0;
	int		 r;

	for (r = 0; r < CSVIMPORT_COL_MAX; r++)
		if (col[r] != -1)
			found |= CSVI_BIT(r);
	return found;
}

static const struct csvi_layout csvi_mapping_bank = {
	"mapping", CSVIMPORT_BANK,
	CSVI_BIT(CSVIMPORT_COL_DATE) | CSVI_BIT(CSVIMPORT_COL_DESCRIPTION), 0,
	0, CSVIMPORT_SIGN_OUT_NEGATIVE
};

static const struct csvi_layout csvi_mapping_activity = {
	"mapping", CSVIMPORT_ACTIVITY,
	CSVI_BIT(CSVIMPORT_COL_DATE) | CSVI_BIT(CSVIMPORT_COL_ACTION) |
	CSVI_BIT(CSVIMPORT_COL_SYMBOL) | CSVI_BIT(CSVIMPORT_COL_QUANTITY) |
	CSVI_BIT(CSVIMPORT_COL_AMOUNT), 0, 0, CSVIMPORT_SIGN_OUT_NEGATIVE
};

/* Picks the layout the header fits, or NULL. */
static const struct csvi_layout *
csvi_match_layout(struct csvi_state *st, enum csvimport_kind kind,
    const int *col)
{
	const struct csvi_layout	*l;
	unsigned int			 found = csvi_roles_found(col);
	size_t				 i;
	int				 r, mapped = 0;

	for (r = 0; r < CSVIMPORT_COL_MAX; r++) {
		if (st->opts->columns[r] == NULL)
			continue;
		if (col[r] == -1)
			return NULL;
		mapped = 1;
	}
	if (mapped) {
		l = kind == CSVIMPORT_BANK ? &csvi_mapping_bank :
		    &csvi_mapping_activity;
		if ((found & l->required) != l->required)
			return NULL;
		/* A mapped bank file needs an amount or both split columns. */
		if (l->kind == CSVIMPORT_BANK &&
		    !(found & CSVI_BIT(CSVIMPORT_COL_AMOUNT)) &&
		    (found & (CSVI_BIT(CSVIMPORT_COL_WITHDRAWAL) |
		    CSVI_BIT(CSVIMPORT_COL_DEPOSIT))) !=
		    (CSVI_BIT(CSVIMPORT_COL_WITHDRAWAL) |
		    CSVI_BIT(CSVIMPORT_COL_DEPOSIT)))
			return NULL;
		return l;
	}
	for (i = 0; i < sizeof(csvi_layouts) / sizeof(csvi_layouts[0]); i++) {
		l = &csvi_layouts[i];
		if (l->kind != kind ||
		    (found & l->required) != l->required ||
		    (found & l->absent) != 0 ||
		    (l->ncolumns != 0 && l->ncolumns != st->nfields))
			continue;
		return l;
	}
	return NULL;
}

/*
 * Marks a row that is the header of the other kind of export, so that the
 * error can name the right endpoint. A column mapping already states what
 * the file is, so then nothing is marked.
 */
static void
csvi_other_kind(struct csvi_state *st)
{
	enum csvimport_kind	 other;
	int			 col[CSVIMPORT_COL_MAX];
	int			 r;

	for (r = 0; r < CSVIMPORT_COL_MAX; r++)
		if (st->opts->columns[r] != NULL)
			return;
	other = st->opts->kind == CSVIMPORT_BANK ? CSVIMPORT_ACTIVITY :
	    CSVIMPORT_BANK;
	for (r = 0; r < CSVIMPORT_COL_MAX; r++)
		col[r] = csvi_find_column(st, other, r);
	if (csvi_match_layout(st, other, col) != NULL)
		st->other_kind = 1;
}

/* The reason of a file without a header of its kind. */
static const char *
csvi_no_header(const struct csvi_state *st, const char *reason)
{
	if (!st->other_kind)
		return reason;
	return st->opts->kind == CSVIMPORT_BANK ?
	    "this is a brokerage activity export: import it with POST "
	    "/api/portfolio/import" :
	    "this is a bank or card export: import it with POST "
	    "/api/finance/transactions/import";
}

/* Tries the current row as the header; rows before it are titles. */
static void
csvi_header(struct csvi_state *st)
{
	const struct csvi_layout	*l;
	int				 col[CSVIMPORT_COL_MAX];
	int				 r;
	size_t				 i;

	for (r = 0; r < CSVIMPORT_COL_MAX; r++)
		col[r] = csvi_find_column(st, st->opts->kind, r);
	if ((l = csvi_match_layout(st, st->opts->kind, col)) == NULL) {
		csvi_other_kind(st);
		if (++st->rows_before_header < CSVIMPORT_HEADER_SEARCH) {
			st->res->skipped++;
			return;
		}
		csvi_fail(st, st->row_line, "", st->fields[0], st->lens[0],
		    csvi_no_header(st, "no known header in the first rows; "
		    "give the column mapping"));
		return;
	}
	for (i = 0; i < st->nfields; i++) {
		st->header[i] = st->fields[i];
		st->fields[i] = NULL;
		st->lens[i] = 0;
	}
	st->nheader = st->nfields;
	st->nfields = 0;
	memcpy(st->col, col, sizeof(col));
	st->layout = l;
	st->sign = st->opts->sign != CSVIMPORT_SIGN_LAYOUT ? st->opts->sign :
	    l->sign;
	st->res->layout = l->name;
	st->res->header_line = st->row_line;
}

/*
 * Looks up the field of a role in the current row. Returns 1 with the
 * field, 0 when the layout has no such column or the field is blank, and
 * -1 after rejecting a row too short to have it.
 */
static int
csvi_field(struct csvi_state *st, enum csvimport_col role, const char **s,
    size_t *len)
{
	int	 c = st->col[role];
	size_t	 i;

	*s = "";
	*len = 0;
	if (c == -1)
		return 0;
	if ((size_t)c >= st->nfields) {
		csvi_reject(st, st->row_line, st->header[c], "", 0,
		    "missing: the row has fewer fields than the header");
		return -1;
	}
	*s = st->fields[c];
	*len = st->lens[c];
	for (i = 0; i < *len; i++)
		if (!isspace((unsigned char)(*s)[i]))
			return 1;
	return 0;
}

static void
csvi_reject_field(struct csvi_state *st, enum csvimport_col role,
    const char *s, size_t len, const char *reason)
{
	csvi_reject(st, st->row_line, st->header[st->col[role]], s, len,
	    reason);
}

/* Rejects a required field that is blank or absent. */
static int
csvi_required(struct csvi_state *st, enum csvimport_col role, const char **s,
    size_t *len)
{
	int	 r;

	if ((r = csvi_field(st, role, s, len)) == 0)
		csvi_reject(st, st->row_line, st->col[role] == -1 ?
		    csvimport_col_name(role) : st->header[st->col[role]],
		    *s, *len, "missing");
	return r == 1 ? 0 : -1;
}

static int
csvi_get_date(struct csvi_state *st, char *out)
{
	const char	*s, *reason;
	size_t		 len;

	if (csvi_required(st, CSVIMPORT_COL_DATE, &s, &len) == -1)
		return -1;
	if (csvimport_date(s, len, st->opts->datefmt, out, &reason) == -1) {
		csvi_reject_field(st, CSVIMPORT_COL_DATE, s, len, reason);
		return -1;
	}
	return 0;
}

static int
csvi_get_text(struct csvi_state *st, enum csvimport_col role, size_t max,
    int required, char **out)
{
	const char	*s, *reason;
	size_t		 len;
	int		 r;

	*out = NULL;
	r = required ? csvi_required(st, role, &s, &len) :
	    csvi_field(st, role, &s, &len);
	if (r == -1)
		return -1;
	if (r == 0 && !required)
		return 0;
	if (csvimport_text(s, len, max, out, &reason) == -1) {
		csvi_reject_field(st, role, s, len, reason);
		return -1;
	}
	return 0;
}

/*
 * Checks that a number fits numeric(precision, scale) and writes it. An
 * outscale of -1 keeps the significant fraction digits only.
 */
static int
csvi_put_number(struct csvi_state *st, enum csvimport_col role,
    const char *s, size_t len, const struct decimal *d, unsigned int precision,
    unsigned int scale, int outscale, char *out)
{
	struct decimal	 v = *d;
	char		 reason[64];

	decimal_trim(&v);
	if (v.scale > scale) {
		snprintf(reason, sizeof(reason), "more than %u decimal places",
		    scale);
		csvi_reject_field(st, role, s, len, reason);
		return -1;
	}
	if (!decimal_fits(&v, precision, scale)) {
		csvi_reject_field(st, role, s, len, "out of range");
		return -1;
	}
	if (outscale >= 0 && decimal_round(&v, &v, (unsigned int)outscale,
	    DECIMAL_HALF_EVEN) == -1)
		return -1;
	return decimal_format(&v, out, DECIMAL_STR_MAX);
}

/* Parses a money field; 0 when blank and not required. */
static int
csvi_get_money(struct csvi_state *st, enum csvimport_col role, int required,
    struct decimal *d, int *present)
{
	const char	*s, *reason;
	size_t		 len;
	int		 r;

	*present = 0;
	decimal_from_int(d, 0);
	if (required)
		r = csvi_required(st, role, &s, &len) == 0 ? 1 : -1;
	else
		r = csvi_field(st, role, &s, &len);
	if (r == -1)
		return -1;
	if (r == 0)
		return 0;
	if (csvimport_money(s, len, d, &reason) == -1) {
		csvi_reject_field(st, role, s, len, reason);
		return -1;
	}
	*present = 1;
	return 0;
}

/*
 * The amount of a bank row: the signed amount column, or deposit minus
 * withdrawal when the layout splits them. The split columns hold sizes,
 * so a minus sign in either is ignored.
 */
static int
csvi_bank_amount(struct csvi_state *st, char *out)
{
	struct decimal	 v, w, dep;
	const char	*s;
	size_t		 len;
	enum csvimport_col role = CSVIMPORT_COL_AMOUNT;
	int		 has_w, has_d;

	if (st->col[CSVIMPORT_COL_AMOUNT] != -1) {
		if (csvi_get_money(st, role, 1, &v, &has_d) == -1)
			return -1;
	} else {
		role = CSVIMPORT_COL_WITHDRAWAL;
		if (csvi_get_money(st, CSVIMPORT_COL_WITHDRAWAL, 0, &w,
		    &has_w) == -1 ||
		    csvi_get_money(st, CSVIMPORT_COL_DEPOSIT, 0, &dep,
		    &has_d) == -1)
			return -1;
		if (!has_w && !has_d) {
			csvi_reject_field(st, role, "", 0,
			    "missing: both withdrawal and deposit are empty");
			return -1;
		}
		if (decimal_sign(&w) < 0)
			decimal_neg(&w, &w);
		if (decimal_sign(&dep) < 0)
			decimal_neg(&dep, &dep);
		if (decimal_sub(&v, &dep, &w) == -1) {
			csvi_reject_field(st, role, "", 0, "out of range");
			return -1;
		}
	}
	if (st->sign == CSVIMPORT_SIGN_OUT_POSITIVE)
		decimal_neg(&v, &v);
	csvi_field(st, role, &s, &len);
	/* finance_transaction.amount is numeric(18,2). */
	return csvi_put_number(st, role, s, len, &v, 18, 2, 2, out);
}

static int
csvi_pending(struct csvi_state *st)
{
	const char	*s;
	size_t		 len;

	if (csvi_field(st, CSVIMPORT_COL_STATUS, &s, &len) != 1)
		return 0;
	return csvi_name_equal(s, len, "Pending");
}

static int
csvi_account(struct csvi_state *st, char **out)
{
	const char	*given = st->opts->account;

	if (csvi_get_text(st, CSVIMPORT_COL_ACCOUNT, CSVIMPORT_ACCOUNT_MAX, 0,
	    out) == -1)
		return -1;
	if (*out == NULL &&
	    (*out = strdup(given ? given : CSVIMPORT_DEFAULT_ACCOUNT)) == NULL)
		return -1;
	return 0;
}

static void
csvi_txn_free(struct csvimport_txn *t)
{
	free(t->description);
	free(t->category);
	free(t->memo);
	free(t->account);
}

static void
csvi_txn(struct csvi_state *st)
{
	struct csvimport_result	*res = st->res;
	struct csvimport_txn	 t, *grown;
	int			 bad = 0;

	memset(&t, 0, sizeof(t));
	t.line = st->row_line;
	bad |= csvi_get_date(st, t.date);
	bad |= csvi_get_text(st, CSVIMPORT_COL_DESCRIPTION,
	    CSVIMPORT_DESCRIPTION_MAX, 1, &t.description);
	bad |= csvi_bank_amount(st, t.amount);
	bad |= csvi_get_text(st, CSVIMPORT_COL_CATEGORY,
	    CSVIMPORT_CATEGORY_MAX, 0, &t.category);
	bad |= csvi_get_text(st, CSVIMPORT_COL_MEMO, CSVIMPORT_MEMO_MAX, 0,
	    &t.memo);
	bad |= csvi_account(st, &t.account);
	t.pending = csvi_pending(st);
	if (bad) {
		csvi_txn_free(&t);
		res->rejected_rows++;
		return;
	}
	if (res->ntxns == st->txns_size) {
		st->txns_size = st->txns_size ? st->txns_size * 2 : 16;
		grown = reallocarray(res->txns, st->txns_size, sizeof(t));
		if (grown == NULL) {
			csvi_txn_free(&t);
			csvi_fail(st, t.line, "", "", 0, "out of memory");
			return;
		}
		res->txns = grown;
	}
	res->txns[res->ntxns++] = t;
}

static int
csvi_get_symbol(struct csvi_state *st, char *out)
{
	const char	*s;
	size_t		 len, i, o = 0;
	int		 r;

	if ((r = csvi_field(st, CSVIMPORT_COL_SYMBOL, &s, &len)) != 1)
		return r;
	for (i = 0; i < len; i++) {
		unsigned char	 c = s[i];

		if (isspace(c) && (o == 0 || i + 1 == len ||
		    isspace((unsigned char)s[i + 1])))
			continue;
		if (o == CSVIMPORT_SYMBOL_MAX || !(isalnum(c) || c == '.' ||
		    c == '-' || c == '/')) {
			csvi_reject_field(st, CSVIMPORT_COL_SYMBOL, s, len,
			    "not a valid symbol (letters, digits, '.', '-' or "
			    "'/', at most 12)");
			return -1;
		}
		out[o++] = toupper(c);
	}
	out[o] = '\0';
	return 0;
}

/* A quantity or price: a plain number, grouping commas allowed. */
static int
csvi_get_plain(struct csvi_state *st, enum csvimport_col role,
    struct decimal *d, int *present)
{
	const char	*s;
	size_t		 len;

	*present = 0;
	decimal_from_int(d, 0);
	if (csvi_field(st, role, &s, &len) == 1 &&
	    memchr(s, '(', len) != NULL) {
		csvi_reject_field(st, role, s, len, "not a valid number");
		return -1;
	}
	return csvi_get_money(st, role, 0, d, present);
}

static void
csvi_trade_free(struct csvimport_trade *t)
{
	free(t->description);
	free(t->account);
}

/* Classifies the code and checks the values it needs. */
static int
csvi_trade_check(struct csvi_state *st, struct csvimport_trade *t,
    const struct decimal *qty, int has_qty, const struct decimal *amount)
{
	const char	*s;
	size_t		 len;

	if (strcasecmp(t->code, "Buy") == 0)
		t->action = CSVIMPORT_ACTION_BUY;
	else if (strcasecmp(t->code, "Sell") == 0)
		t->action = CSVIMPORT_ACTION_SELL;
	else
		t->action = CSVIMPORT_ACTION_CASH;

	if (t->action == CSVIMPORT_ACTION_CASH) {
		if (!has_qty || decimal_sign(qty) == 0)
			return 0;
		csvi_field(st, CSVIMPORT_COL_QUANTITY, &s, &len);
		csvi_reject_field(st, CSVIMPORT_COL_QUANTITY, s, len,
		    "only Buy and Sell may change a quantity");
		return -1;
	}
	if (t->symbol[0] == '\0') {
		csvi_reject(st, t->line, st->header[st->col[
		    CSVIMPORT_COL_SYMBOL]], "", 0, "missing for a trade");
		return -1;
	}
	csvi_field(st, CSVIMPORT_COL_QUANTITY, &s, &len);
	if (!has_qty || decimal_sign(qty) == 0 ||
	    (t->action == CSVIMPORT_ACTION_BUY && decimal_sign(qty) < 0)) {
		csvi_reject_field(st, CSVIMPORT_COL_QUANTITY, s, len,
		    "a trade needs a positive quantity");
		return -1;
	}
	csvi_field(st, CSVIMPORT_COL_AMOUNT, &s, &len);
	if ((t->action == CSVIMPORT_ACTION_BUY && decimal_sign(amount) > 0) ||
	    (t->action == CSVIMPORT_ACTION_SELL && decimal_sign(amount) < 0)) {
		csvi_reject_field(st, CSVIMPORT_COL_AMOUNT, s, len,
		    "a Buy must take money out and a Sell bring money in");
		return -1;
	}
	return 0;
}

/* Reads the numbers of a trade row into t. */
static int
csvi_trade_numbers(struct csvi_state *st, struct csvimport_trade *t,
    struct decimal *qty, int *has_qty, struct decimal *amount)
{
	struct decimal	 price;
	const char	*s;
	size_t		 len;
	int		 has_price, has_amount, bad = 0;

	if (csvi_get_plain(st, CSVIMPORT_COL_QUANTITY, qty, has_qty) == -1)
		bad = -1;
	else if (*has_qty) {
		if (decimal_sign(qty) < 0 &&
		    strcasecmp(t->code, "Sell") == 0)
			decimal_neg(qty, qty);	/* some exports sign sells */
		csvi_field(st, CSVIMPORT_COL_QUANTITY, &s, &len);
		bad |= csvi_put_number(st, CSVIMPORT_COL_QUANTITY, s, len, qty,
		    18, 6, -1, t->quantity);
	}
	if (csvi_get_money(st, CSVIMPORT_COL_PRICE, 0, &price,
	    &has_price) == -1)
		bad = -1;
	else if (has_price) {
		csvi_field(st, CSVIMPORT_COL_PRICE, &s, &len);
		if (decimal_sign(&price) < 0) {
			csvi_reject_field(st, CSVIMPORT_COL_PRICE, s, len,
			    "negative price");
			bad = -1;
		} else
			bad |= csvi_put_number(st, CSVIMPORT_COL_PRICE, s,
			    len, &price, 18, 6, -1, t->price);
	}
	if (csvi_get_money(st, CSVIMPORT_COL_AMOUNT, 1, amount,
	    &has_amount) == -1)
		return -1;
	csvi_field(st, CSVIMPORT_COL_AMOUNT, &s, &len);
	bad |= csvi_put_number(st, CSVIMPORT_COL_AMOUNT, s, len, amount, 18,
	    2, 2, t->amount);
	return bad ? -1 : 0;
}

static void
csvi_trade(struct csvi_state *st)
{
	struct csvimport_result	*res = st->res;
	struct csvimport_trade	 t, *grown;
	struct decimal		 qty, amount;
	char			*code = NULL;
	int			 bad = 0, has_qty = 0;

	memset(&t, 0, sizeof(t));
	t.line = st->row_line;
	bad |= csvi_get_date(st, t.date);
	if (csvi_get_text(st, CSVIMPORT_COL_ACTION, CSVIMPORT_ACTION_MAX, 1,
	    &code) == -1)
		bad = -1;
	else
		snprintf(t.code, sizeof(t.code), "%s", code);
	free(code);
	bad |= csvi_get_symbol(st, t.symbol);
	bad |= csvi_get_text(st, CSVIMPORT_COL_DESCRIPTION,
	    CSVIMPORT_DESCRIPTION_MAX, 0, &t.description);
	bad |= csvi_account(st, &t.account);
	if (t.code[0] != '\0' &&
	    csvi_trade_numbers(st, &t, &qty, &has_qty, &amount) == -1)
		bad = -1;
	if (!bad && csvi_trade_check(st, &t, &qty, has_qty, &amount) == -1)
		bad = -1;
	if (bad) {
		csvi_trade_free(&t);
		res->rejected_rows++;
		return;
	}
	if (res->ntrades == st->trades_size) {
		st->trades_size = st->trades_size ? st->trades_size * 2 : 16;
		grown = reallocarray(res->trades, st->trades_size, sizeof(t));
		if (grown == NULL) {
			csvi_trade_free(&t);
			csvi_fail(st, t.line, "", "", 0, "out of memory");
			return;
		}
		res->trades = grown;
	}
	res->trades[res->ntrades++] = t;
}

/* A one-field row held back as a note turns out to sit inside the data. */
static void
csvi_note_reject(struct csvi_state *st)
{
	char	 reason[96];

	if (st->note == NULL)
		return;
	snprintf(reason, sizeof(reason), "the row has 1 field, the header "
	    "has %zu", st->nheader);
	csvi_reject(st, st->note_line, "", st->note, st->note_len, reason);
	st->res->rows++;
	st->res->rejected_rows++;
	free(st->note);
	st->note = NULL;
}

static void
csvi_row(struct csvi_state *st)
{
	char	 reason[96];
	size_t	 i;

	if (csvi_row_empty(st))
		return;
	if (st->layout == NULL) {
		csvi_header(st);
		return;
	}
	if (st->nfields == 1 && st->nheader > 1) {
		csvi_note_reject(st);
		st->note = st->fields[0];
		st->note_len = st->lens[0];
		st->note_line = st->row_line;
		st->fields[0] = NULL;
		return;
	}
	csvi_note_reject(st);
	st->res->rows++;
	for (i = st->nheader; i < st->nfields; i++)
		if (st->lens[i] != 0)
			break;
	if (st->toomany || i < st->nfields) {
		snprintf(reason, sizeof(reason), "the row has %s%zu fields, "
		    "the header has %zu", st->toomany ? "more than " : "",
		    st->nfields, st->nheader);
		csvi_reject(st, st->row_line, "", "", 0, reason);
		st->res->rejected_rows++;
		return;
	}
	if (st->opts->kind == CSVIMPORT_BANK)
		csvi_txn(st);
	else
		csvi_trade(st);
}

static void
csvi_field_cb(void *s, size_t len, void *arg)
{
	struct csvi_state	*st = arg;
	char			*copy;

	if (st->stop)
		return;
	if (len > CSVIMPORT_FIELD_MAX) {
		csvi_fail(st, st->row_line, csvi_column_at(st, st->nfields), s,
		    len, "field longer than 4096 bytes");
		return;
	}
	if (st->nfields == CSVIMPORT_COLUMNS_MAX) {
		st->toomany = 1;
		return;
	}
	if ((copy = malloc(len + 1)) == NULL) {
		csvi_fail(st, st->row_line, "", "", 0, "out of memory");
		return;
	}
	memcpy(copy, s, len);
	copy[len] = '\0';
	st->fields[st->nfields] = copy;
	st->lens[st->nfields++] = len;
}

static void
csvi_row_cb(int c, void *arg)
{
	struct csvi_state	*st = arg;

	if (!st->stop)
		csvi_row(st);
	csvi_row_clear(st);
	st->in_row = 0;
}

/* Length of the next piece to feed: one line, or FIELD_MAX bytes. */
static size_t
csvi_chunk(const char *buf, size_t len, int *eol)
{
	size_t	 i, max = len < CSVIMPORT_FIELD_MAX ? len : CSVIMPORT_FIELD_MAX;

	*eol = 0;
	for (i = 0; i < max; i++) {
		if (buf[i] != '\n' && buf[i] != '\r')
			continue;
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
			i++;
		*eol = 1;
		return i + 1;
	}
	return max;
}

static int
csvi_has_content(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]))
			return 1;
	return 0;
}

static void
csvi_feed(struct csvi_state *st, const char *buf, size_t len)
{
	size_t	 off = 0, n;
	int	 eol;

	st->line = 1;
	while (off < len && !st->stop) {
		n = csvi_chunk(buf + off, len - off, &eol);
		if (!st->in_row && csvi_has_content(buf + off, n)) {
			st->row_line = st->line;
			st->in_row = 1;
		}
		if (csv_parse(&st->parser, buf + off, n, csvi_field_cb,
		    csvi_row_cb, st) != n) {
			csvi_fail(st, st->line, csvi_column_at(st,
			    st->nfields), buf + off, n, "malformed quoting: a "
			    "quote inside a field must be doubled and a "
			    "quoted field must end at a separator");
			return;
		}
		if (st->parser.entry_pos > CSVIMPORT_FIELD_MAX) {
			csvi_fail(st, st->row_line, csvi_column_at(st,
			    st->nfields), (const char *)st->parser.entry_buf,
			    st->parser.entry_pos,
			    "field longer than 4096 bytes");
			return;
		}
		off += n;
		if (eol)
			st->line++;
	}
	if (!st->stop && csv_fini(&st->parser, csvi_field_cb, csvi_row_cb,
	    st) != 0)
		csvi_fail(st, st->row_line, csvi_column_at(st, st->nfields),
		    "", 0, "unterminated quoted field");
}

/*
 * Sorts with a merge sort, stable. glibc's qsort(3) calls sysinfo(2) to
 * size its buffer once an array is large, and the http child's seccomp
 * filter does not allow that call.
 */
static int
csvi_sort(void *base, size_t n, size_t size,
    int (*cmp)(const void *, const void *))
{
	char	*a = base, *tmp, *src, *dst, *swap;
	size_t	 width, lo, mid, hi, i, j, k;

	if (n < 2)
		return 0;
	if ((tmp = reallocarray(NULL, n, size)) == NULL)
		return -1;
	src = a;
	dst = tmp;
	for (width = 1; width < n; width *= 2) {
		for (lo = 0; lo < n; lo += 2 * width) {
			mid = lo + width < n ? lo + width : n;
			hi = lo + 2 * width < n ? lo + 2 * width : n;
			for (i = lo, j = mid, k = lo; k < hi; k++) {
				if (i < mid && (j == hi ||
				    cmp(src + i * size, src + j * size) <= 0))
					memcpy(dst + k * size, src + i++ * size,
					    size);
				else
					memcpy(dst + k * size, src + j++ * size,
					    size);
			}
		}
		swap = src;
		src = dst;
		dst = swap;
	}
	if (src != a)
		memcpy(a, src, n * size);
	free(tmp);
	return 0;
}

/* Hashes one field with its length, so that fields cannot run together. */
static void
csvi_hash_field(crypto_hash_sha256_state *h, const char *s)
{
	uint64_t	 len = s != NULL ? strlen(s) : UINT64_MAX;

	crypto_hash_sha256_update(h, (const unsigned char *)&len, sizeof(len));
	if (s != NULL)
		crypto_hash_sha256_update(h, (const unsigned char *)s,
		    strlen(s));
}

struct csvi_digest {
	unsigned char	 hash[crypto_hash_sha256_BYTES];
	size_t		 index;		/* file order */
};

static void
csvi_digest_txn(const struct csvimport_txn *t, unsigned char *out)
{
	crypto_hash_sha256_state	 h;

	crypto_hash_sha256_init(&h);
	csvi_hash_field(&h, "bank");
	csvi_hash_field(&h, t->account);
	csvi_hash_field(&h, t->date);
	csvi_hash_field(&h, t->description);
	csvi_hash_field(&h, t->amount);
	csvi_hash_field(&h, t->memo);
	crypto_hash_sha256_final(&h, out);
}

static void
csvi_digest_trade(const struct csvimport_trade *t, unsigned char *out)
{
	crypto_hash_sha256_state	 h;

	crypto_hash_sha256_init(&h);
	csvi_hash_field(&h, "activity");
	csvi_hash_field(&h, t->account);
	csvi_hash_field(&h, t->date);
	csvi_hash_field(&h, t->code);
	csvi_hash_field(&h, t->symbol);
	csvi_hash_field(&h, t->quantity);
	csvi_hash_field(&h, t->price);
	csvi_hash_field(&h, t->amount);
	csvi_hash_field(&h, t->description);
	crypto_hash_sha256_final(&h, out);
}

static int
csvi_digest_cmp(const void *a, const void *b)
{
	const struct csvi_digest	*x = a, *y = b;
	int				 c;

	if ((c = memcmp(x->hash, y->hash, sizeof(x->hash))) != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Sets each record's key: the hash of its fields and its occurrence number
 * among identical records, counted in file order.
 */
static int
csvi_keys(struct csvimport_result *res)
{
	crypto_hash_sha256_state	 h;
	struct csvi_digest		*d;
	unsigned char			 key[crypto_hash_sha256_BYTES];
	uint64_t			 occurrence = 0;
	size_t				 i, n;
	char				*out;

	n = res->kind == CSVIMPORT_BANK ? res->ntxns : res->ntrades;
	if (n == 0)
		return 0;
	if ((d = calloc(n, sizeof(*d))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		d[i].index = i;
		if (res->kind == CSVIMPORT_BANK)
			csvi_digest_txn(&res->txns[i], d[i].hash);
		else
			csvi_digest_trade(&res->trades[i], d[i].hash);
	}
	if (csvi_sort(d, n, sizeof(*d), csvi_digest_cmp) == -1) {
		free(d);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (i > 0 && memcmp(d[i].hash, d[i - 1].hash,
		    sizeof(d[i].hash)) == 0)
			occurrence++;
		else
			occurrence = 1;
		crypto_hash_sha256_init(&h);
		crypto_hash_sha256_update(&h, d[i].hash, sizeof(d[i].hash));
		crypto_hash_sha256_update(&h,
		    (const unsigned char *)&occurrence, sizeof(occurrence));
		crypto_hash_sha256_final(&h, key);
		out = res->kind == CSVIMPORT_BANK ? res->txns[d[i].index].key :
		    res->trades[d[i].index].key;
		sodium_bin2hex(out, CSVIMPORT_KEY_LEN + 1, key, sizeof(key));
	}
	free(d);
	return 0;
}

static int
csvi_trade_date_cmp(const void *a, const void *b)
{
	const struct csvimport_trade	*x = a, *y = b;

	return strcmp(x->date, y->date);
}

/*
 * Puts trades oldest first. Exports list either newest or oldest first.
 * Rows of the same day keep the order the file implies, because a
 * newest-first file is reversed before the stable sort by date.
 */
static int
csvi_trades_order(struct csvimport_result *res)
{
	struct csvimport_trade	 tmp;
	size_t			 i, n = res->ntrades;

	if (n < 2)
		return 0;
	if (strcmp(res->trades[0].date, res->trades[n - 1].date) > 0) {
		for (i = 0; i < n / 2; i++) {
			tmp = res->trades[i];
			res->trades[i] = res->trades[n - 1 - i];
			res->trades[n - 1 - i] = tmp;
		}
	}
	return csvi_sort(res->trades, n, sizeof(tmp), csvi_trade_date_cmp);
}

/*
 * Reads a whole CSV file. Returns 0 when every data row became a record,
 * and -1 when res->rejects lists what is wrong; the records of the good
 * rows are kept in both cases. Free res with csvimport_result_free.
 */
int
csvimport_parse(const char *buf, size_t len, const struct csvimport_opts *opts,
    struct csvimport_result *res)
{
	struct csvi_state	 st;
	size_t			 i;

	memset(res, 0, sizeof(*res));
	memset(&st, 0, sizeof(st));
	res->kind = opts->kind;
	res->layout = "";
	st.opts = opts;
	st.res = res;
	if (csv_init(&st.parser, CSV_STRICT | CSV_STRICT_FINI |
	    CSV_APPEND_NULL) != 0) {
		csvi_fail(&st, 0, "", "", 0, "out of memory");
		return -1;
	}
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	csvi_feed(&st, buf, len);
	csv_free(&st.parser);
	csvi_row_clear(&st);

	if (st.note != NULL) {
		res->skipped++;	/* a trailing disclaimer */
		free(st.note);
	}
	for (i = 0; i < st.nheader; i++)
		free(st.header[i]);
	if (!st.stop && st.layout == NULL)
		csvi_reject(&st, 0, "", "", 0, len == 0 ? "empty file" :
		    csvi_no_header(&st, "no known header; give the column "
		    "mapping"));
	if (csvi_keys(res) == -1 || csvi_trades_order(res) == -1)
		csvi_reject(&st, 0, "", "", 0, "out of memory");
	return res->nrejects_total > 0 ? -1 : 0;
}

void
csvimport_result_free(struct csvimport_result *res)
{
	size_t	 i;

	for (i = 0; i < res->ntxns; i++)
		csvi_txn_free(&res->txns[i]);
	for (i = 0; i < res->ntrades; i++)
		csvi_trade_free(&res->trades[i]);
	free(res->txns);
	free(res->trades);
	free(res->rejects);
	memset(res, 0, sizeof(*res));
}
