/*
 * The request checks of the http child. http_edge.c holds the framing
 * check in front of evhttp, the strict percent-decoder and the route
 * pattern match; it calls no libevent function, so the fuzzer links it
 * alone. http_conn.c runs that check on every connection.
 */

#ifndef BENJID_HTTP_EDGE_H
#define BENJID_HTTP_EDGE_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_EDGE_METHOD_MAX	8	/* longest known method, OPTIONS */
#define HTTP_EDGE_PATH_KEEP	256	/* bytes of the target kept for logs */
#define HTTP_EDGE_NAME_KEEP	32	/* header name bytes compared */
#define HTTP_EDGE_VALUE_KEEP	32	/* value bytes kept of framing headers */
#define HTTP_EDGE_PARAMS_MAX	4	/* "*" segments in a route */

/* The bounds a request must keep; http_config_send carries them. */
struct http_edge_limits {
	uint64_t	 uri_max;	/* bytes of the request target */
	uint64_t	 head_max;	/* bytes of request line and headers */
	uint64_t	 headers_max;	/* number of header fields */
	uint64_t	 body_max;	/* body of a JSON route */
	uint64_t	 import_max;	/* body of a CSV import route */
};

enum http_edge_state {
	EDGE_METHOD = 0,
	EDGE_TARGET,
	EDGE_VERSION,
	EDGE_LINE_LF,		/* CR seen at the end of a head line */
	EDGE_FIELD_START,	/* start of a header line or the empty line */
	EDGE_FIELD_NAME,
	EDGE_FIELD_VALUE,
	EDGE_HEAD_LF,		/* CR of the empty line seen */
	EDGE_BODY,		/* Content-Length bytes */
	EDGE_CHUNK_SIZE,
	EDGE_CHUNK_SIZE_LF,
	EDGE_CHUNK_DATA,
	EDGE_CHUNK_DATA_CR,
	EDGE_CHUNK_DATA_LF,
	EDGE_TRAILER_CR,	/* after the last chunk: only CRLF may follow */
	EDGE_TRAILER_LF,
	EDGE_DONE		/* one whole request read */
};

/* An error status with its JSON code and message, for a rejected request. */
struct http_edge_error {
	int		 status;
	const char	*code;
	const char	*message;
};

/* Parser of one request at a time, fed with whatever bytes arrive. */
struct http_edge {
	const struct http_edge_limits *limits;
	enum http_edge_state	 state;
	enum http_edge_state	 after_cr;	/* where EDGE_LINE_LF leads */
	char			 method[HTTP_EDGE_METHOD_MAX + 1];
	size_t			 method_len;
	int			 method_bit;	/* EVHTTP_REQ_* value */
	char			 path[HTTP_EDGE_PATH_KEEP + 1];
	size_t			 path_len;
	int			 path_ended;	/* '?' seen or kept bytes full */
	uint64_t		 target_len;
	char			 version[9];
	size_t			 version_len;
	int			 http10;
	uint64_t		 head_len;
	uint64_t		 nheaders;
	char			 name[HTTP_EDGE_NAME_KEEP + 1];
	size_t			 name_len;
	char			 value[HTTP_EDGE_VALUE_KEEP + 1];
	size_t			 value_len;
	int			 value_started;
	int			 nhost;
	int			 ncontent_length;
	int			 ntransfer_encoding;
	int			 chunked;
	int			 expect_continue;
	uint64_t		 content_length;
	uint64_t		 body_max;	/* limit of the matched route */
	uint64_t		 body_len;	/* bytes of body data so far */
	uint64_t		 remaining;	/* of the body or current chunk */
	size_t			 chunk_digits;
	struct http_edge_error	 error;
};

/* Result of http_edge_feed. */
#define EDGE_MORE	0	/* every byte taken, the request goes on */
#define EDGE_END	1	/* one request ends at *used */
#define EDGE_ERROR	(-1)	/* rejected: see e->error */

/* Connection settings of http_conn.c; http_config_send carries them. */
struct http_conn_settings {
	uint64_t	 read_buffer;		/* bytes held a connection */
	uint64_t	 connections_max;
	uint64_t	 requests_max;		/* a connection */
	uint64_t	 head_timeout_ms;
	uint64_t	 body_timeout_ms;
	uint64_t	 idle_timeout_ms;
	uint64_t	 write_timeout_ms;
};

/* Bounds of the open file limit that the http child sets for itself. */
#define HTTP_CONN_FD_WANT	8192
#define HTTP_CONN_FD_MAX	65536

struct event_base;
struct evhttp;
struct evhttp_request;

/* http_conn.c */
void	 http_conn_init(struct event_base *, struct evhttp *);
void	 http_conn_configure(const struct http_edge_limits *,
	    const struct http_conn_settings *);
int	 http_conn_request(struct evhttp_request *);
size_t	 http_conn_count(void);
int	 http_conn_output_pending(void);

/* http_edge.c */
const char *http_status_reason(int);
void	 http_edge_init(struct http_edge *, const struct http_edge_limits *);
int	 http_edge_feed(struct http_edge *, const unsigned char *, size_t,
	    size_t *);
int	 http_edge_in_head(const struct http_edge *);
int	 http_edge_started(const struct http_edge *);
int	 http_edge_decode(const char *, size_t, int, char **, size_t *);
int	 http_edge_utf8_valid(const unsigned char *, size_t);
int	 http_edge_route_match(const char *, const char *);
uint64_t http_edge_body_max(const struct http_edge_limits *, int,
	    const char *);

#endif /* BENJID_HTTP_EDGE_H */
