/*
 * Flyway's rules that a shared schema history depends on: the checksum of
 * a script and the order of versions.
 */

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "db.h"

/*
 * Computes Flyway's checksum of a script: CRC-32 over every line without
 * its terminator (LF, CR or CRLF), after a UTF-8 byte order mark is
 * removed, returned as the signed 32-bit value that Flyway stores. Lines
 * are fed one after another, so skipping every CR and LF byte gives the
 * same CRC as feeding the lines.
 */
int32_t
db_checksum(const char *text, size_t len)
{
	const unsigned char	*p = (const unsigned char *)text;
	const unsigned char	*end = p + len;
	uint32_t		 crc = 0xffffffff;
	int			 bit;

	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		p += 3;
	for (; p < end; p++) {
		if (*p == '\n' || *p == '\r')
			continue;
		crc ^= *p;
		for (bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
	}
	return (int32_t)~crc;
}

/* Returns 1 for a version of digits separated by single dots. */
int
db_version_valid(const char *v)
{
	int	 digits = 0;

	for (; *v != '\0'; v++) {
		if (isdigit((unsigned char)*v))
			digits++;
		else if (*v == '.' && digits > 0)
			digits = 0;
		else
			return 0;
	}
	return digits > 0;
}

/* Compares one dotted part of two versions as numbers of any length. */
static int
db_version_part_cmp(const char **ap, const char **bp)
{
	const char	*a = *ap, *b = *bp;
	size_t		 la, lb;

	while (*a == '0' && isdigit((unsigned char)a[1]))
		a++;
	while (*b == '0' && isdigit((unsigned char)b[1]))
		b++;
	la = strspn(a, "0123456789");
	lb = strspn(b, "0123456789");
	*ap = a + la;
	*bp = b + lb;
	if (la != lb)
		return la < lb ? -1 : 1;
	return strncmp(a, b, la) < 0 ? -1 : strncmp(a, b, la) > 0;
}

/*
 * Orders versions as Flyway does: part by part as integers, a missing
 * part counting as zero, so that "1.0" equals "1" and "1.10" follows "1.9".
 */
int
db_version_cmp(const char *a, const char *b)
{
	int	 r;

	while (*a != '\0' || *b != '\0') {
		if (*a == '\0')
			a = "0";
		else if (*b == '\0')
			b = "0";
		if ((r = db_version_part_cmp(&a, &b)) != 0)
			return r;
		if (*a == '.')
			a++;
		if (*b == '.')
			b++;
	}
	return 0;
}
