/*
 * Exact decimal arithmetic on a 128-bit coefficient (see decimal.h).
 *
 * Provides parsing of plain decimal text ("-12.50"), formatting that keeps
 * the scale, checked add, subtract and multiply, division and rounding
 * (half to even or half away from zero), comparison, trimming of trailing
 * zeros, and decimal_fits for PostgreSQL numeric(p,s) columns.
 * Money in benjid goes through these functions or through PostgreSQL
 * numeric, never through binary floating point.
 */

#include <stdint.h>
#include <string.h>

#include "decimal.h"

/* 10^38 - 1: the largest coefficient, so that every value has 38 digits. */
static const __int128 decimal_coef_max =
    (__int128)10000000000000000000ULL * 10000000000000000000ULL - 1;

static __int128
decimal_abs(__int128 v)
{
	return v < 0 ? -v : v;
}

static int
decimal_in_range(__int128 v)
{
	return v <= decimal_coef_max && v >= -decimal_coef_max;
}

/* Multiplies v by 10^n; fails when the result leaves the range. */
static int
decimal_shift(__int128 *v, unsigned int n)
{
	__int128	 r = *v;

	while (n-- > 0) {
		if (__builtin_mul_overflow(r, 10, &r) || !decimal_in_range(r))
			return -1;
	}
	*v = r;
	return 0;
}

/* Brings a and b to the larger of their scales. */
static int
decimal_align(const struct decimal *a, const struct decimal *b,
    __int128 *ca, __int128 *cb, unsigned int *scale)
{
	*ca = a->coef;
	*cb = b->coef;
	*scale = a->scale > b->scale ? a->scale : b->scale;
	if (decimal_shift(ca, *scale - a->scale) == -1 ||
	    decimal_shift(cb, *scale - b->scale) == -1)
		return -1;
	return 0;
}

/*
 * Parses optional sign, digits, and an optional point followed by digits.
 * Returns -1 on anything else, on more than DECIMAL_SCALE_MAX fraction
 * digits and on more than DECIMAL_DIGITS_MAX significant digits.
 */
