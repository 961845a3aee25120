/*
 * libcurl's multi interface on the fetcher's libevent loop. Every transfer
 * is a GET with a cap on the reply size, no redirects, no proxy, the CA
 * bundle that the parent read before the chroot, and the provider's
 * addresses that the parent resolved (CURLOPT_RESOLVE), because glibc's
 * resolver finds no configuration files in the empty chroot.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "benjid.h"
#include "fetcher.h"

struct fetcher_http {
	CURL			*easy;
	fetcher_http_cb		 cb;
	void			*arg;
	char			*body;
	size_t			 len;
	int			 too_big;
	char			 error[CURL_ERROR_SIZE];
};

/* The libevent event watching one of libcurl's sockets. */
struct curl_sock {
	struct event	*ev;
};

static CURLM			*curl_multi;
static struct event		*curl_timer;
static struct curl_slist	*curl_resolve;

static void	 curl_check_done(void);

static size_t
curl_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetcher_http	*h = arg;
	size_t			 n = size * nmemb;
	char			*p;

	/*
	 * libcurl 7.88 checks CURLOPT_MAXFILESIZE only against a declared
	 * length, so a chunked reply is bounded here.
	 */
	if (n > FETCHER_REPLY_MAX - h->len) {
		h->too_big = 1;
		return 0;
	}
	if ((p = realloc(h->body, h->len + n + 1)) == NULL)
		return 0;
	memcpy(p + h->len, data, n);
	h->body = p;
	h->len += n;
	h->body[h->len] = '\0';
	return n;
}

static void
curl_event_cb(evutil_socket_t fd, short events, void *arg)
{
	int	 running, action = 0;

	if (events & EV_READ)
		action |= CURL_CSELECT_IN;
	if (events & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(curl_multi, fd, action, &running);
	curl_check_done();
}

static void
curl_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	int	 running;

	curl_multi_socket_action(curl_multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curl_check_done();
}

static int
curl_socket_cb(CURL *easy, curl_socket_t s, int what, void *arg,
    void *sockp)
{
	struct curl_sock	*cs = sockp;
	short			 kind = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (cs != NULL) {
			event_free(cs->ev);
			free(cs);
		}
		curl_multi_assign(curl_multi, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (cs == NULL) {
		if ((cs = calloc(1, sizeof(*cs))) == NULL)
			return -1;
		curl_multi_assign(curl_multi, s, cs);
	} else {
		event_free(cs->ev);
	}
	if ((cs->ev = event_new(fetcher_base, s, kind, curl_event_cb,
	    NULL)) == NULL || event_add(cs->ev, NULL) == -1)
		return -1;
	return 0;
}

static int
curl_timer_set_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct timeval	 tv;

	if (timeout_ms < 0) {
		evtimer_del(curl_timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(curl_timer, &tv);
}

void
fetcher_curl_init(void)
{
	if ((curl_multi = curl_multi_init()) == NULL)
		fatalx("fetcher: curl_multi_init failed");
	if ((curl_timer = evtimer_new(fetcher_base, curl_timer_cb,
	    NULL)) == NULL)
		fatalx("fetcher: evtimer_new failed");
	curl_multi_setopt(curl_multi, CURLMOPT_SOCKETFUNCTION, curl_socket_cb);
	curl_multi_setopt(curl_multi, CURLMOPT_TIMERFUNCTION,
	    curl_timer_set_cb);
}

static void
transfer_free(struct fetcher_http *h)
{
	curl_multi_remove_handle(curl_multi, h->easy);
	curl_easy_cleanup(h->easy);
	free(h->body);
	free(h);
}

/* Hands each finished transfer to its owner. */
static void
curl_check_done(void)
{
	struct fetcher_http_result	 r;
	struct fetcher_http		*h;
	CURLMsg				*m;
	int				 left;

	while ((m = curl_multi_info_read(curl_multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &h);
		memset(&r, 0, sizeof(r));
		r.ok = m->data.result == CURLE_OK;
		curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &r.status);
		r.body = h->body != NULL ? h->body : "";
		r.len = h->len;
		r.too_big = h->too_big;
		snprintf(r.error, sizeof(r.error), "%s", h->error[0] != '\0' ?
		    h->error : curl_easy_strerror(m->data.result));
		h->cb(h->arg, &r);
		transfer_free(h);
	}
}

static int
curl_options(struct fetcher_http *h, const char *url, uint64_t timeout_ms)
{
	const struct fetcher_conf	*fc = fetcher_conf;
	const char			*protocols;
	struct curl_blob		 ca;
	CURL				*e = h->easy;

	protocols = fc->allow_http ? "https,http" : "https";
	ca.data = fc->ca;
	ca.len = fc->ca_len;
	ca.flags = CURL_BLOB_COPY;

	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, protocols) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOPROXY, "*") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CAPATH, NULL) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(fc->connect_timeout_ms < timeout_ms ?
	    fc->connect_timeout_ms : timeout_ms)) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)FETCHER_REPLY_MAX) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "benjid") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, curl_write_cb) !=
	    CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, h) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->error) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, h) != CURLE_OK)
		return -1;
	if (curl_resolve != NULL &&
	    curl_easy_setopt(e, CURLOPT_RESOLVE, curl_resolve) != CURLE_OK)
		return -1;
	return 0;
}

/*
 * Starts a GET of url that ends within timeout_ms. cb runs once, later,
 * unless the transfer is cancelled first. Returns NULL when it cannot
 * start; url may carry the API key and is never logged here.
 */
struct fetcher_http *
fetcher_curl_get(const char *url, uint64_t timeout_ms, fetcher_http_cb cb,
    void *arg)
{
	struct fetcher_http	*h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->cb = cb;
	h->arg = arg;
	if ((h->easy = curl_easy_init()) == NULL ||
	    curl_options(h, url, timeout_ms) == -1 ||
	    curl_multi_add_handle(curl_multi, h->easy) != CURLM_OK) {
		if (h->easy != NULL)
			curl_easy_cleanup(h->easy);
		free(h);
		return NULL;
	}
	return h;
}

void
fetcher_curl_cancel(struct fetcher_http *h)
{
	transfer_free(h);
}

/*
 * Replaces the pinned addresses of host:port. The "-host:port" entry
 * first drops what libcurl's DNS cache holds from the previous list.
 */
void
fetcher_curl_pin(const char *host, unsigned int port, char **addrs,
    size_t naddrs)
{
	struct curl_slist	*list = NULL, *next;
	char			 entry[1024];
	size_t			 i, off;

	snprintf(entry, sizeof(entry), "-%s:%u", host, port);
	if ((next = curl_slist_append(list, entry)) == NULL)
		return;
	list = next;
	if (naddrs > 0) {
		off = (size_t)snprintf(entry, sizeof(entry), "%s:%u:", host,
		    port);
		for (i = 0; i < naddrs && off < sizeof(entry); i++)
			off += (size_t)snprintf(entry + off,
			    sizeof(entry) - off, strchr(addrs[i], ':') ?
			    "%s[%s]" : "%s%s", i > 0 ? "," : "", addrs[i]);
		if (off < sizeof(entry) &&
		    (next = curl_slist_append(list, entry)) != NULL)
			list = next;
	}
	curl_slist_free_all(curl_resolve);
	curl_resolve = list;
}
