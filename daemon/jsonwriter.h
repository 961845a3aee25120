/*
 * JSON text written piece by piece into one growing buffer, for replies
 * too large to build as json-c object trees. The bytes are those that
 * json-c 0.16 prints with JSON_C_TO_STRING_PLAIN and
 * JSON_C_TO_STRING_NOSLASHESCAPE.
 */

#ifndef BENJI_JSONWRITER_H
#define BENJI_JSONWRITER_H

#include <stddef.h>

struct jsonwriter {
	char	*buf;
	size_t	 len;
	size_t	 size;
	int	 failed;	/* out of memory: the text is incomplete */
};

/* Writes a string constant as it is, with its length known when compiled. */
#define JSONWRITER_CONST(w, s)	jsonwriter_raw((w), "" s, sizeof(s) - 1)

void	 jsonwriter_init(struct jsonwriter *, size_t);
void	 jsonwriter_free(struct jsonwriter *);
void	 jsonwriter_raw(struct jsonwriter *, const char *, size_t);
void	 jsonwriter_literal(struct jsonwriter *, const char *);
void	 jsonwriter_string(struct jsonwriter *, const char *);
void	 jsonwriter_number(struct jsonwriter *, const char *);
void	 jsonwriter_bool(struct jsonwriter *, int);
char	*jsonwriter_release(struct jsonwriter *, size_t *);

#endif
