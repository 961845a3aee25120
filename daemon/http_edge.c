/*
 * The framing check that every request byte passes before evhttp sees it.
 *
 * libevent 2.1.12's evhttp takes the first of repeated Content-Length
 * fields, reads a HEAD body as the next request, accepts folded header
 * lines, bare LF line ends and "0x" chunk sizes, and merges trailers into
 * the headers. Each of those lets one client request read as two. This
 * parser accepts only requests whose length has exactly one reading, a
 * subset of what evhttp accepts with the same meaning, and rejects the rest
 * with a status before any of their bytes reach evhttp.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "http_edge.h"
#include "utf8.h"

/* Routes whose body is a CSV import and takes the import limit. */
static const char *const http_edge_import_paths[] = {
	"/api/portfolio/import",
	"/api/finance/transactions/import",
};

static const struct {
	const char	*name;
	int		 bit;
	int		 body;		/* 1 when the method may carry a body */
} http_edge_methods[] = {
	{ "GET",	EVHTTP_REQ_GET,		0 },
	{ "HEAD",	EVHTTP_REQ_HEAD,	0 },
	{ "POST",	EVHTTP_REQ_POST,	1 },
	{ "PUT",	EVHTTP_REQ_PUT,		1 },
	{ "DELETE",	EVHTTP_REQ_DELETE,	0 },
	{ "PATCH",	EVHTTP_REQ_PATCH,	1 },
	{ "OPTIONS",	EVHTTP_REQ_OPTIONS,	0 },
};

/* Returns the reason phrase of the statuses this server sends. */
const char *
http_status_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 417:
		return "Expectation Failed";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

void
http_edge_init(struct http_edge *e, const struct http_edge_limits *limits)
{
	memset(e, 0, sizeof(*e));
	e->limits = limits;
	e->state = EDGE_METHOD;
}

/* Returns 1 while a request head is partly read. */
int
http_edge_in_head(const struct http_edge *e)
{
	return e->state <= EDGE_HEAD_LF && http_edge_started(e);
}

/* Returns 1 once the first byte of a request has arrived. */
int
http_edge_started(const struct http_edge *e)
{
	return e->state != EDGE_METHOD || e->method_len > 0;
}

static int
edge_fail(struct http_edge *e, int status, const char *code,
    const char *message)
{
	e->error.status = status;
	e->error.code = code;
	e->error.message = message;
	return EDGE_ERROR;
}

/* The token characters of RFC 9110, section 5.6.2. */
static int
edge_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
edge_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Returns the body limit of a request: the import limit for POST to an
 * import route, the JSON limit otherwise. path is the raw path, which is
 * what routes match.
 */
uint64_t
http_edge_body_max(const struct http_edge_limits *limits, int method,
    const char *path)
{
	size_t	 i;

	if (method != EVHTTP_REQ_POST)
		return limits->body_max;
	for (i = 0; i < sizeof(http_edge_import_paths) /
	    sizeof(http_edge_import_paths[0]); i++)
		if (strcmp(path, http_edge_import_paths[i]) == 0)
			return limits->import_max;
	return limits->body_max;
}

static int
edge_method_end(struct http_edge *e)
{
	size_t	 i;

	e->method[e->method_len] = '\0';
	for (i = 0; i < sizeof(http_edge_methods) /
	    sizeof(http_edge_methods[0]); i++) {
		if (strcmp(e->method, http_edge_methods[i].name) == 0) {
			e->method_bit = http_edge_methods[i].bit;
			return 0;
		}
	}
	return edge_fail(e, 501, "NOT_IMPLEMENTED", "unsupported method");
}

static int
edge_method_takes_body(const struct http_edge *e)
{
	size_t	 i;

	for (i = 0; i < sizeof(http_edge_methods) /
	    sizeof(http_edge_methods[0]); i++)
		if (http_edge_methods[i].bit == e->method_bit)
			return http_edge_methods[i].body;
	return 0;
}

