/*
 * CSV imports: the values inside the fields (amounts, dates, text) and the
 * average-cost rule for positions. See csvimport.h for the conventions.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csvimport.h"

/* Longest amount text accepted, separators and currency sign included. */
#define CSVIMPORT_MONEY_TEXT_MAX	64

static void
csvi_trim(const char **s, size_t *len)
{
	while (*len > 0 && isspace((unsigned char)**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
		(*len)--;
}

/*
 * Copies the digits of "1,234.56" without the grouping commas. Commas may
 * only separate groups of three digits in the integer part, so that a
 * decimal comma ("12,50") is rejected instead of read as 1250.
 */
static int
csvi_ungroup(const char *s, size_t len, char *out, size_t outsz)
{
	size_t	 i, o = 0, group = 0;
	int	 commas = 0, point = 0;

	for (i = 0; i < len; i++) {
		if (o + 1 >= outsz)
			return -1;
		if (s[i] == ',') {
			if (point || group == 0 || (commas && group != 3) ||
			    group > 3)
				return -1;
			commas = 1;
			group = 0;
			continue;
		}
		if (s[i] == '.') {
			if (commas && group != 3)
				return -1;
			point = 1;
		} else if (!point)
			group++;
		out[o++] = s[i];
	}
	if (commas && !point && group != 3)
		return -1;
	out[o] = '\0';
	return 0;
}

/*
 * Parses an amount as exports write it: "-72.34", "$1,234.56",
 * "($1,092.20)" and "-$5.00" or "$-5.00". Sets reason and returns -1 on
 * anything else.
 */
int
csvimport_money(const char *s, size_t len, struct decimal *d,
    const char **reason)
{
	char	 digits[CSVIMPORT_MONEY_TEXT_MAX + 1];
	int	 neg = 0;

	*reason = "not a valid amount";
	csvi_trim(&s, &len);
	if (len == 0 || len > CSVIMPORT_MONEY_TEXT_MAX)
		return -1;
	if (s[0] == '(') {
		if (s[len - 1] != ')')
			return -1;
		neg = 1;
		s++;
		len -= 2;
		csvi_trim(&s, &len);
	}
	if (len > 0 && (s[0] == '-' || s[0] == '+')) {
		if (neg)
			return -1;
		neg = s[0] == '-';
		s++;
		len--;
	}
	if (len > 0 && s[0] == '$') {
		s++;
		len--;
		if (len > 0 && (s[0] == '-' || s[0] == '+')) {
			if (neg || s[0] == '+')
				return -1;
			neg = 1;
			s++;
			len--;
		}
	}
	if (len == 0 || s[0] < '0' || s[0] > '9' ||
	    csvi_ungroup(s, len, digits, sizeof(digits)) == -1 ||
	    decimal_parse(d, digits, strlen(digits)) == -1)
		return -1;
	if (neg)
		decimal_neg(d, d);
	return 0;
}

static int
csvi_number(const char *s, size_t len, int *v)
{
	size_t	 i;

	*v = 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return len > 0 ? 0 : -1;
}

/* Splits "a/b/c" or "a-b-c" into three numbers of 1 to 4 digits. */
static int
csvi_date_parts(const char *s, size_t len, char sep, int part[3],
    size_t width[3])
{
	size_t	 i, start = 0, n = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != sep)
			continue;
		if (n == 3 || i - start > 4 ||
		    csvi_number(s + start, i - start, &part[n]) == -1)
			return -1;
		width[n++] = i - start;
		start = i + 1;
	}
	return n == 3 ? 0 : -1;
}

static int
csvi_days_in_month(int year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (month == 2 && ((year % 4 == 0 && year % 100 != 0) ||
	    year % 400 == 0))
		return 29;
	return days[month - 1];
}

/*
 * Parses a date into out (YYYY-MM-DD). Automatic detection reads
 * YYYY-MM-DD and the M/D/YYYY of US exports; D/M/YYYY must be asked for,
 * because 01/02/2026 cannot tell. Years have four digits.
 */
int
csvimport_date(const char *s, size_t len, enum csvimport_datefmt fmt,
    char *out, const char **reason)
{
	int	 part[3], y, m, d;
	size_t	 width[3];
	char	 sep;

	*reason = "not a valid date";
	csvi_trim(&s, &len);
	sep = memchr(s, '-', len) != NULL ? '-' : '/';
	if (fmt == CSVIMPORT_DATE_AUTO)
		fmt = sep == '-' ? CSVIMPORT_DATE_YMD : CSVIMPORT_DATE_MDY;
	if (csvi_date_parts(s, len, sep, part, width) == -1)
		return -1;
	switch (fmt) {
	case CSVIMPORT_DATE_YMD:
		y = part[0], m = part[1], d = part[2];
		if (width[0] != 4 || width[1] > 2 || width[2] > 2)
			return -1;
		break;
	case CSVIMPORT_DATE_DMY:
		d = part[0], m = part[1], y = part[2];
		if (width[2] != 4 || width[0] > 2 || width[1] > 2)
			return -1;
		break;
	default:
		m = part[0], d = part[1], y = part[2];
		if (width[2] != 4 || width[0] > 2 || width[1] > 2)
			return -1;
		break;
	}
	if (y < 1900 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31 ||
	    d > csvi_days_in_month(y, m)) {
		*reason = "no such calendar date";
		return -1;
	}
	snprintf(out, CSVIMPORT_DATE_LEN + 1, "%04d-%02d-%02d", y, m, d);
	return 0;
}