int
decimal_parse(struct decimal *d, const char *s, size_t len)
{
	const char	*end = s + len;
	__int128	 coef = 0;
	unsigned int	 scale = 0, digits = 0, intdigits = 0;
	int		 neg = 0, point = 0;

	if (s < end && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	for (; s < end; s++) {
		if (*s == '.' && !point) {
			if (intdigits == 0)
				return -1;
			point = 1;
			continue;
		}
		if (*s < '0' || *s > '9')
			return -1;
		if (point)
			scale++;
		else
			intdigits++;
		if (coef != 0 || *s != '0')
			digits++;
		if (digits > DECIMAL_DIGITS_MAX || scale > DECIMAL_SCALE_MAX)
			return -1;
		coef = coef * 10 + (*s - '0');
	}
	if (intdigits == 0 || (point && scale == 0))
		return -1;
	d->coef = neg ? -coef : coef;
	d->scale = scale;
	return 0;
}

/* Writes the value with exactly its scale of fraction digits. */
int
decimal_format(const struct decimal *d, char *buf, size_t size)
{
	char		 digits[DECIMAL_DIGITS_MAX + DECIMAL_SCALE_MAX + 2];
	__int128	 v = decimal_abs(d->coef);
	size_t		 n = 0, i, o = 0;

	do {
		digits[n++] = '0' + (int)(v % 10);
		v /= 10;
	} while (v != 0);
	while (n <= d->scale)
		digits[n++] = '0';
	if (size < n + 3)
		return -1;
	if (d->coef < 0)
		buf[o++] = '-';
	for (i = n; i > 0; i--) {
		buf[o++] = digits[i - 1];
		if (i - 1 == d->scale && d->scale > 0)
			buf[o++] = '.';
	}
	buf[o] = '\0';
	return 0;
}

void
decimal_from_int(struct decimal *d, long long v)
{
	d->coef = v;
	d->scale = 0;
}

int
decimal_add(struct decimal *r, const struct decimal *a,
    const struct decimal *b)
{
	__int128	 ca, cb, sum;
	unsigned int	 scale;

	if (decimal_align(a, b, &ca, &cb, &scale) == -1 ||
	    __builtin_add_overflow(ca, cb, &sum) || !decimal_in_range(sum))
		return -1;
	r->coef = sum;
	r->scale = scale;
	return 0;
}

int
decimal_sub(struct decimal *r, const struct decimal *a,
    const struct decimal *b)
{
	struct decimal	 nb;

	decimal_neg(&nb, b);
	return decimal_add(r, a, &nb);
}

/* The product carries the sum of the scales; fails past DECIMAL_SCALE_MAX. */
int
decimal_mul(struct decimal *r, const struct decimal *a,
    const struct decimal *b)
{
	__int128	 p;

	if (a->scale + b->scale > DECIMAL_SCALE_MAX ||
	    __builtin_mul_overflow(a->coef, b->coef, &p) ||
	    !decimal_in_range(p))
		return -1;
	r->coef = p;
	r->scale = a->scale + b->scale;
	return 0;
}

/* Divides num by den, both integers, rounding a tie as mode says. */
static __int128
decimal_idiv(__int128 num, __int128 den, enum decimal_rounding mode)
{
	__int128	 q = num / den, rem = decimal_abs(num % den);
	__int128	 half = decimal_abs(den) - rem;
	int		 neg = (num < 0) != (den < 0);

	if (rem > half || (rem == half && (mode == DECIMAL_HALF_AWAY ||
	    (q % 2) != 0)))
		q += neg ? -1 : 1;
	return q;
}

/* Computes a / b rounded to the given scale. */
int
decimal_div(struct decimal *r, const struct decimal *a,
    const struct decimal *b, unsigned int scale, enum decimal_rounding mode)
{
	__int128	 num = a->coef, den = b->coef, q;
	int		 e = (int)scale + (int)b->scale - (int)a->scale;

	if (den == 0 || scale > DECIMAL_SCALE_MAX)
		return -1;
	if (e >= 0 && decimal_shift(&num, (unsigned int)e) == -1)
		return -1;
	if (e < 0 && decimal_shift(&den, (unsigned int)-e) == -1) {
		/* A divisor that large makes the quotient round to zero. */
		r->coef = 0;
		r->scale = scale;
		return 0;
	}
	q = decimal_idiv(num, den, mode);
	if (!decimal_in_range(q))
		return -1;
	r->coef = q;
	r->scale = scale;
	return 0;
}

/* Rounds to the given scale, or extends the scale exactly. */
int
decimal_round(struct decimal *r, const struct decimal *a, unsigned int scale,
    enum decimal_rounding mode)
{
	__int128	 den = 1, c = a->coef;

	if (scale > DECIMAL_SCALE_MAX)
		return -1;
	if (scale >= a->scale) {
		if (decimal_shift(&c, scale - a->scale) == -1)
			return -1;
		r->coef = c;
		r->scale = scale;
		return 0;
	}
	if (decimal_shift(&den, a->scale - scale) == -1)
		return -1;
	r->coef = decimal_idiv(c, den, mode);
	r->scale = scale;
	return 0;
}

/* Returns -1, 0 or 1; values of any scale compare exactly. */
int
decimal_cmp(const struct decimal *a, const struct decimal *b)
{
	struct decimal	 d;

	if (decimal_sub(&d, a, b) == 0)
		return decimal_sign(&d);
	/* Aligning overflowed, so the signs or the magnitudes differ a lot. */
	if (decimal_sign(a) != decimal_sign(b))
		return decimal_sign(a) < decimal_sign(b) ? -1 : 1;
	return a->scale < b->scale ? decimal_sign(a) : -decimal_sign(a);
}

int
decimal_sign(const struct decimal *d)
{
	return d->coef < 0 ? -1 : d->coef > 0;
}

void
decimal_neg(struct decimal *r, const struct decimal *a)
{
	r->coef = -a->coef;
	r->scale = a->scale;
}

/*
 * Returns 1 when a PostgreSQL numeric(precision, scale) column stores the
 * value without rounding it: at most scale fraction digits once trailing
 * zeros are dropped, and at most precision - scale integer digits.
 */
int
decimal_fits(const struct decimal *d, unsigned int precision,
    unsigned int scale)
{
	__int128	 c = d->coef, limit = 1;
	unsigned int	 s = d->scale;

	while (s > scale) {
		if (c % 10 != 0)
			return 0;
		c /= 10;
		s--;
	}
	if (decimal_shift(&c, scale - s) == -1 ||
	    decimal_shift(&limit, precision) == -1)
		return 0;
	return decimal_abs(c) < limit;
}

/* Drops trailing zeros of the fraction: 8.500000 becomes 8.5. */
void
decimal_trim(struct decimal *d)
{
	while (d->scale > 0 && d->coef % 10 == 0) {
		d->coef /= 10;
		d->scale--;
	}
}
