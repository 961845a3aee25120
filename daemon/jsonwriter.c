/*
 * A JSON writer without an object tree: the caller writes the punctuation
 * and keys as literals and the values through the functions below. After
 * a failed allocation every write is ignored and jsonwriter_release
 * returns NULL, so a caller checks once at the end.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonwriter.h"

#define JSONWRITER_MIN	256

/*
 * The escape of each byte as json-c prints it: 0 for none, a letter for
 * "\b"-style escapes, 'u' for "\u00XX". '/' stays as it is, because the
 * replies are printed with JSON_C_TO_STRING_NOSLASHESCAPE.
 */
static const char jsonwriter_escapes[256] = {
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	['"'] = '"',
	['\\'] = '\\',
};

void
jsonwriter_init(struct jsonwriter *w, size_t hint)
{
	memset(w, 0, sizeof(*w));
	w->size = hint > JSONWRITER_MIN ? hint : JSONWRITER_MIN;
	if ((w->buf = malloc(w->size)) == NULL) {
		w->size = 0;
		w->failed = 1;
	}
}

void
jsonwriter_free(struct jsonwriter *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

/* Makes room for n more bytes; returns -1 after marking w failed. */
static int
jsonwriter_reserve(struct jsonwriter *w, size_t n)
{
	size_t	 size;
	char	*p;

	if (w->failed)
		return -1;
	if (w->size - w->len >= n)
		return 0;
	for (size = w->size; size - w->len < n; size *= 2)
		if (size > SIZE_MAX / 2) {
			w->failed = 1;
			return -1;
		}
	if ((p = realloc(w->buf, size)) == NULL) {
		w->failed = 1;
		return -1;
	}
	w->buf = p;
	w->size = size;
	return 0;
}

void
jsonwriter_raw(struct jsonwriter *w, const char *s, size_t n)
{
	if (jsonwriter_reserve(w, n) == -1)
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

void
jsonwriter_literal(struct jsonwriter *w, const char *s)
{
	jsonwriter_raw(w, s, strlen(s));
}

/* Writes s as a quoted JSON string, or null when s is NULL. */
void
jsonwriter_string(struct jsonwriter *w, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	const char		*run;
	char			 esc[6] = { '\\', 'u', '0', '0' };
	unsigned char		 c;

	if (s == NULL) {
		jsonwriter_raw(w, "null", 4);
		return;
	}
	jsonwriter_raw(w, "\"", 1);
	for (run = s; (c = *s) != '\0'; s++) {
		if (jsonwriter_escapes[c] == 0)
			continue;
		jsonwriter_raw(w, run, s - run);
		run = s + 1;
		if (jsonwriter_escapes[c] != 'u') {
			esc[1] = jsonwriter_escapes[c];
			jsonwriter_raw(w, esc, 2);
		} else {
			esc[1] = 'u';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			jsonwriter_raw(w, esc, 6);
		}
	}
	jsonwriter_raw(w, run, s - run);
	jsonwriter_raw(w, "\"", 1);
}

/*
 * Writes the text of a number as it is, or null when text is NULL: the
 * caller vouches for it, as for json_object_new_double_s().
 */
void
jsonwriter_number(struct jsonwriter *w, const char *text)
{
	jsonwriter_literal(w, text != NULL ? text : "null");
}

void
jsonwriter_bool(struct jsonwriter *w, int v)
{
	if (v)
		jsonwriter_raw(w, "true", 4);
	else
		jsonwriter_raw(w, "false", 5);
}

/*
 * Hands over the text, not NUL-terminated, for the caller to free(3).
 * Returns NULL after a failed allocation; w is empty either way.
 */
char *
jsonwriter_release(struct jsonwriter *w, size_t *len)
{
	char	*text = w->failed ? NULL : w->buf;

	*len = w->failed ? 0 : w->len;
	if (w->failed)
		free(w->buf);
	memset(w, 0, sizeof(*w));
	return text;
}
