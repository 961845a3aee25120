/*
 * libFuzzer target for what a market data provider sends: the AlphaVantage
 * reply parser, and the symbol and decimal checks its fields go through.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "benjid.h"
#include "quote.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 ready;
	struct quote_data	 q;
	enum av_reply		 r;
	char			 msg[QUOTE_MESSAGE_MAX], out[64], *text;

	if (!ready) {
		log_init("fuzz", LOG_TO_NULL, 0);
		ready = 1;
	}

	r = quote_av_parse((const char *)data, size, &q, msg, sizeof(msg));
	/* A quote must come out with a price that is itself valid. */
	if (r == AV_QUOTE && quote_decimal_normalize(q.price,
	    QUOTE_DECIMAL_POSITIVE, out, sizeof(out)) == -1)
		abort();
	if (memchr(msg, '\0', sizeof(msg)) == NULL)
		abort();

	if ((text = malloc(size + 1)) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	quote_symbol_normalize(text, out, sizeof(out));
	quote_decimal_normalize(text, QUOTE_DECIMAL_SIGNED |
	    QUOTE_DECIMAL_PERCENT, out, sizeof(out));
	quote_date_check(text);
	free(text);
	return 0;
}
