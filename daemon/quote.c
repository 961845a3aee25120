/*
 * Quote logic without I/O: symbols, exact decimals, AlphaVantage replies,
 * the fake provider and the call budget. Prices stay decimal text from the
 * provider's reply to the client's JSON and never pass through a double.
 */

#include <sys/types.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "benjid.h"
#include "quote.h"

/* Upper bound of a reply the parser looks at; the fetcher caps it too. */
#define QUOTE_AV_BODY_MAX	(64 * 1024)

/*
 * Trims ASCII white space, upper-cases and checks a ticker symbol. A valid
 * symbol matches [A-Z0-9]([A-Z0-9.-]*[A-Z0-9])? and has at most
 * QUOTE_SYMBOL_MAX characters: "IBM", "BRK.B", "BRK-B", "TSCO.LON".
 * Returns 0, or -1 when the symbol is invalid or out is too small.
 */
int
quote_symbol_normalize(const char *in, char *out, size_t outsz)
{
	const char	*end;
	size_t		 len, i;
	char		 c;

	while (*in == ' ' || *in == '\t')
		in++;
	end = in + strlen(in);
	while (end > in && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - in);
	if (len == 0 || len > QUOTE_SYMBOL_MAX || len >= outsz)
		return -1;

	for (i = 0; i < len; i++) {
		c = (char)toupper((unsigned char)in[i]);
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    ((c == '.' || c == '-') && i > 0 && i < len - 1)))
			return -1;
		out[i] = c;
	}
	out[len] = '\0';
	return 0;
}

/*
 * Checks decimal text ("-4.8700", "0.8532%") and writes it without
 * trailing fractional zeros ("-4.87"). flags allow a leading '-'
 * (QUOTE_DECIMAL_SIGNED), require a value above zero
 * (QUOTE_DECIMAL_POSITIVE) or require a final '%' (QUOTE_DECIMAL_PERCENT).
 * Exponents, "NaN", "Infinity" and spaces are rejected.
 */
int
quote_decimal_normalize(const char *s, int flags, char *out, size_t outsz)
{
	size_t	 len = strlen(s), i = 0, intdigits = 0, fracdigits = 0;
	size_t	 cut;
	int	 nonzero = 0, negative = 0, percent;

	if ((flags & QUOTE_DECIMAL_PERCENT) && (len == 0 || s[--len] != '%'))
		return -1;
	if (len == 0 || len >= QUOTE_DECIMAL_MAX)
		return -1;
	if (s[i] == '-' || s[i] == '+') {
		if (!(flags & QUOTE_DECIMAL_SIGNED))
			return -1;
		negative = s[i] == '-';
		i++;
	}
	for (; i < len && isdigit((unsigned char)s[i]); i++, intdigits++)
		nonzero |= s[i] != '0';
	cut = i;
	if (i < len && s[i] == '.') {
		for (i++; i < len && isdigit((unsigned char)s[i]);
		    i++, fracdigits++) {
			if (s[i] != '0') {
				nonzero = 1;
				cut = i + 1;
			}
		}
		if (fracdigits == 0)
			return -1;
	}
	if (i != len || intdigits == 0)
		return -1;
	if ((flags & QUOTE_DECIMAL_POSITIVE) && (!nonzero || negative))
		return -1;

	/*
	 * "+1.50" is written "1.5", and "-0.00" as "0". Not with snprintf:
	 * the http child checks every price it passes on.
	 */
	i = s[0] == '-' || s[0] == '+' ? 1 : 0;
	negative = negative && nonzero;
	percent = (flags & QUOTE_DECIMAL_PERCENT) != 0;
	if ((size_t)negative + (cut - i) + (size_t)percent >= outsz)
		return -1;
	if (negative)
		*out++ = '-';
	memcpy(out, s + i, cut - i);
	out += cut - i;
	if (percent)
		*out++ = '%';
	*out = '\0';
	return 0;
}

/* Checks a calendar date written YYYY-MM-DD. */
int
quote_date_check(const char *s)
{
	struct tm	 tm;
	const char	*end;

	if (strlen(s) != QUOTE_DATE_LEN)
		return -1;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end == NULL || *end != '\0' || s[4] != '-' || s[7] != '-')
		return -1;
	return 0;
}

/*
 * AlphaVantage sends no currency. It writes listings outside the United
 * States with an exchange suffix of two or more letters after a dot
 * ("TSCO.LON", "SHOP.TRT"); a single letter after the dot is a share class
 * ("BRK.B"). So a symbol without such a suffix is an American listing in
 * USD, and for any other the currency is unknown.
 */