static int
edge_version_end(struct http_edge *e)
{
	e->version[e->version_len] = '\0';
	if (strcmp(e->version, "HTTP/1.1") == 0)
		return 0;
	if (strcmp(e->version, "HTTP/1.0") == 0) {
		e->http10 = 1;
		return 0;
	}
	if (strncmp(e->version, "HTTP/", 5) == 0)
		return edge_fail(e, 505, "VERSION_NOT_SUPPORTED",
		    "only HTTP/1.0 and HTTP/1.1 are supported");
	return edge_fail(e, 400, "BAD_REQUEST", "invalid request line");
}

static int
edge_target_byte(struct http_edge *e, unsigned char c)
{
	if (++e->target_len > e->limits->uri_max)
		return edge_fail(e, 414, "URI_TOO_LONG",
		    "request target too long");
	/* Origin form only: no absolute form, no "*", no raw space. */
	if (e->target_len == 1 && c != '/')
		return edge_fail(e, 400, "BAD_REQUEST",
		    "request target must start with /");
	if (c <= 0x20 || c >= 0x7f)
		return edge_fail(e, 400, "BAD_REQUEST",
		    "invalid byte in the request target");
	if (c == '?' || c == '#')
		e->path_ended = 1;
	if (!e->path_ended) {
		if (e->path_len == HTTP_EDGE_PATH_KEEP)
			e->path_ended = 1;
		else
			e->path[e->path_len++] = (char)c;
	}
	return 0;
}

static int
edge_request_line(struct http_edge *e, unsigned char c)
{
	switch (e->state) {
	case EDGE_METHOD:
		if (c == ' ' && e->method_len > 0) {
			e->state = EDGE_TARGET;
			return edge_method_end(e);
		}
		if (!edge_is_tchar(c))
			return edge_fail(e, 400, "BAD_REQUEST",
			    "invalid request line");
		if (e->method_len == HTTP_EDGE_METHOD_MAX)
			return edge_fail(e, 501, "NOT_IMPLEMENTED",
			    "unsupported method");
		e->method[e->method_len++] = (char)c;
		return 0;
	case EDGE_TARGET:
		if (c == ' ' && e->target_len > 0) {
			e->path[e->path_len] = '\0';
			e->state = EDGE_VERSION;
			return 0;
		}
		return edge_target_byte(e, c);
	default:	/* EDGE_VERSION */
		if (c == '\r' && e->version_len > 0) {
			e->after_cr = EDGE_FIELD_START;
			e->state = EDGE_LINE_LF;
			return edge_version_end(e);
		}
		if (e->version_len == sizeof(e->version) - 1 || c < 0x21 ||
		    c > 0x7e)
			return edge_fail(e, 400, "BAD_REQUEST",
			    "invalid request line");
		e->version[e->version_len++] = (char)c;
		return 0;
	}
}

/* Reads Content-Length, which must be digits only, at most 19 of them. */
static int
edge_content_length(struct http_edge *e)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (++e->ncontent_length > 1)
		return edge_fail(e, 400, "BAD_REQUEST",
		    "Content-Length given more than once");
	if (e->value_len == 0 || e->value_len > 19)
		return edge_fail(e, 400, "BAD_REQUEST",
		    "invalid Content-Length");
	for (i = 0; i < e->value_len; i++) {
		if (e->value[i] < '0' || e->value[i] > '9')
			return edge_fail(e, 400, "BAD_REQUEST",
			    "invalid Content-Length");
		v = v * 10 + (uint64_t)(e->value[i] - '0');
	}
	e->content_length = v;
	return 0;
}

