/*
 * Quote logic without I/O, shared by the http child, the fetcher and the
 * unit tests: symbols, exact decimals, AlphaVantage replies, the fake
 * provider and the call budget.
 */

#ifndef BENJI_QUOTE_H
#define BENJI_QUOTE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define QUOTE_DECIMAL_MAX	32	/* digits, sign and point, plus NUL */
#define QUOTE_DATE_LEN		10	/* YYYY-MM-DD */
#define QUOTE_MESSAGE_MAX	256

struct quote_data {
	char	 symbol[QUOTE_SYMBOL_MAX + 1];
	char	 price[QUOTE_DECIMAL_MAX];
	char	 change[QUOTE_DECIMAL_MAX];
	char	 change_percent[QUOTE_DECIMAL_MAX + 1];	/* with its '%' */
	char	 as_of[QUOTE_DATE_LEN + 1];
	char	 currency[4];				/* "" when unknown */
};

/* What an AlphaVantage GLOBAL_QUOTE body turned out to be. */
enum av_reply {
	AV_QUOTE,		/* a valid quote */
	AV_NOT_FOUND,		/* empty "Global Quote": no such symbol */
	AV_RATE_LIMITED,	/* "Note", or "Information" about a limit */
	AV_KEY_INVALID,		/* "Error Message" about the API key */
	AV_ERROR,		/* other error, or a quote with invalid data */
	AV_MALFORMED		/* not JSON, truncated: worth a retry */
};

/* Calls per fixed minute window and per UTC day; 0 means no limit. */
struct quote_budget {
	uint64_t	 per_minute;
	uint64_t	 per_day;
	time_t		 minute_start;
	uint64_t	 minute_calls;
	int64_t		 day;		/* days since the epoch, UTC */
	uint64_t	 day_calls;
	time_t		 blocked_until;	/* set when the provider says so */
};

#define QUOTE_DECIMAL_SIGNED	0x01
#define QUOTE_DECIMAL_POSITIVE	0x02
#define QUOTE_DECIMAL_PERCENT	0x04

int	 quote_symbol_normalize(const char *, char *, size_t);
int	 quote_decimal_normalize(const char *, int, char *, size_t);
int	 quote_date_check(const char *);
const char *quote_currency(const char *);

enum av_reply quote_av_parse(const char *, size_t, struct quote_data *,
	    char *, size_t);
const char *quote_av_reply_name(enum av_reply);

int	 quote_fake(const char *, time_t, struct quote_data *);

void	 quote_budget_init(struct quote_budget *, uint64_t, uint64_t);
unsigned int quote_budget_take(struct quote_budget *, time_t);
void	 quote_budget_exhaust(struct quote_budget *, time_t, int);
uint64_t quote_budget_calls_today(const struct quote_budget *, time_t);

#endif /* BENJI_QUOTE_H */