/* Returns the length of the UTF-8 sequence at s, or 0 when it is invalid. */
static size_t
csvi_utf8_len(const unsigned char *s, size_t len)
{
	size_t		 n, i;
	unsigned int	 cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/*
 * Normalises text: trims it, collapses runs of spaces, tabs and line
 * breaks to one space, and rejects invalid UTF-8, other control characters
 * and text longer than maxchars characters. *out is NULL for empty text.
 */
int
csvimport_text(const char *s, size_t len, size_t maxchars, char **out,
    const char **reason)
{
	const unsigned char	*u = (const unsigned char *)s;
	char			*buf;
	size_t			 i, n, o = 0, chars = 0;
	int			 space = 0;

	*out = NULL;
	if ((buf = malloc(len + 1)) == NULL) {
		*reason = "out of memory";
		return -1;
	}
	for (i = 0; i < len; i += n) {
		n = 1;
		if (u[i] == ' ' || u[i] == '\t' || u[i] == '\r' ||
		    u[i] == '\n') {
			space = o > 0;
			continue;
		}
		if (u[i] < 0x20 || u[i] == 0x7f) {
			*reason = "contains a control character";
			goto fail;
		}
		if ((n = csvi_utf8_len(u + i, len - i)) == 0) {
			*reason = "invalid UTF-8";
			goto fail;
		}
		if (space) {
			buf[o++] = ' ';
			chars++;
			space = 0;
		}
		memcpy(buf + o, s + i, n);
		o += n;
		chars++;
	}
	if (chars > maxchars) {
		*reason = "too long";
		goto fail;
	}
	buf[o] = '\0';
	if (o == 0)
		free(buf);
	else
		*out = buf;
	return 0;
 fail:
	free(buf);
	return -1;
}

/*
 * Copies a value for an error report: at most size - 4 bytes of it, cut
 * on a character boundary and followed by "..." when cut, with control
 * characters and invalid UTF-8 replaced by '?'.
 */
void
csvimport_show(const char *s, size_t len, char *out, size_t size)
{
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, o = 0, n;

	while (i < len) {
		n = csvi_utf8_len(u + i, len - i);
		if (n == 0 || (n == 1 && (u[i] < 0x20 || u[i] == 0x7f)))
			n = 0;
		if (o + (n ? n : 1) > size - 4)
			break;
		if (n == 0) {
			out[o++] = '?';
			i++;
			continue;
		}
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	if (i < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static int
csvi_position_store(struct decimal *d, const struct decimal *v)
{
	/* portfolio_position stores numeric(18,6). */
	if (decimal_round(d, v, 6, DECIMAL_HALF_AWAY) == -1 ||
	    !decimal_fits(d, 18, 6))
		return -1;
	return 0;
}

/*
 * Applies one row of activity to its position with the average-cost rule
 * described in csvimport.h. Rows that move only cash leave the position
 * alone. Returns -1 with reason set when the row cannot apply.
 */
int
csvimport_position_apply(struct csvimport_position *pos,
    const struct csvimport_trade *t, const char **reason)
{
	struct decimal	 qty, amount, cost, held, product;

	*reason = "invalid trade";
	if (t->action == CSVIMPORT_ACTION_CASH)
		return 0;
	if (decimal_parse(&qty, t->quantity, strlen(t->quantity)) == -1 ||
	    decimal_parse(&amount, t->amount, strlen(t->amount)) == -1)
		return -1;
	*reason = "position out of range";
	if (t->action == CSVIMPORT_ACTION_BUY) {
		decimal_neg(&amount, &amount);
		if (decimal_add(&held, &pos->quantity, &qty) == -1 ||
		    decimal_add(&cost, &pos->cost, &amount) == -1 ||
		    csvi_position_store(&pos->quantity, &held) == -1 ||
		    csvi_position_store(&pos->cost, &cost) == -1)
			return -1;
		return 0;
	}
	if (decimal_cmp(&qty, &pos->quantity) > 0) {
		*reason = "sells more than the position holds";
		return -1;
	}
	if (decimal_sub(&held, &pos->quantity, &qty) == -1)
		return -1;
	if (decimal_sign(&held) == 0)
		decimal_from_int(&cost, 0);
	else if (decimal_mul(&product, &pos->cost, &held) == -1 ||
	    decimal_div(&cost, &product, &pos->quantity, 6,
	    DECIMAL_HALF_AWAY) == -1)
		return -1;
	if (csvi_position_store(&pos->quantity, &held) == -1 ||
	    csvi_position_store(&pos->cost, &cost) == -1)
		return -1;
	return 0;
}