/* Acts on the fields that decide framing once their line has ended. */
static int
edge_field_end(struct http_edge *e)
{
	int	 truncated = e->value_len > HTTP_EDGE_VALUE_KEEP;

	if (truncated)
		e->value_len = HTTP_EDGE_VALUE_KEEP;
	/* Trailing whitespace is not part of the value. */
	while (e->value_len > 0 && (e->value[e->value_len - 1] == ' ' ||
	    e->value[e->value_len - 1] == '\t'))
		e->value_len--;
	e->value[e->value_len] = '\0';
	e->name[e->name_len] = '\0';

	if (strcasecmp(e->name, "content-length") == 0)
		return truncated ? edge_fail(e, 400, "BAD_REQUEST",
		    "invalid Content-Length") : edge_content_length(e);
	if (strcasecmp(e->name, "transfer-encoding") == 0) {
		if (++e->ntransfer_encoding > 1 || truncated ||
		    strcasecmp(e->value, "chunked") != 0)
			return edge_fail(e, 400, "BAD_REQUEST",
			    "only a single chunked transfer coding is "
			    "accepted");
		e->chunked = 1;
		return 0;
	}
	if (strcasecmp(e->name, "host") == 0 && ++e->nhost > 1)
		return edge_fail(e, 400, "BAD_REQUEST",
		    "Host given more than once");
	if (strcasecmp(e->name, "expect") == 0) {
		if (truncated || strcasecmp(e->value, "100-continue") != 0)
			return edge_fail(e, 417, "EXPECTATION_FAILED",
			    "only Expect: 100-continue is supported");
		e->expect_continue = 1;
	}
	return 0;
}

/* Decides how the body is read, once the empty line ends the head. */
static int
edge_head_end(struct http_edge *e)
{
	if (!e->http10 && e->nhost == 0)
		return edge_fail(e, 400, "BAD_REQUEST", "Host is missing");
	if (e->chunked && e->ncontent_length > 0)
		return edge_fail(e, 400, "BAD_REQUEST",
		    "Content-Length together with Transfer-Encoding");
	if (e->chunked && e->http10)
		return edge_fail(e, 400, "BAD_REQUEST",
		    "Transfer-Encoding in an HTTP/1.0 request");
	if (!edge_method_takes_body(e) && (e->chunked ||
	    e->content_length > 0))
		return edge_fail(e, 400, "BAD_REQUEST",
		    "this method takes no request body");

	e->body_max = http_edge_body_max(e->limits, e->method_bit, e->path);
	if (e->content_length > e->body_max)
		return edge_fail(e, 413, "PAYLOAD_TOO_LARGE",
		    "request body too large");
	if (e->chunked) {
		e->state = EDGE_CHUNK_SIZE;
		return 0;
	}
	e->remaining = e->content_length;
	e->state = e->remaining > 0 ? EDGE_BODY : EDGE_DONE;
	return 0;
}

