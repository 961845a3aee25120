/*
 * Exact fixed-point decimals for money and quantities: a 128-bit
 * coefficient and a decimal scale, value = coef / 10^scale. Every operation
 * checks for overflow and fails instead of rounding in silence; only
 * decimal_div and decimal_round round, to the scale and in the mode asked.
 */

#ifndef BENJI_DECIMAL_H
#define BENJI_DECIMAL_H

#include <stddef.h>

/* Significant digits a coefficient may carry: 10^38 - 1 fits in __int128. */
#define DECIMAL_DIGITS_MAX	38
/* Digits after the decimal point. */
#define DECIMAL_SCALE_MAX	18
/* Sign, 38 digits, "0." before a fraction, the point and the NUL. */
#define DECIMAL_STR_MAX		(1 + DECIMAL_DIGITS_MAX + 2 + 1 + 1)

enum decimal_rounding {
	DECIMAL_HALF_EVEN = 0,	/* banker's rounding */
	DECIMAL_HALF_AWAY	/* PostgreSQL's round(numeric, n) */
};

struct decimal {
	__int128	 coef;
	unsigned int	 scale;
};

int	 decimal_parse(struct decimal *, const char *, size_t);
int	 decimal_format(const struct decimal *, char *, size_t);
void	 decimal_from_int(struct decimal *, long long);
int	 decimal_add(struct decimal *, const struct decimal *,
	    const struct decimal *);
int	 decimal_sub(struct decimal *, const struct decimal *,
	    const struct decimal *);
int	 decimal_mul(struct decimal *, const struct decimal *,
	    const struct decimal *);
int	 decimal_div(struct decimal *, const struct decimal *,
	    const struct decimal *, unsigned int, enum decimal_rounding);
int	 decimal_round(struct decimal *, const struct decimal *, unsigned int,
	    enum decimal_rounding);
int	 decimal_cmp(const struct decimal *, const struct decimal *);
int	 decimal_sign(const struct decimal *);
void	 decimal_neg(struct decimal *, const struct decimal *);
int	 decimal_fits(const struct decimal *, unsigned int, unsigned int);
void	 decimal_trim(struct decimal *);

#endif /* BENJI_DECIMAL_H */
