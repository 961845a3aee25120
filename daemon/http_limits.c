/*
 * The limits and timeouts of the http child in benjid.conf: defaults and
 * the "http option value" directive. The parent sends them to the child
 * with http_config_send.
 */

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benjid.h"

#define KIB	((uint64_t)1024)
#define MIB	(KIB * 1024)

enum http_limit_unit {
	UNIT_BYTES,
	UNIT_COUNT,
	UNIT_DURATION
};

static const struct http_limit {
	const char		*name;
	size_t			 offset;
	enum http_limit_unit	 unit;
	uint64_t		 min;
	uint64_t		 max;
	uint64_t		 def;
} http_limits[] = {
	{ "max-uri-length", offsetof(struct benjid_config, http_uri_max),
	    UNIT_BYTES, 64, 64 * KIB, 8 * KIB },
	{ "max-header-size", offsetof(struct benjid_config, http_head_max),
	    UNIT_BYTES, 256, 1 * MIB, 16 * KIB },
	{ "max-header-count", offsetof(struct benjid_config, http_headers_max),
	    UNIT_COUNT, 8, 1000, 100 },
	{ "max-body-size", offsetof(struct benjid_config, http_body_max),
	    UNIT_BYTES, 0, 64 * MIB, 1 * MIB },
	{ "max-import-size", offsetof(struct benjid_config, http_import_max),
	    UNIT_BYTES, 0, 256 * MIB, 10 * MIB },
	{ "read-buffer", offsetof(struct benjid_config, http_read_buffer),
	    UNIT_BYTES, 4 * KIB, 16 * MIB, 64 * KIB },
	{ "max-connections", offsetof(struct benjid_config,
	    http_connections_max), UNIT_COUNT, 1, 100000, 1024 },
	{ "max-requests-per-connection", offsetof(struct benjid_config,
	    http_requests_max), UNIT_COUNT, 1, 1000000, 100 },
	{ "head-timeout", offsetof(struct benjid_config, http_head_timeout_ms),
	    UNIT_DURATION, 100, 3600 * 1000, 10 * 1000 },
	{ "body-timeout", offsetof(struct benjid_config, http_body_timeout_ms),
	    UNIT_DURATION, 100, 3600 * 1000, 30 * 1000 },
	{ "idle-timeout", offsetof(struct benjid_config, http_idle_timeout_ms),
	    UNIT_DURATION, 100, 3600 * 1000, 75 * 1000 },
	{ "write-timeout", offsetof(struct benjid_config,
	    http_write_timeout_ms), UNIT_DURATION, 100, 3600 * 1000,
	    30 * 1000 },
};

static uint64_t *
http_limit_field(struct benjid_config *conf, const struct http_limit *l)
{
	return (uint64_t *)(void *)((char *)conf + l->offset);
}

void
http_limits_defaults(struct benjid_config *conf)
{
	size_t	 i;

	for (i = 0; i < sizeof(http_limits) / sizeof(http_limits[0]); i++)
		*http_limit_field(conf, &http_limits[i]) = http_limits[i].def;
}

/* Copies every http limit of src into dst, for a reload. */
void
http_limits_copy(struct benjid_config *dst, const struct benjid_config *src)
{
	size_t	 i;

	for (i = 0; i < sizeof(http_limits) / sizeof(http_limits[0]); i++)
		*http_limit_field(dst, &http_limits[i]) =
		    *http_limit_field((struct benjid_config *)(uintptr_t)src,
		    &http_limits[i]);
}

/* Parses a decimal number with an optional K or M suffix (binary units). */
static int
http_limit_bytes(const char *value, uint64_t *n)
{
	char	*end;

	if (!isdigit((unsigned char)value[0]))
		return -1;
	errno = 0;
	*n = strtoull(value, &end, 10);
	if (errno != 0 || *n > UINT32_MAX)
		return -1;
	if (*end == 'K' || *end == 'k') {
		*n *= KIB;
		end++;
	} else if (*end == 'M' || *end == 'm') {
		*n *= MIB;
		end++;
	}
	return *end == '\0' ? 0 : -1;
}

static int
http_limit_parse(const struct http_limit *l, const char *value, uint64_t *n)
{
	char	*end;

	switch (l->unit) {
	case UNIT_BYTES:
		return http_limit_bytes(value, n);
	case UNIT_COUNT:
		if (!isdigit((unsigned char)value[0]))
			return -1;
		errno = 0;
		*n = strtoull(value, &end, 10);
		return errno != 0 || *end != '\0' ? -1 : 0;
	default:
		/* A plain number is seconds, as for shutdown timeout. */
		if (isdigit((unsigned char)value[0]) &&
		    http_limit_bytes(value, n) == 0 &&
		    strspn(value, "0123456789") == strlen(value)) {
			if (*n > UINT64_MAX / 1000)
				return -1;
			*n *= 1000;
			return 0;
		}
		return parse_duration_ms(value, n);
	}
}

/*
 * Sets one http option from benjid.conf. Returns -1 with a message in err
 * when the option is unknown or the value is invalid or out of range.
 */
int
http_limits_set(struct benjid_config *conf, const char *option,
    const char *value, char *err, size_t errsz)
{
	const struct http_limit	*l = NULL;
	uint64_t		 n;
	size_t			 i;

	for (i = 0; i < sizeof(http_limits) / sizeof(http_limits[0]); i++)
		if (strcmp(option, http_limits[i].name) == 0)
			l = &http_limits[i];
	if (l == NULL) {
		snprintf(err, errsz, "unknown http option \"%s\": expected "
		    "max-uri-length, max-header-size, max-header-count, "
		    "max-body-size, max-import-size, read-buffer, "
		    "max-connections, max-requests-per-connection, "
		    "head-timeout, body-timeout, idle-timeout or "
		    "write-timeout", option);
		return -1;
	}
	if (http_limit_parse(l, value, &n) == -1 || n < l->min ||
	    n > l->max) {
		if (l->unit == UNIT_DURATION)
			snprintf(err, errsz, "invalid http %s \"%s\": expected "
			    "seconds or an ISO-8601 duration from %llu ms to "
			    "%llu ms", l->name, value,
			    (unsigned long long)l->min,
			    (unsigned long long)l->max);
		else
			snprintf(err, errsz, "invalid http %s \"%s\": expected "
			    "%s from %llu to %llu", l->name, value,
			    l->unit == UNIT_BYTES ? "bytes (K and M suffixes "
			    "allowed)" : "a number", (unsigned long long)l->min,
			    (unsigned long long)l->max);
		return -1;
	}
	*http_limit_field(conf, l) = n;
	return 0;
}