static int
edge_head_byte(struct http_edge *e, unsigned char c)
{
	if (++e->head_len > e->limits->head_max)
		return edge_fail(e, 431, "HEADERS_TOO_LARGE",
		    "request head too large");

	switch (e->state) {
	case EDGE_METHOD:
	case EDGE_TARGET:
	case EDGE_VERSION:
		return edge_request_line(e, c);
	case EDGE_LINE_LF:
		if (c != '\n')
			return edge_fail(e, 400, "BAD_REQUEST",
			    "CR without LF in the request head");
		e->state = e->after_cr;
		if (e->after_cr == EDGE_FIELD_START && e->name_len > 0) {
			if (edge_field_end(e) == EDGE_ERROR)
				return EDGE_ERROR;
		}
		e->name_len = 0;
		return 0;
	case EDGE_FIELD_START:
		if (c == '\r') {
			e->state = EDGE_HEAD_LF;
			return 0;
		}
		if (c == ' ' || c == '\t')
			return edge_fail(e, 400, "BAD_REQUEST",
			    "folded header lines are not accepted");
		if (++e->nheaders > e->limits->headers_max)
			return edge_fail(e, 431, "HEADERS_TOO_LARGE",
			    "too many header fields");
		e->state = EDGE_FIELD_NAME;
		e->value_len = 0;
		e->value_started = 0;
		/* FALLTHROUGH */
	case EDGE_FIELD_NAME:
		if (c == ':' && e->name_len > 0) {
			e->state = EDGE_FIELD_VALUE;
			return 0;
		}
		if (!edge_is_tchar(c))
			return edge_fail(e, 400, "BAD_REQUEST",
			    "invalid header field name");
		/* Longer names are kept cut, which matches no framing field. */
		if (e->name_len < HTTP_EDGE_NAME_KEEP)
			e->name[e->name_len++] = (char)c;
		else
			e->name[0] = '!';
		return 0;
	case EDGE_FIELD_VALUE:
		if (c == '\r') {
			e->after_cr = EDGE_FIELD_START;
			e->state = EDGE_LINE_LF;
			return 0;
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return edge_fail(e, 400, "BAD_REQUEST",
			    "invalid byte in a header value");
		if (!e->value_started && (c == ' ' || c == '\t'))
			return 0;
		e->value_started = 1;
		if (e->value_len <= HTTP_EDGE_VALUE_KEEP) {
			if (e->value_len < HTTP_EDGE_VALUE_KEEP)
				e->value[e->value_len] = (char)c;
			e->value_len++;
		}
		return 0;
	default:	/* EDGE_HEAD_LF */
		if (c != '\n')
			return edge_fail(e, 400, "BAD_REQUEST",
			    "CR without LF in the request head");
		return edge_head_end(e);
	}
}

static int
edge_chunk_byte(struct http_edge *e, unsigned char c)
{
	int	 digit;

	switch (e->state) {
	case EDGE_CHUNK_SIZE:
		if (c == '\r' && e->chunk_digits > 0) {
			e->state = EDGE_CHUNK_SIZE_LF;
			return 0;
		}
		/* No extensions, signs, "0x" or spaces: evhttp reads them
		 * differently or not at all. */
		if ((digit = edge_hex(c)) == -1 || e->chunk_digits == 16)
			return edge_fail(e, 400, "BAD_REQUEST",
			    "invalid chunk size");
		e->chunk_digits++;
		e->remaining = e->remaining * 16 + (uint64_t)digit;
		if (e->remaining > e->body_max - e->body_len)
			return edge_fail(e, 413, "PAYLOAD_TOO_LARGE",
			    "request body too large");
		return 0;
	case EDGE_CHUNK_SIZE_LF:
		if (c != '\n')
			return edge_fail(e, 400, "BAD_REQUEST",
			    "invalid chunk size");
		e->chunk_digits = 0;
		e->state = e->remaining > 0 ? EDGE_CHUNK_DATA :
		    EDGE_TRAILER_CR;
		return 0;
	case EDGE_CHUNK_DATA_CR:
		if (c != '\r')
			return edge_fail(e, 400, "BAD_REQUEST",
			    "chunk data longer than its size");
		e->state = EDGE_CHUNK_DATA_LF;
		return 0;
	case EDGE_CHUNK_DATA_LF:
		if (c != '\n')
			return edge_fail(e, 400, "BAD_REQUEST",
			    "chunk data longer than its size");
		e->state = EDGE_CHUNK_SIZE;
		return 0;
	case EDGE_TRAILER_CR:
		/* evhttp merges trailer fields into the headers. */
		if (c != '\r')
			return edge_fail(e, 400, "BAD_REQUEST",
			    "trailer fields are not accepted");
		e->state = EDGE_TRAILER_LF;
		return 0;
	default:	/* EDGE_TRAILER_LF */
		if (c != '\n')
			return edge_fail(e, 400, "BAD_REQUEST",
			    "trailer fields are not accepted");
		e->state = EDGE_DONE;
		return 0;
	}
}

/*
 * Takes the ordinary bytes of a started header value in one run and
 * returns how many. The byte that ends the run, and any byte past the
 * head limit, go through edge_head_byte.
 */
static size_t
edge_value_run(struct http_edge *e, const unsigned char *p, size_t len)
{
	size_t	 n = 0, keep;

	if (len > e->limits->head_max - e->head_len)
		len = (size_t)(e->limits->head_max - e->head_len);
	while (n < len && ((p[n] >= 0x20 && p[n] != 0x7f) || p[n] == '\t'))
		n++;
	if (e->value_len < HTTP_EDGE_VALUE_KEEP) {
		keep = HTTP_EDGE_VALUE_KEEP - e->value_len;
		if (keep > n)
			keep = n;
		memcpy(e->value + e->value_len, p, keep);
	}
	/* One past the kept length marks a value that was cut. */
	e->value_len = e->value_len + n > HTTP_EDGE_VALUE_KEEP ?
	    HTTP_EDGE_VALUE_KEEP + 1 : e->value_len + n;
	e->head_len += n;
	return n;
}

/*
 * Takes up to len bytes of one request. Stops after the last byte of the
 * request (EDGE_END, *used set) or at the first byte that breaks a rule
 * (EDGE_ERROR). Call http_edge_init before the next request.
 */
int
http_edge_feed(struct http_edge *e, const unsigned char *buf, size_t len,
    size_t *used)
{
	size_t		 i = 0, n;
	int		 rc;

	while (i < len && e->state != EDGE_DONE) {
		if (e->state == EDGE_BODY || e->state == EDGE_CHUNK_DATA) {
			/* Body bytes are counted, not looked at. */
			n = len - i;
			if (n > e->remaining)
				n = (size_t)e->remaining;
			e->remaining -= n;
			e->body_len += n;
			i += n;
			if (e->remaining == 0)
				e->state = e->state == EDGE_BODY ? EDGE_DONE :
				    EDGE_CHUNK_DATA_CR;
			continue;
		}
		if (e->state == EDGE_FIELD_VALUE && e->value_started &&
		    (n = edge_value_run(e, buf + i, len - i)) > 0) {
			i += n;
			continue;
		}
		if (e->state <= EDGE_HEAD_LF)
			rc = edge_head_byte(e, buf[i]);
		else
			rc = edge_chunk_byte(e, buf[i]);
		if (rc == EDGE_ERROR) {
			*used = i;
			return EDGE_ERROR;
		}
		i++;
	}
	*used = i;
	return e->state == EDGE_DONE ? EDGE_END : EDGE_MORE;
}

/* Returns 1 when the bytes are UTF-8 without NUL or control characters. */
int
http_edge_utf8_valid(const unsigned char *p, size_t len)
{
	size_t	 i, n;

	for (i = 0; i < len; i += n) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
		/* C1 controls, U+0080 to U+009F. */
		if (p[i] == 0xc2 && i + 1 < len && p[i + 1] < 0xa0)
			return 0;
		if ((n = utf8_len(p + i, len - i)) == 0)
			return 0;
	}
	return 1;
}

