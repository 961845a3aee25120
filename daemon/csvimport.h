/*
 * CSV imports: reads bank, card and brokerage exports with libcsv and
 * turns each data row into a normalised record, or into rejects that name
 * the line, column, value and reason. Pure code without I/O, so that the
 * http child, the db child, the unit tests and the fuzzer share it.
 *
 * Conventions of the records:
 * - dates are ISO 8601 (YYYY-MM-DD);
 * - amounts, quantities and prices are exact decimal strings; a bank or
 *   card amount is negative when money goes out of the account;
 * - descriptions have their whitespace runs (line breaks included)
 *   collapsed to one space and are at most 255 characters;
 * - pending bank rows are returned with pending set. The import stores
 *   them marked pending, the finance summary leaves them out, and a later
 *   export that shows the same row posted clears the mark. NOTE: a row
 *   whose date or amount changes when it posts gets a new key, so the
 *   pending copy stays;
 * - key is a SHA-256 over the normalised fields plus the number of the
 *   identical rows before it in the same file, so that importing a file
 *   twice adds nothing while two identical rows of one file both stay.
 *
 * Positions from brokerage activity use average cost, applied oldest trade
 * first (csvimport_position_apply):
 * - Buy adds the quantity and the cost, which is minus the amount (the
 *   amount includes fees);
 * - Sell keeps the cost at the average: the new cost is
 *   cost * remaining / held, rounded half away from zero to 6 places as
 *   PostgreSQL's round() does; selling everything leaves a cost of zero,
 *   and selling more than is held is an error;
 * - every other code (dividends CDIV, interest INT, stock lending SLIP,
 *   transfers ACH and so on) moves cash only and must have no quantity.
 * The cash balance changes by the amount of every row, trades included.
 */

#ifndef BENJI_CSVIMPORT_H
#define BENJI_CSVIMPORT_H

#include <stddef.h>

#include "decimal.h"

#define CSVIMPORT_FIELD_MAX		4096	/* bytes in one field */
#define CSVIMPORT_COLUMNS_MAX		64	/* fields in one row */
#define CSVIMPORT_HEADER_SEARCH		10	/* rows that may precede it */
#define CSVIMPORT_REJECTS_MAX		1000	/* rejects kept in a result */
#define CSVIMPORT_VALUE_SHOWN		64	/* bytes of a rejected value */
#define CSVIMPORT_KEY_LEN		64	/* hex SHA-256 */
#define CSVIMPORT_DESCRIPTION_MAX	255	/* characters */
#define CSVIMPORT_CATEGORY_MAX		64	/* characters */
#define CSVIMPORT_ACCOUNT_MAX		64	/* characters */
#define CSVIMPORT_MEMO_MAX		1024	/* characters */
#define CSVIMPORT_SYMBOL_MAX		12
#define CSVIMPORT_ACTION_MAX		16
#define CSVIMPORT_DATE_LEN		10	/* YYYY-MM-DD */
#define CSVIMPORT_COLUMN_NAME_MAX	64
#define CSVIMPORT_DEFAULT_ACCOUNT	"default"
/* COPY text bytes of one IMSG_DB_IMPORT_ROWS piece, below IPC_FRAME_MAX. */
#define CSVIMPORT_PIECE_MAX		(256 * 1024)

enum csvimport_kind {
	CSVIMPORT_BANK = 0,	/* bank and card transactions */
	CSVIMPORT_ACTIVITY	/* brokerage activity */
};

/* Column roles; an explicit mapping names the header column of each. */
enum csvimport_col {
	CSVIMPORT_COL_DATE = 0,
	CSVIMPORT_COL_DESCRIPTION,
	CSVIMPORT_COL_AMOUNT,
	CSVIMPORT_COL_WITHDRAWAL,
	CSVIMPORT_COL_DEPOSIT,
	CSVIMPORT_COL_CATEGORY,
	CSVIMPORT_COL_STATUS,
	CSVIMPORT_COL_ACCOUNT,
	CSVIMPORT_COL_MEMO,
	CSVIMPORT_COL_ACTION,
	CSVIMPORT_COL_SYMBOL,
	CSVIMPORT_COL_QUANTITY,
	CSVIMPORT_COL_PRICE,
	CSVIMPORT_COL_MAX
};

/* Sign of the amounts in the file. */
enum csvimport_sign {
	CSVIMPORT_SIGN_LAYOUT = 0,	/* as the recognised layout says */
	CSVIMPORT_SIGN_OUT_NEGATIVE,	/* money out is negative: kept */
	CSVIMPORT_SIGN_OUT_POSITIVE	/* charges are positive: flipped */
};

