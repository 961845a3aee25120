/*
 * libFuzzer target for the request path of the http child: raw bytes
 * through the framing check of http_edge.c in pieces of varying size, as
 * a socket delivers them, then the decoding and routing of every request
 * it accepts.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_edge.h"

static const struct http_edge_limits fuzz_limits = {
	512, 2048, 32, 4096, 65536
};

static const char *const fuzz_patterns[] = {
	"/api/quotes/*", "/api/portfolio/*/positions", "/actuator/health",
};

static void
fuzz_route(const struct http_edge *e)
{
	const char	*query;
	char		*decoded;
	size_t		 i, len;

	query = strchr(e->path, '?');
	len = query != NULL ? (size_t)(query - e->path) : strlen(e->path);
	if (http_edge_decode(e->path, len, 0, &decoded, NULL) == 0) {
		if (!http_edge_utf8_valid((unsigned char *)decoded,
		    strlen(decoded)))
			abort();
		free(decoded);
	}
	for (i = 0; i < sizeof(fuzz_patterns) / sizeof(fuzz_patterns[0]); i++)
		(void)http_edge_route_match(fuzz_patterns[i], e->path);
}

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_edge	 e;
	size_t			 off = 0, used, piece;
	int			 rc;

	if (size < 1)
		return 0;
	/* The first byte chooses how many bytes each read returns. */
	piece = (size_t)data[0] % 17 + 1;
	data++;
	size--;

	http_edge_init(&e, &fuzz_limits);
	while (off < size) {
		if (piece > size - off)
			piece = size - off;
		rc = http_edge_feed(&e, data + off, piece, &used);
		if (used > piece)
			abort();
		off += used;
		if (rc == EDGE_ERROR) {
			if (e.error.status < 400 || e.error.status > 505 ||
			    e.error.code == NULL || e.error.message == NULL)
				abort();
			break;
		}
		if (rc == EDGE_END) {
			if (e.body_len > e.body_max ||
			    e.head_len > fuzz_limits.head_max ||
			    e.target_len > fuzz_limits.uri_max)
				abort();
			fuzz_route(&e);
			http_edge_init(&e, &fuzz_limits);
		}
	}
	return 0;
}