/*
 * Percent-decodes len bytes of s once, turning '+' into a space when plus
 * is set (query strings). Returns 0 with a NUL-terminated copy in *out,
 * or -1 when a '%' is not followed by two hex digits, or the result contains
 * NUL, a control character or invalid UTF-8. *out is NULL then.
 */
int
http_edge_decode(const char *s, size_t len, int plus, char **out,
    size_t *outlen)
{
	unsigned char	*buf;
	size_t		 i, n = 0;
	int		 hi, lo;

	*out = NULL;
	if ((buf = malloc(len + 1)) == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (len - i < 3 ||
			    (hi = edge_hex((unsigned char)s[i + 1])) == -1 ||
			    (lo = edge_hex((unsigned char)s[i + 2])) == -1)
				goto bad;
			buf[n++] = (unsigned char)(hi * 16 + lo);
			i += 2;
		} else if (plus && s[i] == '+')
			buf[n++] = ' ';
		else
			buf[n++] = (unsigned char)s[i];
	}
	if (!http_edge_utf8_valid(buf, n))
		goto bad;
	buf[n] = '\0';
	*out = (char *)buf;
	if (outlen != NULL)
		*outlen = n;
	return 0;
 bad:
	free(buf);
	return -1;
}

/* Returns 1 when path matches pattern, where "*" is one non-empty segment. */
int
http_edge_route_match(const char *pattern, const char *path)
{
	const char	*p = pattern, *q = path, *end;
	size_t		 n = 0, len;

	while (*p != '\0' && *q != '\0') {
		if (*p == '*') {
			end = strchr(q, '/');
			len = end ? (size_t)(end - q) : strlen(q);
			if (len == 0 || n == HTTP_EDGE_PARAMS_MAX)
				return 0;
			q += len;
			p++;
			n++;
			continue;
		}
		if (*p++ != *q++)
			return 0;
	}
	return *p == '\0' && *q == '\0';
}