const char *
quote_currency(const char *symbol)
{
	const char	*dot = strrchr(symbol, '.');

	if (dot == NULL || strlen(dot + 1) == 1)
		return "USD";
	return "";
}

const char *
quote_av_reply_name(enum av_reply r)
{
	switch (r) {
	case AV_QUOTE:
		return "quote";
	case AV_NOT_FOUND:
		return "not found";
	case AV_RATE_LIMITED:
		return "rate limited";
	case AV_KEY_INVALID:
		return "invalid API key";
	case AV_ERROR:
		return "provider error";
	case AV_MALFORMED:
		return "malformed reply";
	}
	return "unknown";
}

/* Returns the string member key of obj, or NULL when absent or not text. */
static const char *
av_string(struct json_object *obj, const char *key)
{
	struct json_object	*v;
	const char		*s;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	/* A NUL inside the value would cut it short unseen. */
	if ((size_t)json_object_get_string_len(v) != strlen(s))
		return NULL;
	return s;
}

static void
av_message(char *msg, size_t msgsz, const char *text)
{
	size_t	 i;

	snprintf(msg, msgsz, "%s", text);
	for (i = 0; msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < ' ')
			msg[i] = ' ';
}

static int
av_mentions(const char *text, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strcasestr(text, *words) != NULL)
			return 1;
	return 0;
}

/* Reads the members of a non-empty "Global Quote" object. */
static enum av_reply
av_quote(struct json_object *gq, struct quote_data *q, char *msg,
    size_t msgsz)
{
	const char	*price, *day, *change, *percent;

	if (!json_object_object_get_ex(gq, "05. price", NULL))
		return AV_NOT_FOUND;
	if ((price = av_string(gq, "05. price")) == NULL) {
		av_message(msg, msgsz, "price is not a string");
		return AV_ERROR;
	}
	day = av_string(gq, "07. latest trading day");
	change = av_string(gq, "09. change");
	percent = av_string(gq, "10. change percent");

	if (quote_decimal_normalize(price, QUOTE_DECIMAL_POSITIVE, q->price,
	    sizeof(q->price)) == -1) {
		av_message(msg, msgsz, "price is not a positive decimal");
		return AV_ERROR;
	}
	if (day == NULL || quote_date_check(day) == -1) {
		av_message(msg, msgsz, "latest trading day is not a date");
		return AV_ERROR;
	}
	snprintf(q->as_of, sizeof(q->as_of), "%s", day);
	q->change[0] = q->change_percent[0] = '\0';
	if (change != NULL && quote_decimal_normalize(change,
	    QUOTE_DECIMAL_SIGNED, q->change, sizeof(q->change)) == -1) {
		av_message(msg, msgsz, "change is not a decimal");
		return AV_ERROR;
	}
	if (percent != NULL && quote_decimal_normalize(percent,
	    QUOTE_DECIMAL_SIGNED | QUOTE_DECIMAL_PERCENT, q->change_percent,
	    sizeof(q->change_percent)) == -1) {
		av_message(msg, msgsz, "change percent is not a percentage");
		return AV_ERROR;
	}
	return AV_QUOTE;
}

/*
 * Classifies a GLOBAL_QUOTE reply body and fills q for a quote. The
 * provider answers HTTP 200 for most failures, so only the body decides.
 * msg receives the provider's own text for errors, with control bytes
 * replaced; it never contains the request URL.
 */
enum av_reply
quote_av_parse(const char *body, size_t len, struct quote_data *q,
    char *msg, size_t msgsz)
{
	static const char *const limit_words[] = { "limit", "premium",
	    "frequency", NULL };
	static const char *const key_words[] = { "apikey", "api key", NULL };
	struct json_tokener	*tok;
	struct json_object	*root, *gq;
	enum json_tokener_error	 jerr;
	const char		*text;
	enum av_reply		 r;

	msg[0] = '\0';
	memset(q, 0, sizeof(*q));
	if (len == 0 || len > QUOTE_AV_BODY_MAX || memchr(body, '\0', len)) {
		av_message(msg, msgsz, "empty, oversized or binary reply");
		return AV_MALFORMED;
	}
	if ((tok = json_tokener_new()) == NULL)
		return AV_MALFORMED;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	if (root != NULL && (jerr != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)) {
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		av_message(msg, msgsz, "reply is not a complete JSON object");
		return AV_MALFORMED;
	}

	if ((text = av_string(root, "Note")) != NULL) {
		av_message(msg, msgsz, text);
		r = AV_RATE_LIMITED;
	} else if ((text = av_string(root, "Information")) != NULL) {
		av_message(msg, msgsz, text);
		r = av_mentions(text, limit_words) ? AV_RATE_LIMITED :
		    AV_ERROR;
	} else if ((text = av_string(root, "Error Message")) != NULL) {
		av_message(msg, msgsz, text);
		r = av_mentions(text, key_words) ? AV_KEY_INVALID : AV_ERROR;
	} else if (json_object_object_get_ex(root, "Global Quote", &gq) &&
	    json_object_is_type(gq, json_type_object)) {
		r = json_object_object_length(gq) == 0 ? AV_NOT_FOUND :
		    av_quote(gq, q, msg, msgsz);
	} else {
		av_message(msg, msgsz, "reply has no \"Global Quote\"");
		r = AV_ERROR;
	}
	json_object_put(root);
	return r;
}

