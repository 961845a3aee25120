/*
 * The JSON bodies of the portfolio replies, written from the db child's
 * rows without json-c trees.
 */

#ifndef BENJI_PORTFOLIO_JSON_H
#define BENJI_PORTFOLIO_JSON_H

#include <stdint.h>

struct db_rows;
struct jsonwriter;

void	 portfolio_json_position(struct jsonwriter *, const struct db_rows *,
	    uint32_t);
void	 portfolio_json_positions(struct jsonwriter *, const struct db_rows *,
	    const char *);
void	 portfolio_json_summary(struct jsonwriter *, const struct db_rows *,
	    const char *, const char *const *);
void	 portfolio_json_summary_end(struct jsonwriter *,
	    const struct jsonwriter *);
void	 portfolio_json_cash(struct jsonwriter *, const struct db_rows *);

#endif