enum csvimport_datefmt {
	CSVIMPORT_DATE_AUTO = 0,	/* YYYY-MM-DD or M/D/YYYY */
	CSVIMPORT_DATE_MDY,
	CSVIMPORT_DATE_DMY,
	CSVIMPORT_DATE_YMD
};

enum csvimport_action {
	CSVIMPORT_ACTION_BUY = 0,
	CSVIMPORT_ACTION_SELL,
	CSVIMPORT_ACTION_CASH
};

struct csvimport_opts {
	enum csvimport_kind	 kind;
	const char		*columns[CSVIMPORT_COL_MAX];	/* or NULL */
	enum csvimport_sign	 sign;
	enum csvimport_datefmt	 datefmt;
	const char		*account;	/* when no account column */
};

/* A bank or card transaction. */
struct csvimport_txn {
	size_t			 line;
	char			 date[CSVIMPORT_DATE_LEN + 1];
	char			*description;
	char			 amount[DECIMAL_STR_MAX];	/* scale 2 */
	char			*category;	/* NULL when none */
	char			*memo;		/* NULL when none */
	char			*account;
	int			 pending;
	char			 key[CSVIMPORT_KEY_LEN + 1];
};

/* A row of brokerage activity; empty strings for absent values. */
struct csvimport_trade {
	size_t			 line;
	char			 date[CSVIMPORT_DATE_LEN + 1];
	char			 code[CSVIMPORT_ACTION_MAX + 1]; /* as given */
	enum csvimport_action	 action;
	char			 symbol[CSVIMPORT_SYMBOL_MAX + 1];
	char			 quantity[DECIMAL_STR_MAX];	/* positive */
	char			 price[DECIMAL_STR_MAX];
	char			 amount[DECIMAL_STR_MAX];	/* scale 2 */
	char			*description;
	char			*account;
	char			 key[CSVIMPORT_KEY_LEN + 1];
};

struct csvimport_reject {
	size_t			 line;		/* 0: the file as a whole */
	char			 column[CSVIMPORT_COLUMN_NAME_MAX + 1];
	char			 value[CSVIMPORT_VALUE_SHOWN + 4];
	char			 reason[128];
};

struct csvimport_result {
	enum csvimport_kind	 kind;
	const char		*layout;	/* recognised layout's name */
	size_t			 header_line;
	size_t			 rows;		/* data rows read */
	size_t			 rejected_rows;
	size_t			 skipped;	/* titles and trailing notes */
	struct csvimport_txn	*txns;		/* file order */
	size_t			 ntxns;
	struct csvimport_trade	*trades;	/* oldest first */
	size_t			 ntrades;
	struct csvimport_reject	*rejects;	/* the first REJECTS_MAX */
	size_t			 nrejects;
	size_t			 nrejects_total;
};

/* A piece of rows in COPY text format, in a buffer of size bytes. */
struct csvimport_copy {
	char			*buf;
	size_t			 len;
	size_t			 size;
	int			 full;	/* the last append did not fit */
};

/* A position while activity is applied to it. */
struct csvimport_position {
	char			 symbol[CSVIMPORT_SYMBOL_MAX + 1];
	struct decimal		 quantity;	/* scale 6 */
	struct decimal		 cost;		/* scale 6 */
};

int	 csvimport_parse(const char *, size_t, const struct csvimport_opts *,
	    struct csvimport_result *);
void	 csvimport_result_free(struct csvimport_result *);
int	 csvimport_position_apply(struct csvimport_position *,
	    const struct csvimport_trade *, const char **);
int	 csvimport_money(const char *, size_t, struct decimal *,
	    const char **);
int	 csvimport_date(const char *, size_t, enum csvimport_datefmt, char *,
	    const char **);
int	 csvimport_text(const char *, size_t, size_t, char **, const char **);
void	 csvimport_show(const char *, size_t, char *, size_t);
const char *csvimport_col_name(enum csvimport_col);
void	 csvimport_copy_field(struct csvimport_copy *, const char *, char);
int	 csvimport_copy_txn(struct csvimport_copy *,
	    const struct csvimport_txn *, size_t);
int	 csvimport_copy_trade(struct csvimport_copy *,
	    const struct csvimport_trade *, size_t, const char *);
int	 csvimport_col_lookup(const char *, enum csvimport_col *);

#endif /* BENJI_CSVIMPORT_H */