/* FNV-1a over the symbol and the day number. */
static uint64_t
fake_hash(const char *symbol, int64_t day)
{
	uint64_t	 h = 14695981039346656037ULL;
	char		 buf[64];
	size_t		 i, n;

	n = (size_t)snprintf(buf, sizeof(buf), "%s/%lld", symbol,
	    (long long)day);
	for (i = 0; i < n && i < sizeof(buf); i++) {
		h ^= (unsigned char)buf[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* Price in cents, from 10.00 to 999.99. */
static int64_t
fake_cents(const char *symbol, int64_t day)
{
	return 1000 + (int64_t)(fake_hash(symbol, day) % 99000);
}

/*
 * Makes the fake provider's quote: a price that depends only on the symbol
 * and the UTC day, and the change from the day before, all in integer
 * cents so that the text is exact.
 */
int
quote_fake(const char *symbol, time_t now, struct quote_data *q)
{
	struct tm	 tm;
	int64_t		 day = (int64_t)now / 86400, cents, prev, diff, bp;
	int64_t		 adiff, abp;

	memset(q, 0, sizeof(*q));
	if (gmtime_r(&now, &tm) == NULL)
		return -1;
	cents = fake_cents(symbol, day);
	prev = fake_cents(symbol, day - 1);
	diff = cents - prev;
	adiff = diff < 0 ? -diff : diff;
	/* Change in 1/10000 of a percent, truncated toward zero. */
	bp = diff * 1000000 / prev;
	abp = bp < 0 ? -bp : bp;

	snprintf(q->symbol, sizeof(q->symbol), "%s", symbol);
	snprintf(q->price, sizeof(q->price), "%lld.%02lld",
	    (long long)(cents / 100), (long long)(cents % 100));
	snprintf(q->change, sizeof(q->change), "%s%lld.%02lld",
	    diff < 0 ? "-" : "", (long long)(adiff / 100),
	    (long long)(adiff % 100));
	snprintf(q->change_percent, sizeof(q->change_percent),
	    "%s%lld.%04lld%%", bp < 0 ? "-" : "", (long long)(abp / 10000),
	    (long long)(abp % 10000));
	strftime(q->as_of, sizeof(q->as_of), "%Y-%m-%d", &tm);
	snprintf(q->currency, sizeof(q->currency), "USD");
	return 0;
}

void
quote_budget_init(struct quote_budget *b, uint64_t per_minute,
    uint64_t per_day)
{
	memset(b, 0, sizeof(*b));
	b->per_minute = per_minute;
	b->per_day = per_day;
}

static time_t
budget_next_day(time_t now)
{
	return (now / 86400 + 1) * 86400;
}

/*
 * Takes one call from the budget. Returns 0 when the call may go ahead,
 * else the number of seconds until the budget allows one again.
 */
unsigned int
quote_budget_take(struct quote_budget *b, time_t now)
{
	int64_t	 day = (int64_t)now / 86400;

	if (b->blocked_until > now)
		return (unsigned int)(b->blocked_until - now);
	if (now - b->minute_start >= 60 || now < b->minute_start) {
		b->minute_start = now;
		b->minute_calls = 0;
	}
	if (day != b->day) {
		b->day = day;
		b->day_calls = 0;
	}
	if (b->per_day != 0 && b->day_calls >= b->per_day)
		return (unsigned int)(budget_next_day(now) - now);
	if (b->per_minute != 0 && b->minute_calls >= b->per_minute)
		return (unsigned int)(b->minute_start + 60 - now);
	b->minute_calls++;
	b->day_calls++;
	return 0;
}

/*
 * Marks the budget spent after the provider reported its limit: until the
 * next UTC day for a daily limit, else for one minute.
 */
void
quote_budget_exhaust(struct quote_budget *b, time_t now, int daily)
{
	b->blocked_until = daily ? budget_next_day(now) : now + 60;
}

uint64_t
quote_budget_calls_today(const struct quote_budget *b, time_t now)
{
	return b->day == (int64_t)now / 86400 ? b->day_calls : 0;
}
