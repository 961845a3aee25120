/*
 * The floor of the quote benchmark: a single-threaded evhttp server that
 * answers every request with a fixed JSON body, and nothing else.
 * usage: evbare PORT BODYFILE [REQUESTS]
 * With REQUESTS it exits after answering that many, so that a profiler
 * sees a clean exit.
 */

#include <err.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

static struct event_base	*evbare_base;
static char			 evbare_body[4096];
static size_t			 evbare_len;
static long			 evbare_left = -1;

static void
evbare_reply(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*out = evhttp_request_get_output_buffer(req);
	struct timeval	 delay = { 0, 200000 };

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evbuffer_add(out, evbare_body, evbare_len);
	evhttp_send_reply(req, 200, "OK", NULL);
	/* The delay lets the last reply leave before the loop ends. */
	if (evbare_left > 0 && --evbare_left == 0)
		event_base_loopexit(evbare_base, &delay);
}

int
main(int argc, char *argv[])
{
	struct evhttp	*http;
	ssize_t		 n;
	int		 fd;

	if (argc < 3)
		errx(1, "usage: evbare port bodyfile [requests]");
	if ((fd = open(argv[2], O_RDONLY)) == -1)
		err(1, "%s", argv[2]);
	if ((n = read(fd, evbare_body, sizeof(evbare_body))) <= 0)
		errx(1, "%s: empty or unreadable", argv[2]);
	evbare_len = n;
	close(fd);
	if (argc > 3)
		evbare_left = strtol(argv[3], NULL, 10);

	if ((evbare_base = event_base_new()) == NULL ||
	    (http = evhttp_new(evbare_base)) == NULL)
		errx(1, "libevent setup failed");
	if (evhttp_bind_socket(http, "127.0.0.1", atoi(argv[1])) == -1)
		errx(1, "cannot listen on port %s", argv[1]);
	evhttp_set_gencb(http, evbare_reply, NULL);
	event_base_dispatch(evbare_base);
	evhttp_free(http);
	event_base_free(evbare_base);
	return 0;
}
